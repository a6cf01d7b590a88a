package mappingrules

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"
	"github.com/dop251/goja/token"
	"github.com/dop251/goja/unistring"
)

// RuleError is a problem in a rule, positioned at the rule's line and
// column: a syntax error at load, or an error thrown while it ran.
type RuleError struct {
	Rule    string
	Line    int
	Column  int
	Message string
	// Cause is the underlying error (a deadline, an STS exception), when
	// there is one.
	Cause error
}

// Error implements error.
func (e *RuleError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("rule %q line %d column %d: %s", e.Rule, e.Line, e.Column, e.Message)
	}
	return fmt.Sprintf("rule %q: %s", e.Rule, e.Message)
}

// Unwrap returns the cause.
func (e *RuleError) Unwrap() error { return e.Cause }

// compileRule parses and compiles one rule's source. Source maps are off
// (goja would otherwise read the file a trailing sourceMappingURL comment
// names). Two rewrites make Rhino-era rules run unchanged on a reused
// runtime:
//
//   - top-level let, const and class declarations become var bindings, so
//     they live on the per-evaluation global object instead of goja's
//     runtime-wide lexical scope (which would keep them, and refuse the
//     same declaration on the next evaluation);
//   - x.length() with no arguments (Java's String.length()) becomes
//     __jlen(x), which calls a callable length and returns a plain one.
//
// The program is compiled twice: as a script, whose declarations land on
// the evaluation's global object (what importMappingRule runs, so the
// importer sees them), and, when the rule cannot tell the difference, as
// the body of a function called once (see functionForm), which is what an
// evaluation of the rule itself runs.
func compileRule(name, src string) (*compiledRule, error) {
	prg, err := parseRule(name, src)
	if err != nil {
		return nil, err
	}
	p, err := goja.CompileAST(prg, false)
	if err != nil {
		return nil, syntaxError(name, err)
	}
	c := &compiledRule{prog: p, globals: topLevelNames(prg)}
	if !functionFormSafe(prg) {
		return c, nil
	}
	// A second parse: the compiler must not see an AST it compiled before.
	fprg, err := parseRule(name, src)
	if err != nil {
		return nil, err
	}
	params := readOnlyGlobals(fprg)
	if main, err := goja.CompileAST(functionForm(fprg, params), false); err == nil {
		c.main, c.params = main, params
	}
	return c, nil
}

// compiledRule is a rule's programs.
type compiledRule struct {
	// prog is the rule as a script.
	prog *goja.Program
	// main is a program whose value is the rule as a function, or nil
	// when the rule must run as a script.
	main *goja.Program
	// globals are the names the script declares at top level.
	globals []string
	// params are the parameters of main's outer function: API globals
	// the rule only reads (see readOnlyGlobals, functionForm).
	params []string
}

func parseRule(name, src string) (*ast.Program, error) {
	prg, err := parser.ParseFile(nil, name, src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return nil, syntaxError(name, err)
	}
	hoistTopLevelLexical(prg)
	rewriteLengthCalls(reflect.ValueOf(prg))
	return prg, nil
}

// functionForm turns a parsed rule into a program whose value is the
// function (() => { body }), keeping every node's position so errors
// still name the rule's line and column. Each runtime makes the function
// once and calls it for every evaluation (see vmRT.ruleFunc). An arrow
// function has no arguments or prototype object of its own, and no
// this the rule can reach: a rule that uses this at top level stays a
// script (functionFormSafe).
//
// A script's top-level names are properties of the global object: every
// read and write of one is a lookup by name in the evaluation's global
// map, and every assignment allocates a reference. In a function they
// are slots of its frame. For the reference rule this is about a fifth of
// an evaluation's instructions outside the garbage collector.
//
// With params (API globals the rule only reads, see readOnlyGlobals), the
// program's value is an outer function that takes the globals' values and
// returns () => { body }: the runtime calls it once, and the rule reads
// them as constants captured from it instead of looking them up by name.
func functionForm(prg *ast.Program, params []string) *ast.Program {
	end := file.Idx(1)
	if n := len(prg.Body); n > 0 {
		end = prg.Body[n-1].Idx1()
	}
	var fn ast.Expression = &ast.ArrowFunctionLiteral{
		Start:           1,
		ParameterList:   &ast.ParameterList{Opening: 1, Closing: 1},
		Body:            &ast.BlockStatement{LeftBrace: 1, List: prg.Body, RightBrace: end},
		DeclarationList: prg.DeclarationList,
	}
	if len(params) > 0 {
		// (#0, #1) => { const stsuu = #0, Attribute = #1; return rule; }
		// The parameter names cannot be written in JavaScript, so the rule
		// cannot refer to them; the constants make any assignment to a
		// captured name a TypeError rather than a change the next
		// evaluation would see, should readOnlyGlobals ever miss one.
		args := make([]*ast.Binding, len(params))
		consts := make([]*ast.Binding, len(params))
		for i, p := range params {
			arg := unistring.NewFromString("#" + strconv.Itoa(i))
			args[i] = &ast.Binding{Target: &ast.Identifier{Name: arg, Idx: 1}}
			consts[i] = &ast.Binding{
				Target:      &ast.Identifier{Name: unistring.NewFromString(p), Idx: 1},
				Initializer: &ast.Identifier{Name: arg, Idx: 1},
			}
		}
		fn = &ast.ArrowFunctionLiteral{
			Start:         1,
			ParameterList: &ast.ParameterList{Opening: 1, List: args, Closing: 1},
			Body: &ast.BlockStatement{LeftBrace: 1, RightBrace: end, List: []ast.Statement{
				&ast.LexicalDeclaration{Idx: 1, Token: token.CONST, List: consts},
				&ast.ReturnStatement{Return: 1, Argument: fn},
			}},
		}
	}
	return &ast.Program{Body: []ast.Statement{&ast.ExpressionStatement{Expression: fn}}, File: prg.File}
}

// paramGlobals are the API globals a rule in function form can receive as
// parameters: the values an evaluation's global object holds for them are
// the same in every evaluation on a runtime (stsuu is the runtime's frozen
// user object, see wrapUser; the classes are frozen properties of the base
// global, and importClass or importPackage can only define the same
// objects under these names). Rules use them on most lines.
var paramGlobals = []string{"stsuu", "Attribute", "Group", "AttributeStatement", "STSUniversalUser", "IDMappingExtUtils"}

// readOnlyGlobals returns the paramGlobals a rule refers to and never
// binds or assigns anywhere (in any scope, as a variable, function,
// parameter, catch or loop binding, assignment or ++/-- target, or inside
// a destructuring target): reading such a name from a parameter gives
// what reading the global would, without a lookup by name in the global
// object.
func readOnlyGlobals(prg *ast.Program) []string {
	used := map[string]bool{}
	written := map[string]bool{}
	findNames(reflect.ValueOf(prg), false, used, written)
	var out []string
	for _, n := range paramGlobals {
		if used[n] && !written[n] {
			out = append(out, n)
		}
	}
	return out
}

var identType = reflect.TypeOf(ast.Identifier{})

// findNames records in used the names an AST refers to, and in written
// every name that appears anywhere inside a binding or assignment target
// (target is true while walking one). Outside targets, ast.Identifier
// values (not pointers) are property names and are skipped.
func findNames(v reflect.Value, target bool, used, written map[string]bool) {
	into := func(x any) { findNames(reflect.ValueOf(x), true, used, written) }
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		switch n := v.Interface().(type) {
		case *ast.Identifier:
			used[n.Name.String()] = true
			if target {
				written[n.Name.String()] = true
			}
			return
		case *ast.Binding:
			into(n.Target)
		case *ast.AssignExpression:
			switch n.Left.(type) {
			case *ast.DotExpression, *ast.BracketExpression, *ast.PrivateDotExpression:
			default:
				into(n.Left)
			}
		case *ast.UnaryExpression:
			if n.Operator == token.INCREMENT || n.Operator == token.DECREMENT {
				into(n.Operand)
			}
		case *ast.ForInStatement:
			into(n.Into)
		case *ast.ForOfStatement:
			into(n.Into)
		case *ast.CatchStatement:
			into(n.Parameter)
		case *ast.FunctionLiteral:
			into(n.Name)
		case *ast.ClassLiteral:
			into(n.Name)
		case *ast.ParameterList:
			into(n.Rest)
		}
		findNames(v.Elem(), target, used, written)
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			findNames(v.Index(i), target, used, written)
		}
	case reflect.Struct:
		if v.Type() == identType {
			if target {
				written[v.Interface().(ast.Identifier).Name.String()] = true
			}
			return
		}
		if v.Type().PkgPath() != astPkg {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				findNames(v.Field(i), target, used, written)
			}
		}
	}
}

// functionFormSafe reports whether a rule behaves the same as a function
// body as it does as a script. It is conservative: any construct through
// which a rule could see that its top-level names are not properties of
// the global object keeps it a script:
//
//   - importMappingRule (an imported rule reads and defines globals
//     shared with its importer);
//   - globalThis, and this outside a function (the global object itself);
//   - with, and delete of a name (a global property can be deleted, a
//     function's variable cannot);
//   - a top-level declaration of stsuu (the engine reads the global stsuu
//     back after the rule to adopt a replaced universal user).
func functionFormSafe(prg *ast.Program) bool {
	for _, name := range topLevelNames(prg) {
		if name == "stsuu" {
			return false
		}
	}
	return !hasScriptOnly(reflect.ValueOf(prg), false)
}

var scriptOnlyNames = map[string]bool{"importMappingRule": true, "globalThis": true}

// hasScriptOnly walks the AST by reflection for the constructs
// functionFormSafe lists; inFunc is true inside a function that has its
// own this (not an arrow function, whose this is the script's).
func hasScriptOnly(v reflect.Value, inFunc bool) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return false
		}
		switch n := v.Interface().(type) {
		case *ast.Identifier:
			return scriptOnlyNames[n.Name.String()]
		case *ast.ThisExpression:
			return !inFunc
		case *ast.WithStatement:
			return true
		case *ast.UnaryExpression:
			if _, name := n.Operand.(*ast.Identifier); name && n.Operator == token.DELETE {
				return true
			}
		case *ast.FunctionLiteral:
			inFunc = true
		}
		return hasScriptOnly(v.Elem(), inFunc)
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if hasScriptOnly(v.Index(i), inFunc) {
				return true
			}
		}
	case reflect.Struct:
		if v.Type().PkgPath() != astPkg {
			return false
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() && hasScriptOnly(v.Field(i), inFunc) {
				return true
			}
		}
	}
	return false
}

// topLevelNames lists the names a program declares on the global object
// (var bindings with a plain name, and function declarations), so an
// evaluation can create them up front on its global object: goja's own
// global binding goes through the general property-definition path, which
// costs more than the rest of a small rule's start.
func topLevelNames(prg *ast.Program) []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, d := range prg.DeclarationList {
		for _, b := range d.List {
			if id, ok := b.Target.(*ast.Identifier); ok {
				add(id.Name.String())
			}
		}
	}
	return out
}

func syntaxError(name string, err error) error {
	var list parser.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		e := list[0]
		return &RuleError{Rule: name, Line: e.Position.Line, Column: e.Position.Column, Message: "syntax error: " + e.Message}
	}
	var pe *parser.Error
	if errors.As(err, &pe) {
		return &RuleError{Rule: name, Line: pe.Position.Line, Column: pe.Position.Column, Message: "syntax error: " + pe.Message}
	}
	var se *goja.CompilerSyntaxError
	if errors.As(err, &se) && se.File != nil {
		p := se.File.Position(se.Offset)
		return &RuleError{Rule: name, Line: p.Line, Column: p.Column, Message: "syntax error: " + se.Message}
	}
	var re *goja.CompilerReferenceError
	if errors.As(err, &re) && re.File != nil {
		p := re.File.Position(re.Offset)
		return &RuleError{Rule: name, Line: p.Line, Column: p.Column, Message: re.Message}
	}
	return &RuleError{Rule: name, Message: err.Error()}
}

func hoistTopLevelLexical(prg *ast.Program) {
	hoistTopLevelFunctions(prg)
	for i, st := range prg.Body {
		switch d := st.(type) {
		case *ast.LexicalDeclaration:
			prg.Body[i] = &ast.VariableStatement{Var: d.Idx, List: d.List}
			prg.DeclarationList = append(prg.DeclarationList, &ast.VariableDeclaration{Var: d.Idx, List: d.List})
		case *ast.ClassDeclaration:
			if d.Class == nil || d.Class.Name == nil {
				continue
			}
			id := &ast.Identifier{Name: d.Class.Name.Name, Idx: d.Class.Name.Idx}
			list := []*ast.Binding{{Target: id, Initializer: d.Class}}
			prg.Body[i] = &ast.VariableStatement{Var: d.Class.Class, List: list}
			prg.DeclarationList = append(prg.DeclarationList, &ast.VariableDeclaration{Var: d.Class.Class, List: list})
		}
	}
}

// hoistTopLevelFunctions turns top-level function declarations into var
// bindings initialized at the very start of the program (after any
// directive prologue), which is when declarations are initialized too.
// goja binds declared global functions as non-configurable properties;
// plain vars let an evaluation's global object be emptied and reused.
func hoistTopLevelFunctions(prg *ast.Program) {
	var funcs, rest []ast.Statement
	directives := 0
	for i, st := range prg.Body {
		if i == directives {
			if es, ok := st.(*ast.ExpressionStatement); ok {
				if _, ok := es.Expression.(*ast.StringLiteral); ok {
					directives++
					continue
				}
			}
		}
		fd, ok := st.(*ast.FunctionDeclaration)
		if !ok || fd.Function == nil || fd.Function.Name == nil {
			if i >= directives {
				rest = append(rest, st)
			}
			continue
		}
		fl := fd.Function
		id := &ast.Identifier{Name: fl.Name.Name, Idx: fl.Name.Idx}
		list := []*ast.Binding{{Target: id, Initializer: fl}}
		funcs = append(funcs, &ast.VariableStatement{Var: fl.Function, List: list})
		prg.DeclarationList = append(prg.DeclarationList, &ast.VariableDeclaration{Var: fl.Function, List: list})
	}
	if len(funcs) == 0 {
		return
	}
	body := append([]ast.Statement{}, prg.Body[:directives]...)
	body = append(body, funcs...)
	prg.Body = append(body, rest...)
}

var (
	astPkg     = reflect.TypeOf(ast.Program{}).PkgPath()
	exprType   = reflect.TypeOf((*ast.Expression)(nil)).Elem()
	jlenName   = unistring.NewFromString("__jlen")
	lengthName = unistring.NewFromString("length")
)

// rewriteLengthCalls walks the AST by reflection (goja's ast package has no
// visitor) and replaces x.length() calls.
func rewriteLengthCalls(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if e := v.Elem(); e.Kind() == reflect.Struct && e.Type().PkgPath() == astPkg {
			rewriteStruct(e)
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		if v.CanSet() && v.Type() == exprType {
			if repl := lengthCall(v.Elem()); repl != nil {
				v.Set(reflect.ValueOf(repl))
			}
		}
		rewriteLengthCalls(v.Elem())
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			rewriteLengthCalls(v.Index(i))
		}
	case reflect.Struct:
		if v.Type().PkgPath() == astPkg {
			rewriteStruct(v)
		}
	}
}

func rewriteStruct(s reflect.Value) {
	for i := 0; i < s.NumField(); i++ {
		if !s.Type().Field(i).IsExported() {
			continue
		}
		rewriteLengthCalls(s.Field(i))
	}
}

func lengthCall(v reflect.Value) ast.Expression {
	call, ok := v.Interface().(*ast.CallExpression)
	if !ok || len(call.ArgumentList) != 0 {
		return nil
	}
	dot, ok := call.Callee.(*ast.DotExpression)
	if !ok || dot.Identifier.Name != lengthName {
		return nil
	}
	return &ast.CallExpression{
		Callee:           &ast.Identifier{Name: jlenName, Idx: dot.Identifier.Idx},
		LeftParenthesis:  call.LeftParenthesis,
		ArgumentList:     []ast.Expression{dot.Left},
		RightParenthesis: call.RightParenthesis,
	}
}

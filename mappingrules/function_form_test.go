package mappingrules

import (
	"context"
	"testing"

	"github.com/dop251/goja"
	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/sts"
)

// TestFunctionFormChoice pins which rules run as a function: the common
// ISAM shapes (the reference rule of the benchmark among them) do, and
// every construct through which a rule could see the difference keeps it
// a script.
func TestFunctionFormChoice(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		function  bool
	}{
		{"reference rule", benchRule, true},
		{"vars and functions", "var x = 1;\nfunction f(y) { return y + x; }\nstsuu.setPrincipalName(String(f(1)));", true},
		{"this inside a function", "function f() { return this; }\nf();", true},
		{"loop", "var i = 0;\nwhile (true) { i++; }", true},
		{"recursion", "function f(n) { return f(n + 1) + 1; }\nf(0);", true},
		{"assigned stsuu", "stsuu = new STSUniversalUser();", true},
		{"property named like a global", "var o = {}; o.globalThis = 1; o.importMappingRule = 2;", true},
		{"importMappingRule", "importMappingRule('other');", false},
		{"globalThis", "globalThis.x = 1;", false},
		{"this at top level", "this.x = 1;", false},
		{"this in an arrow function", "var f = () => this;", false},
		{"with", "with (Math) { max(1, 2); }", false},
		{"delete of a name", "var x = 1; delete x;", false},
		{"declared stsuu", "var stsuu = new STSUniversalUser();", false},
		{"declared stsuu function", "function stsuu() {}", false},
	} {
		c, err := compileRule(tc.name, tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := c.main != nil; got != tc.function {
			t.Errorf("%s: function form %v, want %v", tc.name, got, tc.function)
		}
	}
}

// TestFunctionFormIsolation: the function a runtime keeps for a rule gets
// a new frame per call, so nothing one evaluation declares, assigns or
// captures is visible to the next, and the function object itself cannot
// be reached or changed.
func TestFunctionFormIsolation(t *testing.T) {
	set := testSet(t, Config{PoolSize: 1, Inline: map[string]string{
		"first": `
if (declared !== undefined || typeof implicit !== 'undefined' || keep !== undefined) {
	throw new Error('state of an earlier evaluation is visible');
}
var declared = 1;
implicit = 2;
function helper() { return declared; }
var keep = [];
keep.push(function () { return declared; });
Object.prototype.polluted = 1;
(function () { try { arguments.callee.caller.leak = 1; } catch (e) {} })();
stsuu.setPrincipalName(String(helper()));
`,
		"second": `
var probe;
if (probe !== undefined || typeof declared !== 'undefined' || typeof implicit !== 'undefined' || typeof helper !== 'undefined' || ({}).polluted !== undefined) {
	throw new Error('leaked');
}
probe = 1;
stsuu.setPrincipalName('clean');
`,
	}})
	for _, name := range []string{"first", "second"} {
		if r, _ := set.Rule(name); r.main == nil {
			t.Fatalf("%s does not run in function form", name)
		}
	}
	for i := 0; i < 3; i++ {
		for _, name := range []string{"first", "second"} {
			if _, err := evalSrc(t, set, name); err != nil {
				t.Fatalf("round %d, %s: %v", i, name, err)
			}
		}
	}
	set.mu.Lock()
	rt := set.idle[0]
	set.mu.Unlock()
	for c := range rt.funcs {
		if c.main == nil {
			t.Fatal("a script-form rule in the function table")
		}
	}
	if len(rt.funcs) != 2 {
		t.Fatalf("%d rule functions, want 2 (one per rule, reused)", len(rt.funcs))
	}
}

// TestFunctionFormAdoptsAssignedUser: a rule in function form that assigns
// a new STSUniversalUser to the global stsuu still replaces the user.
func TestFunctionFormAdoptsAssignedUser(t *testing.T) {
	set := testSet(t, Config{Inline: map[string]string{
		"replace": "var u = new STSUniversalUser();\nu.setPrincipalName('bob');\nstsuu = u;",
	}})
	if r, _ := set.Rule("replace"); r.main == nil {
		t.Fatal("rule does not run in function form")
	}
	u := sts.NewSTSUU()
	u.SetPrincipalName("alice")
	r, _ := set.Rule("replace")
	if _, err := r.Evaluate(context.Background(), Input{User: u}); err != nil {
		t.Fatal(err)
	}
	if u.PrincipalName() != "bob" {
		t.Fatalf("principal %q, want bob", u.PrincipalName())
	}
}

// TestSandboxInScriptForm runs the sandbox tests with every rule as a
// script, the form rules that use importMappingRule or the global object
// keep: the defences must hold in both forms.
func TestSandboxInScriptForm(t *testing.T) {
	scriptFormOnly = true
	defer func() { scriptFormOnly = false }()
	for name, f := range map[string]func(*testing.T){
		"deadline":          TestDeadlineStopsLoopAndNextEvaluationWorks,
		"request deadline":  TestRequestDeadlineIsHonoured,
		"recursion":         TestDeepRecursionFailsCleanly,
		"thrown value text": TestThrownValueTextUnderDeadline,
		"thrown value jobs": TestThrownValueTextJobsStayInEvaluation,
		"require eval":      TestNoRequireEvalFunction,
		"growth caps":       TestGrowthCaps,
		"reserved keys":     TestReservedKeysRejected,
		"positions":         TestErrorsNameRuleLineColumn,
		"cancelled request": TestCancelledRequestStopsRule,
	} {
		t.Run(name, f)
	}
}

// TestScriptSemanticsKept: rules that can see their top-level names on the
// global object get script semantics (each would fail in function form).
func TestScriptSemanticsKept(t *testing.T) {
	set := testSet(t, Config{Inline: map[string]string{
		"global":   "var x = 1;\nif (globalThis.x !== 1) throw new Error('x is not a global property');\nstsuu.setPrincipalName('ok');",
		"this":     "var x = 1;\nif (this.x !== 1) throw new Error('x is not a property of this');\nstsuu.setPrincipalName('ok');",
		"delete":   "var x = 1;\nif (!delete x || typeof x !== 'undefined') throw new Error('x was not deleted');\nstsuu.setPrincipalName('ok');",
		"importer": "var shared = 'ok';\nimportMappingRule('reader');",
		"reader":   "stsuu.setPrincipalName(shared);",
		"declared": "var stsuu = new STSUniversalUser();\nstsuu.setPrincipalName('ok');",
	}})
	for _, name := range []string{"global", "this", "delete", "importer", "declared"} {
		u, err := evalSrc(t, set, name)
		if err != nil || u.PrincipalName() != "ok" {
			t.Errorf("%s: %v, principal %q", name, err, u.PrincipalName())
		}
	}
}

// TestSharedUserObjectFollowsEachUser: the stsuu object and its containers
// are kept across evaluations of a runtime; each evaluation's calls must
// reach that evaluation's user, and a container obtained twice is the same
// object.
func TestSharedUserObjectFollowsEachUser(t *testing.T) {
	set := testSet(t, Config{PoolSize: 1, Inline: map[string]string{"r": `
var c = stsuu.getAttributeContainer();
if (c !== stsuu.getAttributeContainer()) throw new Error('container identity');
var v = c.getAttributeValueByName('a');
c.addAttribute(new Attribute('seen', 'urn:t', v));
stsuu.getContextAttributes().addAttribute(new Attribute('ctx', 'urn:t', v));
stsuu.setPrincipalName(v);
`}})
	r, _ := set.Rule("r")
	for _, v := range []string{"one", "two", "three"} {
		u := sts.NewSTSUU()
		u.Attributes = append(u.Attributes, sts.NewAttribute("a", "urn:t", v))
		if _, err := r.Evaluate(context.Background(), Input{User: u}); err != nil {
			t.Fatal(err)
		}
		if u.PrincipalName() != v || sts.StringValue(u.Attributes.Get("seen").Value()) != v || sts.StringValue(u.Context.Get("ctx").Value()) != v {
			t.Fatalf("user %s: principal %q, attributes %v, context %v", v, u.PrincipalName(), u.Attributes, u.Context)
		}
	}
}

// TestReadOnlyGlobals pins which API globals a rule in function form gets
// as parameters: those it only reads. Any binding or assignment of the
// name, in any scope or form, keeps it a global lookup.
func TestReadOnlyGlobals(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []string
	}{
		{benchRule, []string{"stsuu", "Attribute"}},
		{"stsuu.setPrincipalName('x');\nvar a = new Attribute('a', 't', 'v');\nIDMappingExtUtils.traceString('x');\nnew Group('g');", []string{"stsuu", "Attribute", "Group", "IDMappingExtUtils"}},
		{"var s = stsuu; s.x = 1; stsuu.y = 1; stsuu['z'] = 1; var o = {stsuu};", []string{"stsuu"}},
		{"stsuu = new STSUniversalUser();", []string{"STSUniversalUser"}},
		{"stsuu.x = 1;\nfunction f(stsuu) { return stsuu; }", nil},
		{"stsuu.x = 1;\nvar f = (a, ...stsuu) => a;", nil},
		{"new Attribute('a');\ntry {} catch (Attribute) {}", nil},
		{"stsuu.x = 1;\n({stsuu} = {stsuu: 1});", nil},
		{"new Attribute('a');\n[Attribute] = [1];", nil},
		{"new Attribute('a');\n({x: Attribute = 1} = {});", nil},
		{"stsuu.x = 1;\nfor (stsuu in {}) {}", nil},
		{"stsuu.x = 1;\nfor (stsuu of []) {}", nil},
		{"stsuu.x = 1;\nstsuu++;", nil},
		{"stsuu.x = 1;\nstsuu += 'x';", nil},
		{"new Attribute('a');\nfunction g() { var Attribute = 1; }", nil},
		{"new Group('g');\nfunction Group() {}", nil},
		{"new Group('g');\nvar C = class Group {};", nil},
	} {
		c, err := compileRule("r", tc.src)
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		if c.main == nil {
			t.Fatalf("%q: not in function form", tc.src)
		}
		if diff := cmp.Diff(tc.want, c.params); diff != "" {
			t.Errorf("%q: parameters (-want +got):\n%s", tc.src, diff)
		}
	}
}

// TestParamGlobalsAreStable: a parameter gives what the global would only
// if every evaluation's global holds the same object under that name: the
// base global's, which importClass and importPackage cannot change.
func TestParamGlobalsAreStable(t *testing.T) {
	set := testSet(t, Config{})
	rt, err := newVMRT(set)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range paramGlobals {
		if name == "stsuu" {
			continue
		}
		base := rt.base.Get(name)
		if base == nil || goja.IsUndefined(base) {
			t.Errorf("%s is not a global", name)
		}
		for full, class := range rt.byName {
			if shortName(full) == name && class != base {
				t.Errorf("importing %s would define %s as a different object", full, name)
			}
		}
		d, err := rt.vm.RunString("(function (d) { return d.writable || d.configurable; })(Object.getOwnPropertyDescriptor(globalThis, '" + name + "'))")
		if err != nil || d.ToBoolean() {
			t.Errorf("%s can be changed on the base global (%v)", name, err)
		}
	}
}

// TestCapturedGlobalsAreConstants: the globals a rule function captures
// are kept by the runtime across evaluations, so an assignment to one that
// readOnlyGlobals missed must fail rather than change what the next
// evaluation sees.
func TestCapturedGlobalsAreConstants(t *testing.T) {
	set := testSet(t, Config{PoolSize: 1})
	src := "stsuu.setPrincipalName('x');\nstsuu = null;"
	prg, err := parseRule("missed", src)
	if err != nil {
		t.Fatal(err)
	}
	main, err := goja.CompileAST(functionForm(prg, []string{"stsuu"}), false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := compileRule("missed", src)
	if err != nil {
		t.Fatal(err)
	}
	c.main, c.params = main, []string{"stsuu"}
	r := &Rule{Name: "missed", Origin: "inline", compiledRule: c, set: set}
	for i := 0; i < 2; i++ {
		u := sts.NewSTSUU()
		_, err := r.Evaluate(context.Background(), Input{User: u})
		wantErr(t, err, "Assignment to constant variable")
		if u.PrincipalName() != "x" {
			t.Fatalf("evaluation %d: stsuu was %q before the assignment, want the evaluation's user", i, u.PrincipalName())
		}
	}
}

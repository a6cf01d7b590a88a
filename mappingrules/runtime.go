package mappingrules

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

//go:embed prelude.js
var preludeSrc string

//go:embed lockdown.js
var lockdownSrc string

// The prelude and lockdown scripts are compiled once per process; every
// runtime runs them once when it is built.
var (
	preludePrg  = goja.MustCompile("chainsts:prelude", preludeSrc, true)
	lockdownPrg = goja.MustCompile("chainsts:lockdown", lockdownSrc, true)
)

// vmRT is one goja runtime with the rule API installed and its built-ins
// frozen. It runs one evaluation at a time; between evaluations nothing of
// the previous one is reachable (see Evaluate).
type vmRT struct {
	set  *RuleSet
	vm   *goja.Runtime
	base *goja.Object
	cur  *evalState
	// ev is the state of the running evaluation (cur points to it), and
	// user the handle of its stsuu: both reused from one evaluation to
	// the next.
	ev   evalState
	user uuHandle
	// userObj and userConts are the stsuu object and its section
	// containers, kept (frozen) across evaluations; see wrapUser.
	userObj   *goja.Object
	userConts [4]*goja.Object
	// funcs holds the rules in function form made on this runtime.
	funcs map[*compiledRule]func() error

	timer *time.Timer
	fired chan struct{}

	uuProto, contProto, attrProto, groupProto, stmtProto *goja.Object
	iterProto, nodeProto, docProto, listProto            *goja.Object
	// request and response are stsrequest and stsresponse.
	request, response *goja.Object

	// classes maps the Java class objects rules can import to their fully
	// qualified names; byName is the reverse.
	classes map[*goja.Object]string
	byName  map[string]goja.Value
	pkgs    map[string]*goja.Object
	pkgObjs map[*goja.Object]string
	byPkg   map[string][]string
	// hidden collects objects for the lockdown to freeze that no global
	// property reaches.
	hidden []goja.Value
	// hosts maps the evaluation's host objects to their payloads.
	hosts map[*goja.Object]any
	// errs maps the evaluation's thrown API errors to their Go errors.
	errs map[*goja.Object]error
	// symbolFor counts the Symbol.for calls made on this runtime: the
	// symbol registry is runtime-wide and never shrinks (see capAmplifiers).
	symbolFor int
	// freezeFn is Object.freeze, kept for freezing lazily made objects.
	freezeFn  goja.Callable
	jsonParse goja.Callable
	// toString is String, which turns a thrown value into text (thrownText).
	toString goja.Callable
	// global is the evaluations' global object (see run).
	global     *goja.Object
	globalVals *globalObj
}

func newVMRT(set *RuleSet) (*vmRT, error) {
	vm := goja.New()
	vm.SetParserOptions(parser.WithDisableSourceMaps)
	vm.SetMaxCallStackSize(set.cfg.MaxCallStack)
	rt := &vmRT{
		set:     set,
		vm:      vm,
		base:    vm.GlobalObject(),
		classes: map[*goja.Object]string{},
		byName:  map[string]goja.Value{},
		pkgs:    map[string]*goja.Object{},
		pkgObjs: map[*goja.Object]string{},
		hosts:   map[*goja.Object]any{},
		errs:    map[*goja.Object]error{},
		funcs:   map[*compiledRule]func() error{},
	}
	objCtor := vm.Get("Object").ToObject(vm)
	freeze, ok1 := goja.AssertFunction(objCtor.Get("freeze"))
	if !ok1 {
		return nil, fmt.Errorf("Object.freeze missing")
	}
	rt.freezeFn = freeze

	native := vm.NewObject()
	rt.installSTSUU(native)
	rt.installUtils(native)
	rt.installDOM()
	rt.installJava(native)
	rt.installRequest()
	rt.installRequestObjects()
	_ = native.Set("freeze", !set.cfg.FreshRuntimes)
	if err := vm.Set("__native", native); err != nil {
		return nil, err
	}
	if _, err := vm.RunProgram(preludePrg); err != nil {
		return nil, fmt.Errorf("rule prelude: %w", err)
	}
	rt.installPackages()
	rt.capAmplifiers()
	// Objects the lockdown cannot reach from the global object: prototypes
	// of objects only methods return, the shared stsrequest/stsresponse,
	// and the Java classes (reached through the Packages proxies).
	rt.hidden = append(rt.hidden, rt.contProto, rt.iterProto, rt.nodeProto, rt.docProto, rt.listProto)
	for _, name := range rt.sortedClassNames() {
		rt.hidden = append(rt.hidden, rt.byName[name])
	}
	hidden := make([]any, len(rt.hidden))
	for i, o := range rt.hidden {
		hidden[i] = o
	}
	_ = native.Set("roots", vm.NewArray(hidden...))
	if _, err := vm.RunProgram(lockdownPrg); err != nil {
		return nil, fmt.Errorf("rule lockdown: %w", err)
	}
	return rt, nil
}

// capAmplifiers replaces the built-ins that build big strings or arrays in
// one native call (which Runtime.Interrupt cannot stop) with wrappers that
// refuse results over limits.max_string_bytes before calling the original.
func (rt *vmRT) capAmplifiers() {
	vm := rt.vm
	length := func(v goja.Value) float64 {
		if o, ok := v.(*goja.Object); ok {
			return o.Get("length").ToFloat()
		}
		return 0
	}
	arg := func(args []goja.Value, i int) goja.Value {
		if i < len(args) {
			return args[i]
		}
		return goja.Undefined()
	}
	strProto := vm.Get("String").ToObject(vm).Get("prototype").ToObject(vm)
	arrCtor := vm.Get("Array").ToObject(vm)
	arrProto := arrCtor.Get("prototype").ToObject(vm)
	wrap := func(obj *goja.Object, name string, size func(this goja.Value, args []goja.Value) float64) {
		orig, ok := goja.AssertFunction(obj.Get(name))
		if !ok {
			return
		}
		f := vm.ToValue(func(c goja.FunctionCall) goja.Value {
			if n := size(c.This, c.Arguments); n > float64(rt.limits().MaxStringBytes) {
				rt.throwErr(fmt.Errorf("%s: result of %.0f exceeds the limit of %d (limits.max_string_bytes)", name, n, rt.limits().MaxStringBytes))
			}
			v, err := orig(c.This, c.Arguments...)
			if err != nil {
				panic(err)
			}
			return v
		})
		_ = obj.DefineDataProperty(name, f, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	}
	// Symbol.for adds to a registry that belongs to the runtime, not the
	// evaluation, and is never emptied: a pooled runtime would grow by
	// every key any evaluation registered. The calls are counted and a
	// runtime past maxSymbolFor is not reused (run).
	symCtor := vm.Get("Symbol").ToObject(vm)
	if symFor, ok := goja.AssertFunction(symCtor.Get("for")); ok {
		f := vm.ToValue(func(c goja.FunctionCall) goja.Value {
			rt.symbolFor++
			v, err := symFor(c.This, c.Arguments...)
			if err != nil {
				panic(err)
			}
			return v
		})
		_ = symCtor.DefineDataProperty("for", f, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	}
	wrap(strProto, "repeat", func(this goja.Value, args []goja.Value) float64 {
		return float64(len(this.String())) * arg(args, 0).ToFloat()
	})
	wrap(strProto, "padStart", func(_ goja.Value, args []goja.Value) float64 { return arg(args, 0).ToFloat() })
	wrap(strProto, "padEnd", func(_ goja.Value, args []goja.Value) float64 { return arg(args, 0).ToFloat() })
	wrap(arrProto, "join", func(this goja.Value, args []goja.Value) float64 {
		sep := 1
		if s := arg(args, 0); !goja.IsUndefined(s) {
			sep = len(s.String()) + 1
		}
		return length(this) * float64(sep)
	})
	wrap(arrProto, "fill", func(this goja.Value, _ []goja.Value) float64 { return length(this) })
	wrap(arrCtor, "from", func(_ goja.Value, args []goja.Value) float64 {
		o, ok := arg(args, 0).(*goja.Object)
		if !ok {
			return 0
		}
		// Iterables grow one step at a time, in JavaScript the interrupt
		// reaches; array-likes are sized by their length up front.
		if it := o.GetSymbol(goja.SymIterator); it != nil && !goja.IsUndefined(it) {
			return 0
		}
		return length(o)
	})
}

// armDeadline starts the runtime's deadline timer. The timer is made once
// per runtime and reset per evaluation.
func (rt *vmRT) armDeadline(d time.Duration) {
	if rt.timer == nil {
		rt.fired = make(chan struct{}, 1)
		rt.timer = time.AfterFunc(d, func() {
			rt.vm.Interrupt(ErrTimeout)
			rt.fired <- struct{}{}
		})
		return
	}
	rt.timer.Reset(d)
}

// disarmDeadline stops the timer; if it fired, it waits until the
// interrupt is set so that ClearInterrupt afterwards really clears it.
func (rt *vmRT) disarmDeadline() {
	if !rt.timer.Stop() {
		<-rt.fired
	}
}

// defineClass registers a Java class object under its fully qualified name
// and, when global, under its short name on the base global object.
func (rt *vmRT) defineClass(name string, obj *goja.Object, global bool) {
	if _, dup := rt.classes[obj]; !dup {
		rt.classes[obj] = name
	}
	rt.byName[name] = obj
	if global {
		_ = rt.base.Set(shortName(name), obj)
	}
}

func shortName(name string) string {
	return name[strings.LastIndexByte(name, '.')+1:]
}

// jsBuiltinNames are the java.lang classes whose short names would shadow
// JavaScript built-ins; importPackage(java.lang) leaves them alone.
var jsBuiltinNames = map[string]bool{"String": true, "Boolean": true, "Number": true, "Object": true, "Math": true, "Error": true}

// installPackages builds the Packages tree and the bare top-level package
// names (com, java, javax, org, net), plus importClass and importPackage.
//
// Packages that hold known classes are ordinary objects (frozen with the
// rest), so the preambles' long paths resolve at the speed of property
// reads; any other name falls through to their prototype, a proxy that
// answers with the callable proxies of pkg for unknown paths.
func (rt *vmRT) installPackages() {
	vm := rt.vm
	unknownTarget := vm.NewObject()
	_, _ = rt.freezeFn(goja.Undefined(), unknownTarget)
	unknown := vm.ToValue(vm.NewProxy(unknownTarget, &goja.ProxyTrapConfig{
		Get: func(_ *goja.Object, prop string, receiver goja.Value) goja.Value {
			path, _ := rt.pkgName(receiver.ToObject(vm))
			if prop == "toString" || prop == "valueOf" {
				display := path
				if display == "" {
					display = "Packages"
				}
				return vm.ToValue(func(goja.FunctionCall) goja.Value { return vm.ToValue("[JavaPackage " + display + "]") })
			}
			if path != "" {
				prop = path + "." + prop
			}
			return rt.pkg(prop)
		},
		Set: func(*goja.Object, string, goja.Value, goja.Value) bool { return false },
	})).ToObject(vm)
	var node func(path string) *goja.Object
	node = func(path string) *goja.Object {
		if o, ok := rt.pkgs[path]; ok {
			return o
		}
		o := vm.NewObject()
		_ = o.SetPrototype(unknown)
		rt.pkgs[path] = o
		rt.pkgObjs[o] = path
		if path != "" {
			parent := node(pkgOf(path))
			_ = parent.DefineDataProperty(shortName(path), o, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
		}
		return o
	}
	for _, name := range rt.sortedClassNames() {
		// Defined, not assigned: an assignment would reach the proxy
		// prototype, which refuses writes.
		_ = node(pkgOf(name)).DefineDataProperty(shortName(name), rt.byName[name], goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
	_ = rt.base.Set("Packages", node(""))
	for _, top := range []string{"com", "java", "javax", "org", "net"} {
		_ = rt.base.Set(top, node(top))
	}
	_ = rt.base.Set("importClass", vm.ToValue(func(call goja.FunctionCall) goja.Value {
		for _, a := range call.Arguments {
			o, ok := a.(*goja.Object)
			if !ok {
				panic(vm.NewTypeError("importClass: %s is not a Java class", a.String()))
			}
			name, ok := rt.classes[o]
			if !ok {
				if p, isPkg := rt.pkgName(o); isPkg {
					panic(rt.notSupported("unknown Java class " + p))
				}
				panic(vm.NewTypeError("importClass: argument is not a Java class"))
			}
			rt.setGlobal(shortName(name), o)
		}
		return goja.Undefined()
	}))
	_ = rt.base.Set("importPackage", vm.ToValue(func(call goja.FunctionCall) goja.Value {
		for _, a := range call.Arguments {
			o, _ := a.(*goja.Object)
			p, ok := rt.pkgName(o)
			if !ok {
				panic(vm.NewTypeError("importPackage: argument is not a Java package"))
			}
			for _, name := range rt.pkgClasses()[p] {
				rt.setGlobal(shortName(name), rt.byName[name])
			}
		}
		return goja.Undefined()
	}))
}

func pkgOf(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i]
	}
	return ""
}

func (rt *vmRT) sortedClassNames() []string {
	names := make([]string, 0, len(rt.byName))
	for n := range rt.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// pkgClasses lists, per package, the classes importPackage defines (the
// java.lang classes that would shadow JavaScript built-ins excepted). It
// is computed once: the class table is complete before any rule runs.
func (rt *vmRT) pkgClasses() map[string][]string {
	if rt.byPkg != nil {
		return rt.byPkg
	}
	rt.byPkg = map[string][]string{}
	for _, n := range rt.sortedClassNames() {
		p := pkgOf(n)
		if p == "java.lang" && jsBuiltinNames[shortName(n)] {
			continue
		}
		rt.byPkg[p] = append(rt.byPkg[p], n)
	}
	return rt.byPkg
}

func (rt *vmRT) pkgName(o *goja.Object) (string, bool) {
	if o == nil {
		return "", false
	}
	path, ok := rt.pkgObjs[o]
	return path, ok
}

const maxPackages = 4096

// pkg returns the proxy standing for a Java package path ("" is Packages
// itself). Property access yields a known class, a known but unsupported
// class, or a deeper package; calling or constructing a package fails
// naming it as an unknown class. Writes are refused.
func (rt *vmRT) pkg(path string) *goja.Object {
	if p, ok := rt.pkgs[path]; ok {
		return p
	}
	vm := rt.vm
	target := vm.ToValue(func(goja.ConstructorCall) *goja.Object { return nil }).ToObject(vm)
	_, _ = rt.freezeFn(goja.Undefined(), target)
	display := path
	if display == "" {
		display = "Packages"
	}
	proxy := vm.NewProxy(target, &goja.ProxyTrapConfig{
		Get: func(_ *goja.Object, prop string, _ goja.Value) goja.Value {
			full := prop
			if path != "" {
				full = path + "." + prop
			}
			if c, ok := rt.byName[full]; ok {
				return c
			}
			if prop == "toString" || prop == "valueOf" {
				return vm.ToValue(func(goja.FunctionCall) goja.Value { return vm.ToValue("[JavaPackage " + display + "]") })
			}
			return rt.pkg(full)
		},
		Set: func(*goja.Object, string, goja.Value, goja.Value) bool { return false },
		Apply: func(*goja.Object, goja.Value, []goja.Value) goja.Value {
			panic(rt.notSupported("unknown Java class " + display))
		},
		Construct: func(*goja.Object, []goja.Value, *goja.Object) *goja.Object {
			panic(rt.notSupported("unknown Java class " + display))
		},
	})
	o := vm.ToValue(proxy).ToObject(vm)
	// Paths are remembered so package identity is stable, up to a bound: a
	// rule walking endless made-up package names cannot grow the runtime.
	if len(rt.pkgs) < maxPackages {
		rt.pkgs[path] = o
		rt.pkgObjs[o] = path
	}
	return o
}

// unsupportedClass is a known ISAM or Java class chainsts does not
// implement: importing it works, any use fails naming it.
func (rt *vmRT) unsupportedClass(name, why string) *goja.Object {
	vm := rt.vm
	target := vm.ToValue(func(goja.ConstructorCall) *goja.Object { return nil }).ToObject(vm)
	_, _ = rt.freezeFn(goja.Undefined(), target)
	what := name
	if why != "" {
		what += " (" + why + ")"
	}
	proxy := vm.NewProxy(target, &goja.ProxyTrapConfig{
		Get: func(_ *goja.Object, prop string, _ goja.Value) goja.Value {
			panic(rt.notSupported(what))
		},
		Set: func(*goja.Object, string, goja.Value, goja.Value) bool { return false },
		Apply: func(*goja.Object, goja.Value, []goja.Value) goja.Value {
			panic(rt.notSupported(what))
		},
		Construct: func(*goja.Object, []goja.Value, *goja.Object) *goja.Object {
			panic(rt.notSupported(what))
		},
	})
	return vm.ToValue(proxy).ToObject(vm)
}

// NotSupportedError is thrown into a rule that uses an ISAM feature
// chainsts does not implement.
type NotSupportedError struct{ Name string }

// Error implements error.
func (e *NotSupportedError) Error() string { return "not supported in chainsts: " + e.Name }

func (rt *vmRT) notSupported(name string) *goja.Object {
	return rt.jsError(&NotSupportedError{Name: name})
}

// throwErr turns a Go error into a JavaScript exception.
func (rt *vmRT) throwErr(err error) {
	panic(rt.jsError(err))
}

// jsError makes the JavaScript error object for a Go error. goja's GoError
// would carry the Go value itself (its "value" property, reflected into
// JavaScript); the rule gets only the message, and the Go error is kept in
// a table for the rule's failure.
func (rt *vmRT) jsError(err error) *goja.Object {
	o := rt.vm.NewGoError(err)
	_ = o.Delete("value")
	rt.errs[o] = err
	return o
}

func (rt *vmRT) limits() Limits {
	if rt.cur != nil {
		return rt.cur.limits
	}
	return rt.set.cfg.Limits
}

func sortStrings(s []string) { sort.Strings(s) }

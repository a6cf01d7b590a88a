package mappingrules

import (
	"github.com/dop251/goja"
)

// reservedKey reports the keys SECURITY §3.4 keeps out of rule output.
func reservedKey(k string) bool {
	return k == "__proto__" || k == "constructor" || k == "prototype"
}

// API objects (the stsuu, containers, attributes, DOM nodes, iterators) are
// ordinary objects whose methods live on a frozen prototype shared by every
// evaluation; the Go value behind each is kept in the runtime's table of
// the running evaluation, which is emptied when it ends. A rule can add
// properties to such an object like to any other; they go with it. The
// exceptions are the stsuu object and its section containers, which a
// runtime keeps across evaluations and therefore freezes (wrapUser).
func (rt *vmRT) wrap(v any, proto *goja.Object) *goja.Object {
	o := rt.vm.CreateObject(proto)
	rt.hosts[o] = v
	return o
}

// payload returns the Go value behind an API object, or nil.
//
// The stsuu object and its containers, which most calls of a rule are
// made on, are the runtime's own (see wrapUser) and resolve without the
// table: to the evaluation's user while one runs, to nothing otherwise.
func (rt *vmRT) payload(v goja.Value) any {
	o, ok := v.(*goja.Object)
	if !ok {
		return nil
	}
	if rt.user.u != nil {
		if o == rt.userObj {
			return &rt.user
		}
		for i, c := range rt.userConts {
			if o == c {
				return rt.user.section(i)
			}
		}
	}
	return rt.hosts[o]
}

// forgetHosts drops the table entries of an evaluation's objects; nothing
// of an evaluation is reachable after it.
func (rt *vmRT) forgetHosts() {
	clear(rt.errs)
	if len(rt.hosts) > 4096 {
		rt.hosts = make(map[*goja.Object]any, 64)
		return
	}
	clear(rt.hosts)
}

func thisAs[T any](rt *vmRT, call goja.FunctionCall, class string) T {
	if t, ok := rt.payload(call.This).(T); ok {
		return t
	}
	panic(rt.vm.NewTypeError("%s method called on an object that is not a %s", class, class))
}

type method = func(goja.FunctionCall) goja.Value

func (rt *vmRT) methods(proto *goja.Object, ms map[string]method) {
	for name, f := range ms {
		_ = proto.DefineDataProperty(name, rt.vm.ToValue(f), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	}
}

func argString(call goja.FunctionCall, i int) (string, bool) {
	v := call.Argument(i)
	if goja.IsUndefined(v) || goja.IsNull(v) {
		return "", false
	}
	return v.String(), true
}

func argStr(call goja.FunctionCall, i int) string {
	s, _ := argString(call, i)
	return s
}

func (rt *vmRT) strOrNull(s string, ok bool) goja.Value {
	if !ok {
		return goja.Null()
	}
	return rt.vm.ToValue(s)
}

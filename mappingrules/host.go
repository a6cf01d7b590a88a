package mappingrules

import (
	"github.com/dop251/goja"
)

// hostObj backs every API object a rule sees (the stsuu, containers,
// attributes, DOM nodes, iterators). Its methods live on a frozen prototype
// shared by every evaluation; the object itself only carries the Go payload
// and whatever properties the rule sets on it (dropped with the object).
type hostObj struct {
	v     any
	extra map[string]goja.Value
}

func (h *hostObj) Get(k string) goja.Value {
	if h.extra == nil {
		return nil
	}
	return h.extra[k]
}

func (h *hostObj) Set(k string, v goja.Value) bool {
	if reservedKey(k) {
		return false
	}
	if h.extra == nil {
		h.extra = map[string]goja.Value{}
	}
	h.extra[k] = v
	return true
}

func (h *hostObj) Has(k string) bool {
	_, ok := h.extra[k]
	return ok
}

func (h *hostObj) Delete(k string) bool {
	delete(h.extra, k)
	return true
}

func (h *hostObj) Keys() []string {
	out := make([]string, 0, len(h.extra))
	for k := range h.extra {
		out = append(out, k)
	}
	return out
}

// reservedKey reports the keys SECURITY §3.4 keeps out of rule output.
func reservedKey(k string) bool {
	return k == "__proto__" || k == "constructor" || k == "prototype"
}

func (rt *vmRT) wrap(v any, proto *goja.Object) *goja.Object {
	h := &hostObj{v: v}
	o := rt.vm.NewDynamicObject(h)
	_ = o.SetPrototype(proto)
	rt.hosts[o] = h
	return o
}

// payload returns the Go value behind a host object, or nil. Host objects
// are found in the runtime's table rather than through Object.Export, which
// allocates on every call and payload runs on every API call.
func (rt *vmRT) payload(v goja.Value) any {
	o, ok := v.(*goja.Object)
	if !ok {
		return nil
	}
	if h, ok := rt.hosts[o]; ok {
		return h.v
	}
	return nil
}

// forgetHosts drops the table entries of an evaluation's objects; nothing
// of an evaluation is reachable after it.
func (rt *vmRT) forgetHosts() {
	clear(rt.errs)
	if len(rt.hosts) > 4096 {
		rt.hosts = make(map[*goja.Object]*hostObj, 64)
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

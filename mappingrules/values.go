package mappingrules

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/dop251/goja"

	"github.com/chainsts/chainsts/sts"
)

var (
	reflectBool    = reflect.TypeOf(true)
	reflectInt64   = reflect.TypeOf(int64(0))
	reflectFloat64 = reflect.TypeOf(float64(0))
)

// maxValueDepth bounds the nesting of objects and arrays a rule can store.
const maxValueDepth = 32

// toGoValue converts one JavaScript value into an STSUU value, keeping its
// JSON type: a string stays a string, a number a json.Number, a boolean a
// bool, an object a map. It enforces the value size cap and rejects the
// reserved keys of SECURITY §3.4.
func (rt *vmRT) toGoValue(v goja.Value) (any, error) {
	budget := rt.limits().MaxValueBytes
	return rt.toGo(v, 0, &budget)
}

func (rt *vmRT) toGo(v goja.Value, depth int, budget *int) (any, error) {
	if depth > maxValueDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels", maxValueDepth)
	}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	o, ok := v.(*goja.Object)
	if !ok {
		// Primitives, without Export (which boxes): strings are the
		// common case on the hot path.
		if s, ok := v.(goja.String); ok {
			str := s.String()
			if err := spend(budget, len(str)); err != nil {
				return nil, err
			}
			return str, nil
		}
		switch v.ExportType() {
		case reflectBool:
			return v.ToBoolean(), nil
		case reflectInt64:
			return json.Number(strconv.FormatInt(v.ToInteger(), 10)), nil
		case reflectFloat64:
			f := v.ToFloat()
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("number %v has no JSON form", f)
			}
			return sts.NumberFromFloat(f)
		}
		return nil, fmt.Errorf("unsupported value %s", v.String())
	}
	switch o.ClassName() {
	case "String":
		s := o.String()
		if err := spend(budget, len(s)); err != nil {
			return nil, err
		}
		return s, nil
	case "Number":
		return rt.toGo(rt.vm.ToValue(o.ToFloat()), depth, budget)
	case "Boolean":
		return o.ToBoolean(), nil
	case "Function":
		return nil, fmt.Errorf("a function cannot be an attribute value")
	case "Array":
		n := int(o.Get("length").ToInteger())
		if n > rt.limits().MaxValues {
			return nil, fmt.Errorf("array of %d elements exceeds the limit of %d", n, rt.limits().MaxValues)
		}
		out := make([]any, n)
		for i := 0; i < n; i++ {
			e, err := rt.toGo(o.Get(strconv.Itoa(i)), depth+1, budget)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	}
	if list := javaList(o); list != nil {
		return rt.toGo(list, depth, budget)
	}
	if el, ok := rt.payload(o).(*domNode); ok {
		s := el.serialize()
		if err := spend(budget, len(s)); err != nil {
			return nil, err
		}
		return sts.XML(s), nil
	}
	keys := o.Keys()
	if len(keys) > rt.limits().MaxValues {
		return nil, fmt.Errorf("object of %d members exceeds the limit of %d", len(keys), rt.limits().MaxValues)
	}
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		if reservedKey(k) {
			return nil, fmt.Errorf("object key %q is not allowed", k)
		}
		if err := spend(budget, len(k)); err != nil {
			return nil, err
		}
		e, err := rt.toGo(o.Get(k), depth+1, budget)
		if err != nil {
			return nil, err
		}
		out[k] = e
	}
	return out, nil
}

func spend(budget *int, n int) error {
	*budget -= n
	if *budget < 0 {
		return fmt.Errorf("value exceeds the size limit")
	}
	return nil
}

// javaList returns the backing array of an ArrayList/HashSet built by the
// prelude (the non-enumerable __list property), or nil.
func javaList(o *goja.Object) *goja.Object {
	l, ok := o.Get("__list").(*goja.Object)
	if !ok || l.ClassName() != "Array" {
		return nil
	}
	return l
}

// valuesArg converts the values argument of new Attribute(name, type,
// value|values) and setAttribute: null or undefined is no value, an array
// or Java list is one value per element, anything else is one value.
func (rt *vmRT) valuesArg(v goja.Value) ([]any, error) {
	return rt.valuesArgInto(v, nil)
}

// valuesArgInto is valuesArg that stores a single value in one, when one
// has room for it.
func (rt *vmRT) valuesArgInto(v goja.Value, one []any) ([]any, error) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	o, ok := v.(*goja.Object)
	if ok {
		if l := javaList(o); l != nil {
			o = l
		}
		if o.ClassName() == "Array" {
			n := int(o.Get("length").ToInteger())
			if n > rt.limits().MaxValues {
				return nil, fmt.Errorf("%d values exceed the limit of %d", n, rt.limits().MaxValues)
			}
			out := make([]any, 0, n)
			for i := 0; i < n; i++ {
				e, err := rt.toGoValue(o.Get(strconv.Itoa(i)))
				if err != nil {
					return nil, err
				}
				out = append(out, e)
			}
			return out, nil
		}
	}
	e, err := rt.toGoValue(v)
	if err != nil {
		return nil, err
	}
	return append(one, e), nil
}

// toJSValue converts an STSUU value into a typed JavaScript value (the
// chainsts getJSON* extensions). Numbers beyond the exact range of a double
// are returned as their literal string so they are never silently rounded.
func (rt *vmRT) toJSValue(v any) goja.Value {
	switch x := v.(type) {
	case nil:
		return goja.Null()
	case string:
		return rt.vm.ToValue(x)
	case bool:
		return rt.vm.ToValue(x)
	case sts.XML:
		return rt.vm.ToValue(string(x))
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil && i <= 1<<53 && i >= -(1<<53) {
			return rt.vm.ToValue(i)
		}
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			if n, err := sts.NumberFromFloat(f); err == nil && sts.EqualValues(n, x) {
				return rt.vm.ToValue(f)
			}
		}
		return rt.vm.ToValue(string(x))
	case []any:
		items := make([]any, len(x))
		for i, e := range x {
			items[i] = rt.toJSValue(e)
		}
		return rt.vm.NewArray(items...)
	case map[string]any:
		o := rt.vm.NewObject()
		for _, k := range sortedKeys(x) {
			_ = o.Set(k, rt.toJSValue(x[k]))
		}
		return o
	}
	return rt.vm.ToValue(sts.StringValue(v))
}

// stringArray returns ISAM's string view of values as a JavaScript array.
func (rt *vmRT) stringArray(vals []any) goja.Value {
	items := make([]any, len(vals))
	for i, v := range vals {
		items[i] = sts.StringValue(v)
	}
	return rt.vm.NewArray(items...)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

// sizeOf estimates the serialized size of an STSUU for the output cap.
func sizeOf(u *sts.STSUU) int {
	n := attrsSize(u.Principal) + attrsSize(u.Attributes) + attrsSize(u.RST) + attrsSize(u.Context)
	for _, g := range u.Groups {
		n += len(g.Name) + len(g.Type) + attrsSize(g.Attributes)
	}
	for _, s := range u.Statements {
		n += len(s.ID) + attrsSize(s.Attributes)
	}
	return n
}

func attrsSize(l sts.Attributes) int {
	n := 0
	for _, a := range l {
		n += len(a.Name) + len(a.Type) + len(a.Nickname)
		for _, v := range a.Values {
			n += valueSize(v)
		}
	}
	return n
}

func valueSize(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case json.Number:
		return len(x)
	case sts.XML:
		return len(x)
	case []any:
		n := 2
		for _, e := range x {
			n += valueSize(e) + 1
		}
		return n
	case map[string]any:
		n := 2
		for k, e := range x {
			n += len(k) + valueSize(e) + 4
		}
		return n
	}
	return 5
}

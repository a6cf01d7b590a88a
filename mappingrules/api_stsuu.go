package mappingrules

import (
	"fmt"

	"github.com/dop251/goja"

	"github.com/chainsts/chainsts/sts"
)

// The ISAM universal-user API (ISAM-COMPAT §3.2, §3.3): STSUniversalUser,
// attribute containers, Attribute, Group, AttributeStatement and Java-style
// iterators, all backed by the chain's *sts.STSUU so a rule edits it in
// place.

const (
	pkgUUser     = "com.tivoli.am.fim.trustserver.sts.uuser"
	pkgSTS       = "com.tivoli.am.fim.trustserver.sts"
	pkgUtilities = "com.tivoli.am.fim.trustserver.sts.utilities"
)

type uuHandle struct {
	u     *sts.STSUU
	conts [4]*goja.Object
	// shared marks the runtime's handle of the evaluation's stsuu, whose
	// objects are kept across evaluations (wrapUser).
	shared bool
}

const (
	secPrincipal = iota
	secAttributes
	secContext
	secRST
)

func (h *uuHandle) section(i int) *sts.Attributes {
	switch i {
	case secPrincipal:
		return &h.u.Principal
	case secAttributes:
		return &h.u.Attributes
	case secContext:
		return &h.u.Context
	}
	return &h.u.RST
}

// iterState is a Java-style iterator over a snapshot taken when the
// iterator was made: changes to the STSUU during iteration do not affect it.
type iterState struct {
	items []any
	i     int
}

// wrapUser returns the evaluation's stsuu object, pointed at u.
//
// The stsuu object and the section containers it hands out are made once
// per runtime and frozen (as the other API objects' prototypes are): they
// hold nothing of their own, so a frozen object is all an evaluation can
// see, and nothing can be attached to it for the next one. Their Go
// payloads (the handle and its sections) follow the runtime's handle,
// which points at the evaluation's user while it runs and at nothing
// after it (see payload).
func (rt *vmRT) wrapUser(u *sts.STSUU) *goja.Object {
	if rt.userObj == nil {
		rt.userObj = rt.frozen(rt.vm.CreateObject(rt.uuProto))
	}
	rt.user = uuHandle{u: u, conts: rt.userConts, shared: true}
	return rt.userObj
}

// sectionObj returns the container object of a section of h.
func (rt *vmRT) sectionObj(h *uuHandle, i int) goja.Value {
	o := h.conts[i]
	if o == nil {
		o = rt.vm.CreateObject(rt.contProto)
		h.conts[i] = o
		if h.shared {
			rt.userConts[i] = rt.frozen(o)
		}
	}
	if !h.shared {
		rt.hosts[o] = h.section(i)
	}
	return o
}

// frozen freezes an object the runtime keeps across evaluations.
func (rt *vmRT) frozen(o *goja.Object) *goja.Object {
	if _, err := rt.freezeFn(goja.Undefined(), o); err != nil {
		panic(err)
	}
	return o
}

// wrapItem wraps an API payload with its class's prototype.
func (rt *vmRT) wrapItem(v any) goja.Value {
	switch x := v.(type) {
	case *sts.Attribute:
		return rt.wrap(x, rt.attrProto)
	case *sts.Group:
		return rt.wrap(x, rt.groupProto)
	case *sts.AttributeStatement:
		return rt.wrap(x, rt.stmtProto)
	case goja.Value:
		return x
	}
	return rt.vm.ToValue(v)
}

func (rt *vmRT) iterator(items []any) *goja.Object {
	return rt.wrap(&iterState{items: items}, rt.iterProto)
}

func (rt *vmRT) containerOf(call goja.FunctionCall) *sts.Attributes {
	switch p := rt.payload(call.This).(type) {
	case *sts.Attributes:
		return p
	case *sts.Group:
		return &p.Attributes
	case *sts.AttributeStatement:
		return &p.Attributes
	}
	panic(rt.vm.NewTypeError("attribute container method called on an object that is not an attribute container"))
}

func (rt *vmRT) attrArg(call goja.FunctionCall, i int, method string) *sts.Attribute {
	a, ok := rt.payload(call.Argument(i)).(*sts.Attribute)
	if !ok {
		panic(rt.vm.NewTypeError("%s: argument %d is not an Attribute", method, i+1))
	}
	return a
}

// addTo adds an attribute to a container (ISAM's addAttribute: the values
// are appended to an existing attribute with the same name and type),
// within the attribute and value caps.
func (rt *vmRT) addTo(l *sts.Attributes, a *sts.Attribute) {
	lim := rt.limits()
	if cur := l.GetByNameAndType(a.Name, a.Type); cur != nil {
		if cur == a {
			return
		}
		if len(cur.Values)+len(a.Values) > lim.MaxValues {
			rt.throwErr(fmt.Errorf("attribute %q would exceed %d values", a.Name, lim.MaxValues))
		}
		cur.Values = append(cur.Values, a.Values...)
		return
	}
	if len(*l) >= lim.MaxAttributes {
		rt.throwErr(fmt.Errorf("a section would exceed %d attributes", lim.MaxAttributes))
	}
	*l = append(*l, a)
}

func (rt *vmRT) setIn(l *sts.Attributes, a *sts.Attribute) {
	if l.GetByNameAndType(a.Name, a.Type) == nil && len(*l) >= rt.limits().MaxAttributes {
		rt.throwErr(fmt.Errorf("a section would exceed %d attributes", rt.limits().MaxAttributes))
	}
	l.Set(a)
}

// attrAlloc is an attribute with room for one value, so the common
// new Attribute(name, type, value) is one allocation.
type attrAlloc struct {
	a   sts.Attribute
	one [1]any
}

// newAttribute builds an attribute from JavaScript arguments.
func (rt *vmRT) newAttribute(name, typ, values goja.Value) *sts.Attribute {
	box := &attrAlloc{}
	a := &box.a
	if name != nil && !goja.IsUndefined(name) && !goja.IsNull(name) {
		a.Name = name.String()
	}
	if reservedKey(a.Name) {
		rt.throwErr(fmt.Errorf("attribute name %q is not allowed", a.Name))
	}
	if typ != nil && !goja.IsUndefined(typ) && !goja.IsNull(typ) {
		a.Type = typ.String()
	}
	vals, err := rt.valuesArgInto(values, box.one[:0:1])
	if err != nil {
		rt.throwErr(fmt.Errorf("attribute %q: %w", a.Name, err))
	}
	a.Values = vals
	if a.Values == nil {
		a.Values = box.one[:0:1]
	}
	return a
}

func firstString(a *sts.Attribute) (string, bool) {
	if a == nil || len(a.Values) == 0 {
		return "", false
	}
	return sts.StringValue(a.Values[0]), true
}

func (rt *vmRT) valuesOrNull(a *sts.Attribute) goja.Value {
	if a == nil {
		return goja.Null()
	}
	return rt.stringArray(a.Values)
}

func (rt *vmRT) attrOrNull(a *sts.Attribute) goja.Value {
	if a == nil {
		return goja.Null()
	}
	return rt.wrap(a, rt.attrProto)
}

func (rt *vmRT) installSTSUU(native *goja.Object) {
	vm := rt.vm
	rt.contProto = vm.NewObject()
	rt.attrProto = vm.NewObject()
	rt.groupProto = vm.NewObject()
	rt.stmtProto = vm.NewObject()
	rt.uuProto = vm.NewObject()
	rt.iterProto = vm.NewObject()

	container := map[string]method{
		"getAttributeValueByName": func(c goja.FunctionCall) goja.Value {
			return rt.strOrNull(firstString(rt.containerOf(c).Get(argStr(c, 0))))
		},
		"getAttributeValuesByName": func(c goja.FunctionCall) goja.Value {
			return rt.valuesOrNull(rt.containerOf(c).Get(argStr(c, 0)))
		},
		"getAttributeValueByNameAndType": func(c goja.FunctionCall) goja.Value {
			return rt.strOrNull(firstString(rt.containerOf(c).GetByNameAndType(argStr(c, 0), argStr(c, 1))))
		},
		"getAttributeValuesByNameAndType": func(c goja.FunctionCall) goja.Value {
			return rt.valuesOrNull(rt.containerOf(c).GetByNameAndType(argStr(c, 0), argStr(c, 1)))
		},
		"getAttributeByName": func(c goja.FunctionCall) goja.Value {
			return rt.attrOrNull(rt.containerOf(c).Get(argStr(c, 0)))
		},
		"getAttributeByNameAndType": func(c goja.FunctionCall) goja.Value {
			return rt.attrOrNull(rt.containerOf(c).GetByNameAndType(argStr(c, 0), argStr(c, 1)))
		},
		"getAttributesByType": func(c goja.FunctionCall) goja.Value {
			found := rt.containerOf(c).ByType(argStr(c, 0))
			if len(found) == 0 {
				return goja.Null()
			}
			items := make([]any, len(found))
			for i, a := range found {
				items[i] = rt.wrap(a, rt.attrProto)
			}
			return vm.NewArray(items...)
		},
		"getAttributeIterator": func(c goja.FunctionCall) goja.Value {
			l := *rt.containerOf(c)
			items := make([]any, len(l))
			for i, a := range l {
				items[i] = a
			}
			return rt.iterator(items)
		},
		"getNumberOfAttributes": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(len(*rt.containerOf(c)))
		},
		"addAttribute": func(c goja.FunctionCall) goja.Value {
			rt.addTo(rt.containerOf(c), rt.attrArg(c, 0, "addAttribute"))
			return goja.Undefined()
		},
		"setAttribute": func(c goja.FunctionCall) goja.Value {
			l := rt.containerOf(c)
			if len(c.Arguments) >= 2 {
				rt.setIn(l, rt.newAttribute(c.Argument(0), c.Argument(1), c.Argument(2)))
			} else {
				rt.setIn(l, rt.attrArg(c, 0, "setAttribute"))
			}
			return goja.Undefined()
		},
		"removeAttribute": func(c goja.FunctionCall) goja.Value {
			l := rt.containerOf(c)
			if a, ok := rt.payload(c.Argument(0)).(*sts.Attribute); ok {
				return vm.ToValue(l.Remove(a.Name, a.Type) > 0)
			}
			return vm.ToValue(removeNameType(l, c) > 0)
		},
		"removeAttributes": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(removeNameType(rt.containerOf(c), c))
		},
		"removeAttributeByNameAndType": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(rt.containerOf(c).Remove(argStr(c, 0), argStr(c, 1)) > 0)
		},
		"clear": func(c goja.FunctionCall) goja.Value {
			*rt.containerOf(c) = nil
			return goja.Undefined()
		},
	}
	rt.methods(rt.contProto, container)
	rt.methods(rt.groupProto, container)
	rt.methods(rt.stmtProto, container)

	rt.methods(rt.iterProto, map[string]method{
		"hasNext": func(c goja.FunctionCall) goja.Value {
			it := thisAs[*iterState](rt, c, "Iterator")
			return vm.ToValue(it.i < len(it.items))
		},
		"next": func(c goja.FunctionCall) goja.Value {
			it := thisAs[*iterState](rt, c, "Iterator")
			if it.i >= len(it.items) {
				rt.throwErr(fmt.Errorf("NoSuchElementException: the iterator has no more elements"))
			}
			v := it.items[it.i]
			it.i++
			return rt.wrapItem(v)
		},
	})

	attrMethods := map[string]method{
		"getName": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(thisAs[*sts.Attribute](rt, c, "Attribute").Name)
		},
		"setName": func(c goja.FunctionCall) goja.Value {
			a := thisAs[*sts.Attribute](rt, c, "Attribute")
			n := argStr(c, 0)
			if reservedKey(n) {
				rt.throwErr(fmt.Errorf("attribute name %q is not allowed", n))
			}
			a.Name = n
			return goja.Undefined()
		},
		"getType": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(thisAs[*sts.Attribute](rt, c, "Attribute").Type)
		},
		"setType": func(c goja.FunctionCall) goja.Value {
			thisAs[*sts.Attribute](rt, c, "Attribute").Type = argStr(c, 0)
			return goja.Undefined()
		},
		"getNickname": func(c goja.FunctionCall) goja.Value {
			a := thisAs[*sts.Attribute](rt, c, "Attribute")
			return rt.strOrNull(a.Nickname, a.Nickname != "")
		},
		"setNickname": func(c goja.FunctionCall) goja.Value {
			thisAs[*sts.Attribute](rt, c, "Attribute").Nickname = argStr(c, 0)
			return goja.Undefined()
		},
		"getValues": func(c goja.FunctionCall) goja.Value {
			return rt.stringArray(thisAs[*sts.Attribute](rt, c, "Attribute").Values)
		},
		"getValue": func(c goja.FunctionCall) goja.Value {
			return rt.strOrNull(firstString(thisAs[*sts.Attribute](rt, c, "Attribute")))
		},
		"setValues": func(c goja.FunctionCall) goja.Value {
			a := thisAs[*sts.Attribute](rt, c, "Attribute")
			vals, err := rt.valuesArg(c.Argument(0))
			if err != nil {
				rt.throwErr(fmt.Errorf("attribute %q: %w", a.Name, err))
			}
			if vals == nil {
				vals = []any{}
			}
			a.Values = vals
			return goja.Undefined()
		},
		"addValue": func(c goja.FunctionCall) goja.Value {
			a := thisAs[*sts.Attribute](rt, c, "Attribute")
			if len(a.Values) >= rt.limits().MaxValues {
				rt.throwErr(fmt.Errorf("attribute %q would exceed %d values", a.Name, rt.limits().MaxValues))
			}
			v, err := rt.toGoValue(c.Argument(0))
			if err != nil {
				rt.throwErr(fmt.Errorf("attribute %q: %w", a.Name, err))
			}
			a.Values = append(a.Values, v)
			return goja.Undefined()
		},
		"getJSONValues": func(c goja.FunctionCall) goja.Value {
			a := thisAs[*sts.Attribute](rt, c, "Attribute")
			items := make([]any, len(a.Values))
			for i, v := range a.Values {
				items[i] = rt.toJSValue(v)
			}
			return vm.NewArray(items...)
		},
		"getNodeValues": func(c goja.FunctionCall) goja.Value {
			a := thisAs[*sts.Attribute](rt, c, "Attribute")
			items := make([]any, 0, len(a.Values))
			for _, v := range a.Values {
				x, ok := v.(sts.XML)
				if !ok {
					items = append(items, nil)
					continue
				}
				n, err := parseDOM(string(x))
				if err != nil || n.firstElement() == nil {
					items = append(items, nil)
					continue
				}
				items = append(items, rt.wrapNode(n.firstElement()))
			}
			return vm.NewArray(items...)
		},
		"setPreferEncryption": func(c goja.FunctionCall) goja.Value {
			// Per-attribute encryption is a SAML feature; chainsts accepts the
			// call so rules run unchanged, and it has no effect on JWTs.
			return goja.Undefined()
		},
		"toString": func(c goja.FunctionCall) goja.Value {
			a := thisAs[*sts.Attribute](rt, c, "Attribute")
			return vm.ToValue(fmt.Sprintf("Attribute(%s, %s, %v)", a.Name, a.Type, a.StringValues()))
		},
	}
	rt.methods(rt.attrProto, attrMethods)

	group := map[string]method{
		"getName": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(thisAs[*sts.Group](rt, c, "Group").Name)
		},
		"setName": func(c goja.FunctionCall) goja.Value {
			thisAs[*sts.Group](rt, c, "Group").Name = argStr(c, 0)
			return goja.Undefined()
		},
		"getType": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(thisAs[*sts.Group](rt, c, "Group").Type)
		},
		"setType": func(c goja.FunctionCall) goja.Value {
			thisAs[*sts.Group](rt, c, "Group").Type = argStr(c, 0)
			return goja.Undefined()
		},
		"getAttributeContainer": func(c goja.FunctionCall) goja.Value {
			return rt.wrap(&thisAs[*sts.Group](rt, c, "Group").Attributes, rt.contProto)
		},
	}
	rt.methods(rt.groupProto, group)
	rt.methods(rt.stmtProto, map[string]method{
		"getAttributeContainer": func(c goja.FunctionCall) goja.Value {
			return rt.wrap(&thisAs[*sts.AttributeStatement](rt, c, "AttributeStatement").Attributes, rt.contProto)
		},
		"getId": func(c goja.FunctionCall) goja.Value {
			s := thisAs[*sts.AttributeStatement](rt, c, "AttributeStatement")
			return rt.strOrNull(s.ID, s.ID != "")
		},
		"setId": func(c goja.FunctionCall) goja.Value {
			thisAs[*sts.AttributeStatement](rt, c, "AttributeStatement").ID = argStr(c, 0)
			return goja.Undefined()
		},
	})

	rt.installUserMethods()

	attrCtor := rt.constructor("Attribute", rt.attrProto, func(c goja.ConstructorCall) any {
		return rt.newAttribute(c.Argument(0), c.Argument(1), c.Argument(2))
	})
	groupCtor := rt.constructor("Group", rt.groupProto, func(c goja.ConstructorCall) any {
		g := &sts.Group{Name: c.Argument(0).String(), Type: ""}
		if goja.IsUndefined(c.Argument(0)) || goja.IsNull(c.Argument(0)) {
			g.Name = ""
		}
		if t := c.Argument(1); !goja.IsUndefined(t) && !goja.IsNull(t) {
			g.Type = t.String()
		}
		if o, ok := c.Argument(2).(*goja.Object); ok {
			if l := javaList(o); l != nil {
				o = l
			}
			var arr []goja.Value
			if err := vm.ExportTo(o, &arr); err != nil {
				rt.throwErr(fmt.Errorf("Group: attributes must be an array of Attribute"))
			}
			for _, e := range arr {
				a, ok := rt.payload(e).(*sts.Attribute)
				if !ok {
					rt.throwErr(fmt.Errorf("Group: attributes must be an array of Attribute"))
				}
				rt.addTo(&g.Attributes, a)
			}
		}
		return g
	})
	stmtCtor := rt.constructor("AttributeStatement", rt.stmtProto, func(c goja.ConstructorCall) any {
		return &sts.AttributeStatement{}
	})
	uuCtor := rt.constructor("STSUniversalUser", rt.uuProto, func(c goja.ConstructorCall) any {
		u := sts.NewSTSUU()
		if arg := c.Argument(0); !goja.IsUndefined(arg) && !goja.IsNull(arg) {
			parsed, err := rt.userFromXMLArg(arg)
			if err != nil {
				rt.throwErr(fmt.Errorf("STSUniversalUser: %w", err))
			}
			u = parsed
		}
		return &uuHandle{u: u}
	})
	rt.defineClass(pkgUUser+".Attribute", attrCtor, true)
	rt.defineClass(pkgUUser+".Group", groupCtor, true)
	rt.defineClass(pkgUUser+".AttributeStatement", stmtCtor, true)
	rt.defineClass(pkgUUser+".STSUniversalUser", uuCtor, true)
	rt.defineClass(pkgSTS+".STSUniversalUser", uuCtor, false)
	_ = native
}

// constructor makes a JavaScript constructor whose instances are host
// objects with the given prototype.
func (rt *vmRT) constructor(name string, proto *goja.Object, build func(goja.ConstructorCall) any) *goja.Object {
	vm := rt.vm
	// The object goja made for `new` (its prototype is proto, or a
	// subclass's) becomes the API object.
	ctor := vm.ToValue(func(c goja.ConstructorCall) *goja.Object {
		rt.hosts[c.This] = build(c)
		return c.This
	}).ToObject(vm)
	_ = ctor.DefineDataProperty("prototype", proto, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	_ = proto.DefineDataProperty("constructor", ctor, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	_ = ctor.DefineDataProperty("name", vm.ToValue(name), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	return ctor
}

func removeNameType(l *sts.Attributes, c goja.FunctionCall) int {
	name := argStr(c, 0)
	if typ, ok := argString(c, 1); ok {
		return l.Remove(name, typ)
	}
	return l.RemoveByName(name)
}

func (rt *vmRT) installUserMethods() {
	vm := rt.vm
	user := func(c goja.FunctionCall) *uuHandle { return thisAs[*uuHandle](rt, c, "STSUniversalUser") }
	sectionObj := rt.sectionObj
	ms := map[string]method{
		"getPrincipalName": func(c goja.FunctionCall) goja.Value {
			return rt.strOrNull(firstString(user(c).u.Principal.Get(sts.PrincipalNameAttribute)))
		},
		"setPrincipalName": func(c goja.FunctionCall) goja.Value {
			v, err := rt.toGoValue(c.Argument(0))
			if err != nil {
				rt.throwErr(fmt.Errorf("setPrincipalName: %w", err))
			}
			user(c).u.SetPrincipalName(sts.StringValue(v))
			return goja.Undefined()
		},
		"addPrincipalAttribute": func(c goja.FunctionCall) goja.Value {
			rt.addTo(&user(c).u.Principal, rt.attrArg(c, 0, "addPrincipalAttribute"))
			return goja.Undefined()
		},
		"removePrincipalAttribute": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(removeNameType(&user(c).u.Principal, c) > 0)
		},
		"getPrincipalAttributeValueByName": func(c goja.FunctionCall) goja.Value {
			return rt.strOrNull(firstString(user(c).u.Principal.Get(argStr(c, 0))))
		},
		"getPrincipalAttributeContainer": func(c goja.FunctionCall) goja.Value {
			return sectionObj(user(c), secPrincipal)
		},
		"addAttribute": func(c goja.FunctionCall) goja.Value {
			rt.addTo(&user(c).u.Attributes, rt.attrArg(c, 0, "addAttribute"))
			return goja.Undefined()
		},
		"removeAttribute": func(c goja.FunctionCall) goja.Value {
			l := &user(c).u.Attributes
			if a, ok := rt.payload(c.Argument(0)).(*sts.Attribute); ok {
				return vm.ToValue(l.Remove(a.Name, a.Type) > 0)
			}
			return vm.ToValue(removeNameType(l, c) > 0)
		},
		"getAttributeValueByName": func(c goja.FunctionCall) goja.Value {
			return rt.strOrNull(firstString(user(c).u.Attributes.Get(argStr(c, 0))))
		},
		"getAttributeValuesByName": func(c goja.FunctionCall) goja.Value {
			return rt.valuesOrNull(user(c).u.Attributes.Get(argStr(c, 0)))
		},
		"getAttributeContainer": func(c goja.FunctionCall) goja.Value {
			return sectionObj(user(c), secAttributes)
		},
		"getAttributes": func(c goja.FunctionCall) goja.Value {
			l := user(c).u.Attributes
			items := make([]any, len(l))
			for i, a := range l {
				items[i] = a
			}
			return rt.iterator(items)
		},
		"clearAttributeList": func(c goja.FunctionCall) goja.Value {
			user(c).u.Attributes = nil
			return goja.Undefined()
		},
		"addContextAttribute": func(c goja.FunctionCall) goja.Value {
			rt.addTo(&user(c).u.Context, rt.attrArg(c, 0, "addContextAttribute"))
			return goja.Undefined()
		},
		"getContextAttributes": func(c goja.FunctionCall) goja.Value {
			return sectionObj(user(c), secContext)
		},
		"getContextAttributesAttributeContainer": func(c goja.FunctionCall) goja.Value {
			return sectionObj(user(c), secContext)
		},
		"getRequestSecurityToken": func(c goja.FunctionCall) goja.Value {
			return sectionObj(user(c), secRST)
		},
		"getRequestSecurityTokenAttributeContainer": func(c goja.FunctionCall) goja.Value {
			return sectionObj(user(c), secRST)
		},
		"addGroup": func(c goja.FunctionCall) goja.Value {
			g, ok := rt.payload(c.Argument(0)).(*sts.Group)
			if !ok {
				panic(vm.NewTypeError("addGroup: argument is not a Group"))
			}
			u := user(c).u
			if len(u.Groups) >= rt.limits().MaxAttributes {
				rt.throwErr(fmt.Errorf("the group list would exceed %d groups", rt.limits().MaxAttributes))
			}
			u.AddGroup(g)
			return goja.Undefined()
		},
		"removeGroup": func(c goja.FunctionCall) goja.Value {
			u := user(c).u
			name, typ := "", ""
			typed := false
			if g, ok := rt.payload(c.Argument(0)).(*sts.Group); ok {
				name, typ, typed = g.Name, g.Type, true
			} else {
				name = argStr(c, 0)
				typ, typed = argString(c, 1)
			}
			n := len(u.Groups)
			out := u.Groups[:0]
			for _, g := range u.Groups {
				if g.Name == name && (!typed || g.Type == typ) {
					continue
				}
				out = append(out, g)
			}
			u.Groups = out
			return vm.ToValue(len(out) < n)
		},
		"getGroups": func(c goja.FunctionCall) goja.Value {
			gs := user(c).u.Groups
			items := make([]any, len(gs))
			for i, g := range gs {
				items[i] = g
			}
			return rt.iterator(items)
		},
		"getNumberOfGroups": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(len(user(c).u.Groups))
		},
		"addAttributeStatement": func(c goja.FunctionCall) goja.Value {
			s, ok := rt.payload(c.Argument(0)).(*sts.AttributeStatement)
			if !ok {
				panic(vm.NewTypeError("addAttributeStatement: argument is not an AttributeStatement"))
			}
			u := user(c).u
			if len(u.Statements) >= rt.limits().MaxAttributes {
				rt.throwErr(fmt.Errorf("too many attribute statements"))
			}
			u.Statements = append(u.Statements, s)
			return goja.Undefined()
		},
		"getAttributeStatements": func(c goja.FunctionCall) goja.Value {
			ss := user(c).u.Statements
			items := make([]any, len(ss))
			for i, s := range ss {
				items[i] = rt.wrap(s, rt.stmtProto)
			}
			return vm.NewArray(items...)
		},
		"clear": func(c goja.FunctionCall) goja.Value {
			user(c).u.Clear()
			return goja.Undefined()
		},
		"toString": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(string(user(c).u.XML()))
		},
		"toClearTextString": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(string(user(c).u.XML()))
		},
		"toXML": func(c goja.FunctionCall) goja.Value {
			doc, err := parseDOM(string(user(c).u.XML()))
			if err != nil {
				rt.throwErr(err)
			}
			return rt.wrapNode(doc)
		},
		"fromXML": func(c goja.FunctionCall) goja.Value {
			parsed, err := rt.userFromXMLArg(c.Argument(0))
			if err != nil {
				rt.throwErr(fmt.Errorf("fromXML: %w", err))
			}
			*user(c).u = *parsed
			return goja.Undefined()
		},
		"toJSON": func(c goja.FunctionCall) goja.Value {
			v, err := rt.jsonParse(goja.Undefined(), vm.ToValue(string(user(c).u.JSON())))
			if err != nil {
				panic(err)
			}
			return v
		},
	}
	rt.methods(rt.uuProto, ms)
}

// userFromXMLArg reads an STSUU from an element, a document or an XML
// string.
func (rt *vmRT) userFromXMLArg(arg goja.Value) (*sts.STSUU, error) {
	var text string
	switch n := rt.payload(arg).(type) {
	case *domNode:
		text = n.serialize()
	case *uuHandle:
		return n.u.Clone(), nil
	default:
		if o, ok := arg.(*goja.Object); ok && o.ClassName() != "String" {
			return nil, fmt.Errorf("argument is not an XML element")
		}
		text = arg.String()
	}
	if len(text) > rt.limits().MaxOutputBytes {
		return nil, fmt.Errorf("XML of %d bytes exceeds the limit", len(text))
	}
	return sts.ParseXML([]byte(text))
}

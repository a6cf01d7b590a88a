package mappingrules

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dop251/goja"

	"github.com/chainsts/chainsts/sts"
)

// installRequest provides importMappingRule and the prototypes of the
// stsrequest and stsresponse objects.
func (rt *vmRT) installRequest() {
	vm := rt.vm
	_ = rt.base.Set("importMappingRule", vm.ToValue(func(c goja.FunctionCall) goja.Value {
		ev := rt.cur
		for _, a := range c.Arguments {
			rt.importRule(ev, a.String())
		}
		return goja.Undefined()
	}))
}

func (rt *vmRT) importRule(ev *evalState, name string) {
	r, err := ev.set.Rule(name)
	if err != nil {
		rt.throwErr(fmt.Errorf("importMappingRule: %w", err))
	}
	for _, n := range ev.stack {
		if n == r.Name {
			rt.throwErr(fmt.Errorf("importMappingRule: cycle %s -> %s", strings.Join(ev.stack, " -> "), r.Name))
		}
	}
	if ev.imported[r.Name] {
		return
	}
	if len(ev.stack) >= maxImportDepth {
		rt.throwErr(fmt.Errorf("importMappingRule: nested deeper than %d rules", maxImportDepth))
	}
	if ev.imported == nil {
		ev.imported = map[string]bool{}
	}
	ev.imported[r.Name] = true
	rt.declareGlobals(r.globals)
	ev.stack = append(ev.stack, r.Name)
	_, err = rt.vm.RunProgram(r.prog)
	ev.stack = ev.stack[:len(ev.stack)-1]
	if err != nil {
		// Re-throw as is: an exception keeps its position in the imported
		// rule, an interrupt stays uncatchable.
		panic(err)
	}
}

// tokenElement presents a token as the element ISAM rules expect: an STSUU
// or other XML document's root, or a BinarySecurityToken around the text.
func tokenElement(t *sts.Token) (*domNode, error) {
	if t == nil {
		return nil, nil
	}
	text := strings.TrimSpace(string(t.Data))
	if t.Type == sts.TokenTypeSTSUU || strings.HasPrefix(text, "<") {
		if !strings.HasPrefix(text, "<") {
			return nil, fmt.Errorf("token of type %s is not XML", t.Type)
		}
		doc, err := parseDOM(text)
		if err != nil {
			return nil, err
		}
		return doc.firstElement(), nil
	}
	return bstElement(text, t.Type), nil
}

// elementToken reads a token from an element a rule built or received.
func elementToken(n *domNode) (*sts.Token, error) {
	if n.kind == domDocument {
		n = n.firstElement()
	}
	if n == nil || n.kind != domElement {
		return nil, fmt.Errorf("not an element")
	}
	switch n.local {
	case "STSUniversalUser":
		return &sts.Token{Type: sts.TokenTypeSTSUU, Data: []byte(n.serialize())}, nil
	case "BinarySecurityToken":
		vt, enc := "", ""
		for _, a := range n.attrs {
			switch a.local {
			case "ValueType":
				vt = a.value
			case "EncodingType":
				enc = a.value
			}
		}
		text := strings.TrimSpace(n.textContent())
		data := []byte(text)
		// ISAM's own "base64encode" JWT tokens carry the compact JWT as is;
		// WS-Security Base64Binary content is really base64.
		if enc == encWSSBase64Bin {
			b, err := base64.StdEncoding.DecodeString(text)
			if err != nil {
				return nil, fmt.Errorf("BinarySecurityToken: %w", err)
			}
			data = b
		}
		if vt == "" || vt == sts.TokenTypeISAMJWT {
			vt = sts.TokenTypeJWT
		}
		return &sts.Token{Type: vt, Data: data}, nil
	case "Assertion":
		return &sts.Token{Type: sts.TokenTypeSAML2, Data: []byte(n.serialize())}, nil
	}
	typ := n.namespaceURI()
	if typ == "" {
		typ = n.local
	}
	return &sts.Token{Type: typ, Data: []byte(n.serialize())}, nil
}

// installRequestObjects builds stsrequest and stsresponse once per
// runtime. They hold no state: their methods read the evaluation running
// now, so the same frozen objects serve every evaluation.
func (rt *vmRT) installRequestObjects() {
	vm := rt.vm
	req := func() *sts.Request {
		if ev := rt.cur; ev != nil && ev.call != nil && ev.call.Request != nil {
			return ev.call.Request
		}
		return &sts.Request{}
	}
	addrProto := vm.NewObject()
	rt.methods(addrProto, map[string]method{
		"getAddress": func(c goja.FunctionCall) goja.Value { return vm.ToValue(thisAs[string](rt, c, "Address")) },
		"toString":   func(c goja.FunctionCall) goja.Value { return vm.ToValue(thisAs[string](rt, c, "Address")) },
	})
	addr := func(s string) goja.Value {
		if s == "" {
			return goja.Null()
		}
		return rt.wrap(s, addrProto)
	}
	rst := vm.NewObject()
	rt.methods(rst, map[string]method{
		"getBase": func(goja.FunctionCall) goja.Value {
			el, err := tokenElement(req().Base)
			if err != nil {
				rt.throwErr(fmt.Errorf("getBase: %w", err))
			}
			return rt.wrapNode(el)
		},
		"getRequestType": func(goja.FunctionCall) goja.Value { return vm.ToValue(req().Type) },
		"getTokenType": func(goja.FunctionCall) goja.Value {
			t := req().TokenType
			return rt.strOrNull(t, t != "")
		},
		"getAppliesTo": func(goja.FunctionCall) goja.Value { return addr(req().AppliesTo) },
		"getIssuer":    func(goja.FunctionCall) goja.Value { return addr(req().Issuer) },
		"getClaims": func(goja.FunctionCall) goja.Value {
			x := req().ClaimsXML
			if x == "" {
				return goja.Null()
			}
			doc, err := parseDOM(x)
			if err != nil {
				rt.throwErr(fmt.Errorf("getClaims: %w", err))
			}
			return rt.wrapNode(doc.firstElement())
		},
	})
	rt.request = vm.NewObject()
	rt.methods(rt.request, map[string]method{
		"getRequestSecurityToken": func(goja.FunctionCall) goja.Value { return rst },
		"getRequestType":          func(goja.FunctionCall) goja.Value { return vm.ToValue(req().Type) },
	})

	rstr := vm.NewObject()
	rt.methods(rstr, map[string]method{
		"setRequestedSecurityToken": func(c goja.FunctionCall) goja.Value {
			ev := rt.cur
			n, ok := rt.payload(c.Argument(0)).(*domNode)
			if !ok {
				panic(vm.NewTypeError("setRequestedSecurityToken: argument is not an XML element"))
			}
			t, err := elementToken(n)
			if err != nil {
				rt.throwErr(fmt.Errorf("setRequestedSecurityToken: %w", err))
			}
			if len(t.Data) > ev.limits.MaxOutputBytes {
				rt.throwErr(fmt.Errorf("setRequestedSecurityToken: token exceeds the size limit"))
			}
			if ev.call != nil && ev.call.Output != nil && t.Type == sts.TokenTypeJWT && isJWTType(ev.call.Output.Type) {
				t.Type = ev.call.Output.Type
				t.IsAccessToken = ev.call.Output.IsAccessToken
			}
			ev.token = t
			return goja.Undefined()
		},
		"getRequestedSecurityToken": func(goja.FunctionCall) goja.Value {
			ev := rt.cur
			t := ev.token
			if t == nil && ev.call != nil {
				t = ev.call.Output
			}
			el, err := tokenElement(t)
			if err != nil {
				rt.throwErr(fmt.Errorf("getRequestedSecurityToken: %w", err))
			}
			return rt.wrapNode(el)
		},
	})
	rt.response = vm.NewObject()
	rt.hidden = append(rt.hidden, addrProto, rst, rstr, rt.request, rt.response)
	get := func(goja.FunctionCall) goja.Value { return rstr }
	rt.methods(rt.response, map[string]method{
		"getRequestSecurityTokenResponse": get,
		"addRequestSecurityTokenResponse": get,
	})
}

func isJWTType(t string) bool {
	switch t {
	case sts.TokenTypeJWT, sts.TokenTypeAccessToken, sts.TokenTypeIDToken, sts.TokenTypeISAMJWT:
		return true
	}
	return false
}

// localSTSDoRequest implements LocalSTSClient.doRequest in both forms
// (ISAM-COMPAT §3.5):
//
//	doRequest(requestType, appliesTo, issuer, base, claims)
//	doRequest(requestType, tokenType, base, claims)
//
// It runs the selected chain in process with the calling evaluation's
// context (so its deadline) and Depth+1. The result has exactly one of
// errorMessage and token set; the other is null.
func (rt *vmRT) localSTSDoRequest(c goja.FunctionCall) goja.Value {
	vm := rt.vm
	ev := rt.cur
	req := &sts.Request{Type: sts.NormalizeRequestType(argStr(c, 0))}
	var baseArg, claimsArg goja.Value
	if len(c.Arguments) >= 5 {
		req.AppliesTo = argStr(c, 1)
		req.Issuer = argStr(c, 2)
		baseArg, claimsArg = c.Argument(3), c.Argument(4)
	} else {
		req.TokenType = argStr(c, 1)
		baseArg, claimsArg = c.Argument(2), c.Argument(3)
	}
	result := func(msg string, tok goja.Value) goja.Value {
		o := vm.NewObject()
		if msg != "" {
			_ = o.Set("errorMessage", msg)
			_ = o.Set("token", goja.Null())
		} else {
			_ = o.Set("errorMessage", goja.Null())
			_ = o.Set("token", tok)
		}
		return o
	}
	if ev.call == nil || ev.call.Runner == nil {
		return result("LocalSTSClient: no chain runner is available here", nil)
	}
	parent := ev.call.Request
	if parent != nil {
		req.ID = parent.ID + "." + strconv.Itoa(len(ev.stack)) + "-local"
		req.Depth = parent.Depth + 1
		req.ClientID = parent.ClientID
	} else {
		req.Depth = 1
	}
	if n, ok := rt.payload(baseArg).(*domNode); ok {
		t, err := elementToken(n)
		if err != nil {
			rt.throwErr(fmt.Errorf("LocalSTSClient.doRequest: base: %w", err))
		}
		req.Base = t
	} else if u, ok := rt.payload(baseArg).(*uuHandle); ok {
		req.Base = &sts.Token{Type: sts.TokenTypeSTSUU, Data: u.u.XML()}
	}
	if n, ok := rt.payload(claimsArg).(*domNode); ok {
		if err := setClaims(req, n); err != nil {
			rt.throwErr(fmt.Errorf("LocalSTSClient.doRequest: claims: %w", err))
		}
	}
	resp, err := ev.call.Runner.Run(ev.context(), req)
	if err != nil {
		e := sts.AsError(err)
		ev.logger.Debug("LocalSTSClient request failed", "rule", ev.currentRule(), "request_id", ev.requestID(), "error", err)
		msg := e.Code
		if e.Description != "" {
			msg += ": " + e.Description
		}
		return result(msg, nil)
	}
	var el *domNode
	switch {
	case resp.Token != nil:
		el, err = tokenElement(resp.Token)
	case resp.User != nil:
		el, err = tokenElement(&sts.Token{Type: sts.TokenTypeSTSUU, Data: resp.User.XML()})
	default:
		err = errors.New("the chain returned no token")
	}
	if err != nil {
		return result("LocalSTSClient: "+err.Error(), nil)
	}
	return result("", rt.wrapNode(el))
}

// setClaims fills the request's claims from a wst:Claims element (each
// child element is a claim, e.g. <signing.jwksUri>) or an STSUU element
// (each attribute is a claim).
func setClaims(req *sts.Request, n *domNode) error {
	if n.kind == domDocument {
		n = n.firstElement()
	}
	if n == nil {
		return nil
	}
	req.ClaimsXML = n.serialize()
	req.Claims = map[string]any{}
	if n.local == "STSUniversalUser" {
		u, err := sts.ParseXML([]byte(req.ClaimsXML))
		if err != nil {
			return err
		}
		for _, sec := range []sts.Attributes{u.Principal, u.Attributes, u.Context} {
			for _, a := range sec {
				if len(a.Values) == 1 {
					req.Claims[a.Name] = a.Values[0]
				} else {
					req.Claims[a.Name] = append([]any(nil), a.Values...)
				}
			}
		}
		return nil
	}
	for _, ch := range n.children {
		if ch.kind == domElement {
			req.Claims[ch.local] = strings.TrimSpace(ch.textContent())
		}
	}
	return nil
}

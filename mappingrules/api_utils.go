package mappingrules

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math/big"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dop251/goja"
	"github.com/google/uuid"

	"github.com/chainsts/chainsts/sts"
)

// STSException is what IDMappingExtUtils.throwSTSException and its
// relatives throw. When it escapes the rule it fails the chain with Err,
// whose description is the rule's message (ISAM returns that message to the
// caller).
type STSException struct {
	Method string
	Err    *sts.Error
}

// Error implements error.
func (e *STSException) Error() string { return e.Method + ": " + e.Err.Description }

// Unwrap returns the sts.Error the chain fails with.
func (e *STSException) Unwrap() error { return e.Err }

func (rt *vmRT) stsThrow(method string, base *sts.Error) method {
	return func(c goja.FunctionCall) goja.Value {
		msg := argStr(c, 0)
		rt.throwErr(&STSException{Method: method, Err: base.WithDescription("%s", msg)})
		return nil
	}
}

func (rt *vmRT) customThrow(method string) method {
	return func(c goja.FunctionCall) goja.Value {
		msg := argStr(c, 0)
		status := int(c.Argument(1).ToInteger())
		code := argStr(c, 2)
		if status < 400 || status > 599 {
			status = 400
		}
		if code == "" {
			code = sts.ErrInvalidRequest.Code
		}
		rt.throwErr(&STSException{Method: method, Err: &sts.Error{Code: code, Status: status, Description: msg}})
		return nil
	}
}

func (rt *vmRT) throwers() map[string]method {
	return map[string]method{
		"throwSTSException":                    rt.stsThrow("throwSTSException", sts.ErrInvalidRequest),
		"throwSTSUserMessageException":         rt.stsThrow("throwSTSUserMessageException", sts.ErrInvalidRequest),
		"throwSTSAccessDeniedMessageException": rt.stsThrow("throwSTSAccessDeniedMessageException", sts.ErrAccessDenied),
		"throwSTSInvalidGrantMessageException": rt.stsThrow("throwSTSInvalidGrantMessageException", sts.ErrInvalidGrant),
		"throwSTSCustomUserMessageException":   rt.customThrow("throwSTSCustomUserMessageException"),
		"throwSTSCustomUserPageException":      rt.customThrow("throwSTSCustomUserPageException"),
	}
}

func (rt *vmRT) notSupportedMethods(class string, names ...string) map[string]method {
	out := map[string]method{}
	for _, n := range names {
		full := class + "." + n
		out[n] = func(goja.FunctionCall) goja.Value { panic(rt.notSupported(full)) }
	}
	return out
}

func (rt *vmRT) staticClass(name string, global bool, sets ...map[string]method) *goja.Object {
	o := rt.vm.NewObject()
	for _, ms := range sets {
		rt.methods(o, ms)
	}
	rt.defineClass(name, o, global)
	return o
}

func (rt *vmRT) installUtils(native *goja.Object) {
	vm := rt.vm
	jsonParse, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("parse"))
	rt.jsonParse = jsonParse
	rt.toString, _ = goja.AssertFunction(vm.Get("String"))

	cacheProto := vm.NewObject()
	rt.methods(cacheProto, map[string]method{
		"put": func(c goja.FunctionCall) goja.Value {
			ev := rt.cur
			key := argStr(c, 0)
			val := argStr(c, 1)
			life := time.Duration(c.Argument(2).ToInteger()) * time.Second
			if len(key)+len(val) > rt.limits().MaxValueBytes {
				rt.throwErr(fmt.Errorf("IDMappingExtCache.put: entry exceeds the size limit"))
			}
			if life <= 0 {
				rt.throwErr(fmt.Errorf("IDMappingExtCache.put: the lifetime must be positive seconds"))
			}
			if err := ev.cache().CachePut(ev.context(), key, val, life); err != nil {
				rt.throwErr(fmt.Errorf("IDMappingExtCache.put: %w", err))
			}
			return goja.Undefined()
		},
		"get": func(c goja.FunctionCall) goja.Value {
			ev := rt.cur
			v, err := ev.cache().CacheGet(ev.context(), argStr(c, 0))
			return rt.cacheResult(v, err, "get")
		},
		"getAndRemove": func(c goja.FunctionCall) goja.Value {
			ev := rt.cur
			v, err := ev.cache().CacheGetAndRemove(ev.context(), argStr(c, 0))
			return rt.cacheResult(v, err, "getAndRemove")
		},
		"exists": func(c goja.FunctionCall) goja.Value {
			ev := rt.cur
			ok, err := ev.cache().CacheExists(ev.context(), argStr(c, 0))
			if err != nil {
				rt.throwErr(fmt.Errorf("IDMappingExtCache.exists: %w", err))
			}
			return vm.ToValue(ok)
		},
	})
	cacheObj := vm.NewObject()
	_ = cacheObj.SetPrototype(cacheProto)
	rt.hidden = append(rt.hidden, cacheObj, cacheProto)

	utils := map[string]method{
		"traceString": func(c goja.FunctionCall) goja.Value {
			ev := rt.cur
			args := []any{"rule", ev.currentRule(), "request_id", ev.requestID(), "message", argStr(c, 0)}
			if len(c.Arguments) > 1 {
				args = append(args, "level", c.Argument(1).String())
			}
			ev.logger.Debug("rule trace", args...)
			return goja.Undefined()
		},
		"getIDMappingExtCache": func(goja.FunctionCall) goja.Value { return cacheObj },
		"stringToXMLElement": func(c goja.FunctionCall) goja.Value {
			s := argStr(c, 0)
			if len(s) > rt.limits().MaxOutputBytes {
				rt.throwErr(fmt.Errorf("stringToXMLElement: XML exceeds the size limit"))
			}
			doc, err := parseDOM(s)
			if err != nil {
				rt.throwErr(fmt.Errorf("stringToXMLElement: %w", err))
			}
			return rt.wrapNode(doc.firstElement())
		},
		"xmlElementToString": func(c goja.FunctionCall) goja.Value {
			n, ok := rt.payload(c.Argument(0)).(*domNode)
			if !ok {
				return goja.Null()
			}
			return vm.ToValue(n.serialize())
		},
		"extractBinarySecurityToken": func(c goja.FunctionCall) goja.Value {
			return rt.extractBST(c.Argument(0))
		},
		"getCurrentTimeStringUTC": func(goja.FunctionCall) goja.Value {
			return vm.ToValue(time.Now().UTC().Format("2006-01-02T15:04:05Z"))
		},
		"getTimeStringUTC": func(c goja.FunctionCall) goja.Value {
			a := func(i int) int { return int(c.Argument(i).ToInteger()) }
			t := time.Date(a(0), time.Month(a(1)), a(2), a(3), a(4), a(5), 0, time.UTC)
			return vm.ToValue(t.Format("2006-01-02T15:04:05Z"))
		},
		"subStringAfterLast": func(c goja.FunctionCall) goja.Value {
			s, sep := argStr(c, 0), argStr(c, 1)
			if i := strings.LastIndex(s, sep); i >= 0 && sep != "" {
				return vm.ToValue(s[i+len(sep):])
			}
			return vm.ToValue(s)
		},
		"subStringBeforeLast": func(c goja.FunctionCall) goja.Value {
			s, sep := argStr(c, 0), argStr(c, 1)
			if i := strings.LastIndex(s, sep); i >= 0 && sep != "" {
				return vm.ToValue(s[:i])
			}
			return vm.ToValue(s)
		},
		"escapeHtml": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(html.EscapeString(argStr(c, 0)))
		},
		"generateHmacSecretKey": func(c goja.FunctionCall) goja.Value {
			n := int(c.Argument(0).ToInteger())
			if n <= 0 || n > 1024 {
				rt.throwErr(fmt.Errorf("generateHmacSecretKey: length must be 1..1024 bytes"))
			}
			b := make([]byte, n)
			_, _ = rand.Read(b)
			return vm.ToValue(base64.StdEncoding.EncodeToString(b))
		},
	}
	unsupportedUtils := rt.notSupportedMethods("IDMappingExtUtils",
		"getSPSSessionData", "setSPSSessionData", "removeSPSSessionData", "getAliasService", "auditEvent",
		"getActiveSessions", "getAuditStore")
	rt.staticClass(pkgUtilities+".IDMappingExtUtils", true, utils, rt.throwers(), unsupportedUtils)

	oauth := map[string]method{
		"generateRandomString": func(c goja.FunctionCall) goja.Value {
			n := int(c.Argument(0).ToInteger())
			if n < 0 || n > rt.limits().MaxValueBytes {
				rt.throwErr(fmt.Errorf("generateRandomString: length out of range"))
			}
			return vm.ToValue(randomString(n))
		},
		"createUUID": func(goja.FunctionCall) goja.Value { return vm.ToValue(uuid.NewString()) },
		"SHA256Sum": func(c goja.FunctionCall) goja.Value {
			s := sha256.Sum256([]byte(argStr(c, 0)))
			return vm.ToValue(hex.EncodeToString(s[:]))
		},
		"SHA512Sum": func(c goja.FunctionCall) goja.Value {
			s := sha512.Sum512([]byte(argStr(c, 0)))
			return vm.ToValue(hex.EncodeToString(s[:]))
		},
		"extractIssuer": func(c goja.FunctionCall) goja.Value {
			iss, ok := jwtIssuer(argStr(c, 0))
			return rt.strOrNull(iss, ok)
		},
		"createTokenElement": func(c goja.FunctionCall) goja.Value {
			tok, typ := argStr(c, 0), argStr(c, 1)
			if strings.HasPrefix(strings.TrimSpace(tok), "<") {
				doc, err := parseDOM(tok)
				if err != nil {
					rt.throwErr(fmt.Errorf("createTokenElement: %w", err))
				}
				return rt.wrapNode(doc.firstElement())
			}
			return rt.wrapNode(bstElement(tok, typ))
		},
	}
	unsupportedOAuth := rt.notSupportedMethods("OAuthMappingExtUtils",
		"getClient", "getToken", "getTokens", "associate", "getAssociation", "disassociate",
		"getAssociationKeys", "deleteToken", "deleteGrant", "getDefinition", "getDefinitionByID",
		"isOidcCompliantByDefinitionID", "isFapiCompliantByDefinitionID", "parseSTSUUToJson",
		"storeJwtActor", "retrieveAllAssociations", "updateToken", "getCertificateThumbprint",
		"getCertificateThumbprint_S256", "getCertificateChain", "batchDeleteTokens")
	rt.staticClass(pkgUtilities+".OAuthMappingExtUtils", true, oauth, rt.throwers(), unsupportedOAuth)

	rt.staticClass("com.tivoli.am.fim.base64.BASE64Utility", true, map[string]method{
		"encode": func(c goja.FunctionCall) goja.Value {
			b := rt.bytesArg(c.Argument(0))
			s := base64.StdEncoding.EncodeToString(b)
			wrap := len(c.Arguments) < 2 || c.Argument(1).ToBoolean()
			if wrap {
				s = wrapLines(s, 76)
			}
			return vm.ToValue(s)
		},
		"decode": func(c goja.FunctionCall) goja.Value {
			s := strings.Map(func(r rune) rune {
				if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
					return -1
				}
				return r
			}, argStr(c, 0))
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				b, err = base64.RawStdEncoding.DecodeString(s)
			}
			if err != nil {
				rt.throwErr(fmt.Errorf("BASE64Utility.decode: %w", err))
			}
			return rt.bytesValue(b)
		},
	})

	rt.defineClass("com.tivoli.am.fim.fedmgr2.trust.util.LocalSTSClient", vm.NewObject(), true)
	rt.methods(rt.byName["com.tivoli.am.fim.fedmgr2.trust.util.LocalSTSClient"].(*goja.Object), map[string]method{
		"doRequest": rt.localSTSDoRequest,
	})

	// Known classes chainsts does not implement: importing them works (real
	// preambles import them), using them fails naming them.
	for name, why := range map[string]string{
		pkgUtilities + ".MMFAMappingExtUtils":                                "",
		"com.ibm.security.access.user.UserLookupHelper":                      "",
		"com.ibm.security.access.user.User":                                  "",
		"com.ibm.security.access.scimclient.ScimClient":                      "",
		"com.ibm.security.access.server_connections.ServerConnectionFactory": "",
		"com.tivoli.am.fim.fedmgr2.trust.util.STSClientHelper":               "",
		"com.ibm.security.access.httpclient.HttpClient":                      "the HttpClient helper is not granted to this rule set",
		"com.ibm.security.access.httpclient.HttpClientV2":                    "the HttpClient helper is not granted to this rule set",
		"com.ibm.security.access.httpclient.HttpResponse":                    "the HttpClient helper is not granted to this rule set",
		"com.ibm.security.access.httpclient.Headers":                         "the HttpClient helper is not granted to this rule set",
		"com.ibm.security.access.httpclient.Parameters":                      "the HttpClient helper is not granted to this rule set",
		"java.lang.Thread": "",
		"java.io.File":     "no filesystem access",
		"java.net.URL":     "no network access",
	} {
		rt.defineClass(name, rt.unsupportedClass(name, why), false)
	}
	// InfoMap and authentication-policy globals: present so that rules
	// testing for them do not fail, failing on use.
	for _, g := range []string{"context", "Scope", "state", "page", "macros", "success"} {
		_ = rt.base.Set(g, rt.unsupportedClass(g, "InfoMap global"))
	}
	_ = native
}

func (rt *vmRT) cacheResult(v string, err error, op string) goja.Value {
	if err != nil {
		if errors.Is(err, errCacheMiss) || isStoreNotFound(err) {
			return goja.Null()
		}
		rt.throwErr(fmt.Errorf("IDMappingExtCache.%s: %w", op, err))
	}
	return rt.vm.ToValue(v)
}

// bytesArg reads a Java byte[] (an array of numbers) or a string (its UTF-8
// bytes).
func (rt *vmRT) bytesArg(v goja.Value) []byte {
	o, ok := v.(*goja.Object)
	if ok && o.ClassName() == "Array" {
		n := int(o.Get("length").ToInteger())
		if n > rt.limits().MaxStringBytes {
			rt.throwErr(fmt.Errorf("byte array exceeds the size limit"))
		}
		b := make([]byte, n)
		for i := 0; i < n; i++ {
			b[i] = byte(o.Get(fmt.Sprint(i)).ToInteger())
		}
		return b
	}
	if goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	s := v.String()
	if len(s) > rt.limits().MaxStringBytes {
		rt.throwErr(fmt.Errorf("string exceeds the size limit"))
	}
	return []byte(s)
}

// bytesValue returns a Java-style byte[]: an array of signed bytes.
func (rt *vmRT) bytesValue(b []byte) goja.Value {
	items := make([]any, len(b))
	for i, x := range b {
		items[i] = int64(int8(x))
	}
	return rt.vm.NewArray(items...)
}

func wrapLines(s string, n int) string {
	if len(s) <= n {
		return s
	}
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n])
		b.WriteString("\r\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

const randomAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomString(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(randomAlphabet)))
	for i := range b {
		k, _ := rand.Int(rand.Reader, max)
		b[i] = randomAlphabet[k.Int64()]
	}
	return string(b)
}

// jwtIssuer reads the iss claim of a compact JWS without verifying it: it
// only chooses which chain validates the token.
func jwtIssuer(tok string) (string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(parts[1]) > 64<<10 {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var claims struct {
		Iss *string `json:"iss"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Iss == nil {
		return "", false
	}
	return *claims.Iss, true
}

// Namespaces and URIs of the ISAM BinarySecurityToken form of a JWT.
const (
	nsWSSE          = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	encISAMBase64   = "http://ibm.com/2004/01/itfim/base64encode"
	encWSSBase64Bin = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)

func bstElement(token, valueType string) *domNode {
	if valueType == "" || valueType == sts.TokenTypeJWT || valueType == sts.TokenTypeAccessToken || valueType == sts.TokenTypeIDToken {
		valueType = sts.TokenTypeISAMJWT
	}
	return newElement("wss", "BinarySecurityToken", []domAttr{
		{prefix: "xmlns", local: "wss", value: nsWSSE},
		{local: "ValueType", value: valueType},
		{local: "EncodingType", value: encISAMBase64},
	}, token)
}

// extractBST returns the text of the BinarySecurityToken in a
// LocalSTSClient result or an element, or null.
func (rt *vmRT) extractBST(v goja.Value) goja.Value {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return goja.Null()
	}
	n, ok := rt.payload(v).(*domNode)
	if !ok {
		o, isObj := v.(*goja.Object)
		if !isObj {
			return goja.Null()
		}
		n, ok = rt.payload(o.Get("token")).(*domNode)
		if !ok {
			return goja.Null()
		}
	}
	if n.kind == domDocument {
		n = n.firstElement()
	}
	if n == nil {
		return goja.Null()
	}
	if n.local != "BinarySecurityToken" {
		found := n.elements(func(e *domNode) bool { return e.local == "BinarySecurityToken" })
		if len(found) == 0 {
			return goja.Null()
		}
		n = found[0]
	}
	return rt.vm.ToValue(strings.TrimSpace(n.textContent()))
}

// javaRegexp compiles a Java regular expression for String.matches: Java
// patterns that Go's RE2 syntax accepts run with Go's engine (no
// backtracking blow-up); others are refused.
func javaRegexp(p string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + p + `)$`)
}

func utf8String(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

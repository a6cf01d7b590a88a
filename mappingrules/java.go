package mappingrules

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/dop251/goja"
	"github.com/google/uuid"
)

// installJava provides the natives the prelude builds the Java idioms on
// (ISAM-COMPAT §3.7, §5): byte arrays, charsets, Base64, UUIDs, Java
// regular expressions, and registration of the prelude's classes.
func (rt *vmRT) installJava(native *goja.Object) {
	vm := rt.vm
	set := func(name string, f method) { _ = native.Set(name, vm.ToValue(f)) }
	checkCharset := func(c goja.FunctionCall, i int) {
		cs, ok := argString(c, i)
		if !ok {
			return
		}
		switch strings.ToUpper(strings.ReplaceAll(cs, "-", "")) {
		case "UTF8", "USASCII", "ASCII":
		default:
			panic(rt.notSupported("charset " + cs))
		}
	}
	set("getBytes", func(c goja.FunctionCall) goja.Value {
		checkCharset(c, 1)
		return rt.bytesValue(rt.bytesArg(c.Argument(0)))
	})
	set("newString", func(c goja.FunctionCall) goja.Value {
		checkCharset(c, 1)
		return vm.ToValue(utf8String(rt.bytesArg(c.Argument(0))))
	})
	set("b64enc", func(c goja.FunctionCall) goja.Value {
		enc := b64(c.Argument(1).ToBoolean(), c.Argument(2).ToBoolean())
		return vm.ToValue(enc.EncodeToString(rt.bytesArg(c.Argument(0))))
	})
	set("b64dec", func(c goja.FunctionCall) goja.Value {
		url := c.Argument(1).ToBoolean()
		s := argStr(c, 0)
		b, err := b64(url, true).DecodeString(s)
		if err != nil {
			b, err = b64(url, false).DecodeString(s)
		}
		if err != nil {
			rt.throwErr(fmt.Errorf("IllegalArgumentException: %w", err))
		}
		return rt.bytesValue(b)
	})
	set("uuid", func(goja.FunctionCall) goja.Value { return vm.ToValue(uuid.NewString()) })
	set("javaMatches", func(c goja.FunctionCall) goja.Value {
		re, err := javaRegexp(argStr(c, 1))
		if err != nil {
			panic(rt.notSupported("Java regular expression " + argStr(c, 1)))
		}
		return vm.ToValue(re.MatchString(argStr(c, 0)))
	})
	set("defineClass", func(c goja.FunctionCall) goja.Value {
		o, ok := c.Argument(1).(*goja.Object)
		if !ok {
			panic(vm.NewTypeError("defineClass: not an object"))
		}
		rt.defineClass(argStr(c, 0), o, false)
		return goja.Undefined()
	})
	set("unsupported", func(c goja.FunctionCall) goja.Value {
		panic(rt.notSupported(argStr(c, 0)))
	})
	set("cap", func(c goja.FunctionCall) goja.Value {
		n := c.Argument(0).ToFloat()
		if n > float64(rt.limits().MaxStringBytes) {
			rt.throwErr(fmt.Errorf("result of %.0f exceeds the limit of %d (limits.max_string_bytes)", n, rt.limits().MaxStringBytes))
		}
		return goja.Undefined()
	})
}

func b64(url, pad bool) *base64.Encoding {
	switch {
	case url && pad:
		return base64.URLEncoding
	case url:
		return base64.RawURLEncoding
	case pad:
		return base64.StdEncoding
	}
	return base64.RawStdEncoding
}

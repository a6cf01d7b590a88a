package mappingrules

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

func evalSrc(t *testing.T, set *RuleSet, name string) (*sts.STSUU, error) {
	t.Helper()
	r, err := set.Rule(name)
	if err != nil {
		t.Fatal(err)
	}
	u := sts.NewSTSUU()
	u.SetPrincipalName("alice")
	_, err = r.Evaluate(context.Background(), Input{User: u})
	return u, err
}

func wantErr(t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %v, want one containing %q", err, substr)
	}
}

func TestDeadlineStopsLoopAndNextEvaluationWorks(t *testing.T) {
	// The deadline must leave time for line 1 to run even on a loaded
	// machine under -race (50 ms did not: the rule was stopped at line 1),
	// so that the error names the loop's line.
	set := testSet(t, Config{Timeout: 300 * time.Millisecond, PoolSize: 1, Inline: map[string]string{
		"loop": "var i = 0;\nwhile (true) { i++; }",
		"ok":   "stsuu.setPrincipalName('after');",
	}})
	start := time.Now()
	_, err := evalSrc(t, set, "loop")
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("loop ran %v", took)
	}
	wantErr(t, err, "deadline exceeded")
	var re *RuleError
	if !errors.As(err, &re) || re.Line != 2 || !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %#v, want line 2 and ErrTimeout", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("the rule's own timeout must not look like the request's deadline")
	}
	u, err := evalSrc(t, set, "ok")
	if err != nil || u.PrincipalName() != "after" {
		t.Fatalf("next evaluation: %v %q", err, u.PrincipalName())
	}
}

func TestRequestDeadlineIsHonoured(t *testing.T) {
	set := testSet(t, Config{Timeout: 5 * time.Second, Inline: map[string]string{"loop": "for (;;) {}"}})
	r, _ := set.Rule("loop")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := r.Evaluate(ctx, Input{User: sts.NewSTSUU()})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded in the chain", err)
	}
}

func TestDeepRecursionFailsCleanly(t *testing.T) {
	set := testSet(t, Config{PoolSize: 1, Inline: map[string]string{
		"deep": "function f(n) { return f(n + 1) + 1; }\nf(0);",
		"ok":   "stsuu.setPrincipalName('fine');",
	}})
	_, err := evalSrc(t, set, "deep")
	wantErr(t, err, "call stack exceeded")
	if u, err := evalSrc(t, set, "ok"); err != nil || u.PrincipalName() != "fine" {
		t.Fatalf("next evaluation: %v", err)
	}
}

// TestThrownValueTextUnderDeadline: turning a thrown object into the
// error's text runs its toString, message getter or Proxy traps, which are
// rule code: a loop there must stop at the deadline like any other, and
// the next evaluation must work.
func TestThrownValueTextUnderDeadline(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"throw { toString: function () { while (true) {} } };", "deadline exceeded"},
		{"var e = new Error('m');\nObject.defineProperty(e, 'message', { get: function () { while (true) {} } });\nthrow e;", "deadline exceeded"},
		{"throw new Proxy({}, { get: function () { while (true) {} } });", "deadline exceeded"},
		{"throw { toString: function f() { return f() + 1; } };", "call stack exceeded"},
		{"throw { toString: function () { throw 1; } };", "could not be converted to text"},
		{"throw { toString: function () { return 'plain'; } };", "plain"},
	} {
		set := testSet(t, Config{Timeout: 300 * time.Millisecond, PoolSize: 1, Inline: map[string]string{
			"throw": tc.src,
			"ok":    "stsuu.setPrincipalName('after');",
		}})
		done := make(chan error, 1)
		go func() {
			_, err := evalSrc(t, set, "throw")
			done <- err
		}()
		select {
		case err := <-done:
			wantErr(t, err, tc.want)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: still running 5 s after a 300 ms deadline", tc.src)
		}
		if u, err := evalSrc(t, set, "ok"); err != nil || u.PrincipalName() != "after" {
			t.Fatalf("%s: next evaluation: %v", tc.src, err)
		}
	}
}

// TestThrownValueTextJobsStayInEvaluation: a promise job queued while the
// thrown value becomes text (its toString) must run in that evaluation,
// under its deadline, never in the next one, where the stsuu it captured
// is another request's user.
func TestThrownValueTextJobsStayInEvaluation(t *testing.T) {
	set := testSet(t, Config{PoolSize: 1, Inline: map[string]string{
		"throw": "throw { toString: function () {\n" +
			"\tPromise.resolve().then(function () { stsuu.setPrincipalName('set by an earlier evaluation'); });\n" +
			"\treturn 'thrown';\n} };",
		"next": "var x = 1;",
	}})
	_, err := evalSrc(t, set, "throw")
	wantErr(t, err, "thrown")
	r, _ := set.Rule("next")
	u := sts.NewSTSUU()
	u.SetPrincipalName("bob")
	if _, err := r.Evaluate(context.Background(), Input{User: u}); err != nil {
		t.Fatal(err)
	}
	if u.PrincipalName() != "bob" {
		t.Fatalf("principal %q, want bob: a job of the earlier evaluation ran in this one", u.PrincipalName())
	}
}

// TestSymbolRegistryRetiresRuntime: Symbol.for keys stay in the runtime's
// registry after the evaluation, so a pooled runtime would grow without
// bound; a runtime past maxSymbolFor calls is not reused, one with a few is.
func TestSymbolRegistryRetiresRuntime(t *testing.T) {
	set := testSet(t, Config{PoolSize: 1, Inline: map[string]string{
		"few":  "Symbol.for('a'); Symbol.for('b');",
		"many": "for (var i = 0; i < 2000; i++) { Symbol.for('k' + i); }",
	}})
	idle := func() []*vmRT {
		set.mu.Lock()
		defer set.mu.Unlock()
		return append([]*vmRT(nil), set.idle...)
	}
	if _, err := evalSrc(t, set, "few"); err != nil {
		t.Fatal(err)
	}
	pooled := idle()
	if len(pooled) != 1 {
		t.Fatalf("%d idle runtimes after one evaluation, want 1", len(pooled))
	}
	if _, err := evalSrc(t, set, "few"); err != nil {
		t.Fatal(err)
	}
	if got := idle(); len(got) != 1 || got[0] != pooled[0] {
		t.Fatal("a runtime with a few registered symbols was not reused")
	}
	if _, err := evalSrc(t, set, "many"); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(idle(), pooled[0]) {
		t.Fatal("the runtime whose symbol registry grew past the limit was reused")
	}
}

// A sourceMappingURL naming a FIFO would block a parser that reads it; the
// rule must compile and run, and eval stays unavailable.
func TestSourceMapFIFODoesNotBlock(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "map.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	src := "stsuu.setPrincipalName('mapped');\n//# sourceMappingURL=" + fifo + "\n"
	evalSrcText := "try { eval(\"1;\\n//# sourceMappingURL=" + fifo + "\"); } catch (e) { stsuu.setPrincipalName(String(e)); }\n//# sourceMappingURL=" + fifo
	done := make(chan error, 1)
	go func() {
		set, err := NewRuleSet(Config{Inline: map[string]string{"r": src, "e": evalSrcText}}, dir, nil, nil)
		if err != nil {
			done <- err
			return
		}
		defer set.Close()
		u, err := evalSrc(t, set, "r")
		if err == nil && u.PrincipalName() != "mapped" {
			err = errors.New("rule did not run")
		}
		if err == nil {
			u, err = evalSrc(t, set, "e")
			if err == nil && !strings.Contains(u.PrincipalName(), "eval is not available") {
				err = errors.New("eval ran: " + u.PrincipalName())
			}
		}
		if err == nil {
			// The runtime's own parser (RunString, eval paths) has source
			// maps disabled too.
			rt, err2 := newVMRT(set)
			if err2 == nil {
				_, err2 = rt.vm.RunString("1;\n//# sourceMappingURL=" + fifo)
			}
			err = err2
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		// Unblock the reader so the goroutine can end, then fail.
		f, _ := os.OpenFile(fifo, os.O_WRONLY, 0)
		if f != nil {
			f.Close()
		}
		t.Fatal("compiling or running a rule blocked on the sourceMappingURL FIFO")
	}
}

func TestNoRequireEvalFunction(t *testing.T) {
	cases := map[string]string{
		"require":      "require('fs')",
		"eval":         "eval('1')",
		"Function":     "Function('return 1')()",
		"new Function": "new Function('return 1')",
		"ctor":         "(function(){}).constructor('return 1')()",
		"generator":    "(function*(){}).constructor('yield 1')",
		"async":        "(async function(){}).constructor('return 1')",
	}
	inline := map[string]string{}
	for name, src := range cases {
		inline[strings.ReplaceAll(name, " ", "_")] = src
	}
	set := testSet(t, Config{Inline: inline})
	for name := range cases {
		_, err := evalSrc(t, set, strings.ReplaceAll(name, " ", "_"))
		if err == nil {
			t.Errorf("%s: ran", name)
			continue
		}
		if !strings.Contains(err.Error(), "not available") && !strings.Contains(err.Error(), "require is not defined") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestGrowthCaps(t *testing.T) {
	set := testSet(t, Config{Inline: map[string]string{
		"repeat":     "var s = 'x'.repeat(1e9);",
		"pad":        "var s = ''.padStart(1e9, 'ab');",
		"join":       "var s = new Array(1e9).join('x');",
		"fill":       "var a = new Array(1e8).fill(0);",
		"from":       "var a = Array.from({length: 1e9});",
		"buffer":     "var b = new ArrayBuffer(2e8);",
		"typed":      "var b = new Uint8Array(2e8);",
		"value":      "stsuu.addAttribute(new Attribute('big', 'urn:t', 'x'.repeat(100000)));",
		"values":     "var v = []; for (var i = 0; i < 5000; i++) v.push('a'); stsuu.addAttribute(new Attribute('many', 'urn:t', v));",
		"attributes": "for (var i = 0; i < 3000; i++) stsuu.addAttribute(new Attribute('a' + i, 'urn:t', 'v'));",
		"output":     "var s = 'x'.repeat(60000); for (var i = 0; i < 20; i++) stsuu.addAttribute(new Attribute('a' + i, 'urn:t', s));",
	}})
	for name, want := range map[string]string{
		"repeat":     "max_string_bytes",
		"pad":        "max_string_bytes",
		"join":       "max_string_bytes",
		"fill":       "max_string_bytes",
		"from":       "max_string_bytes",
		"buffer":     "ArrayBuffer is not defined",
		"typed":      "Uint8Array is not defined",
		"value":      "size limit",
		"values":     "exceed the limit",
		"attributes": "exceed 2000 attributes",
		"output":     "max_output_bytes",
	} {
		_, err := evalSrc(t, set, name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", name, err, want)
		}
	}
	// Java collections count against the same cap.
	small := testSet(t, Config{Limits: Limits{MaxStringBytes: 1000}, Inline: map[string]string{
		"arraylist": "var l = new java.util.ArrayList(); for (;;) l.add('x');",
		"hashmap":   "var m = new java.util.HashMap(); for (var i = 0; ; i++) m.put('k' + i, i);",
	}})
	for _, name := range []string{"arraylist", "hashmap"} {
		_, err := evalSrc(t, small, name)
		wantErr(t, err, "max_string_bytes")
	}
}

// pollute and check run on one pooled runtime, one after the other: nothing
// the first does may be visible to the second.
const pollute = `
Object.prototype.polluted = 'yes';
Array.prototype.push = function () { return 'hijacked'; };
String.prototype.equals = function () { return true; };
Attribute.prototype.getName = function () { return 'hijacked'; };
Object.getPrototypeOf(stsuu).getPrincipalName = function () { return 'hijacked'; };
JSON.parse = function () { return 'hijacked'; };
Math.max = function () { return -1; };
IDMappingExtUtils.traceString = null;
globalThis.leakGlobal = 1;
leakImplicit = 2;
var leakVar = 3;
function leakFunction() {}
let leakLet = 4;
importClass(Packages.java.util.ArrayList);
Object.getPrototypeOf([][Symbol.iterator]()).next = function () { return { done: true }; };
Object.getPrototypeOf(function*(){}).polluted = 1;
try { Object.defineProperty(Object.prototype, 'defined', { value: 1 }); } catch (e) {}
try { Object.setPrototypeOf(Packages.java.util, { x: 1 }); } catch (e) {}
try { Packages.com.polluted = 1; } catch (e) {}
try { Packages.java.util.polluted = 1; } catch (e) {}
try { Object.defineProperty(Packages.java.util, 'ArrayList', { value: 1 }); } catch (e) {}
Object.getPrototypeOf(stsuu.getAttributeContainer()).getAttributeValueByName = function () { return 'hijacked'; };
Object.getPrototypeOf(stsuu.getGroups()).hasNext = function () { return 'hijacked'; };
var doc = stsuu.toXML();
Object.getPrototypeOf(doc).getDocumentElement = function () { return 'hijacked'; };
Object.getPrototypeOf(doc.getDocumentElement()).getLocalName = function () { return 'hijacked'; };
Object.getPrototypeOf(doc.getElementsByTagName('x')).getLength = function () { return 'hijacked'; };
IDMappingExtUtils.getIDMappingExtCache().get = function () { return 'hijacked'; };
Object.getPrototypeOf(IDMappingExtUtils.getIDMappingExtCache()).exists = function () { return 'hijacked'; };
try { stsresponse.getRequestSecurityTokenResponse().setRequestedSecurityToken = null; } catch (e) {}
try { stsresponse.getRequestSecurityTokenResponse = function () { return 'hijacked'; }; } catch (e) {}
java.util.ArrayList.prototype.size = function () { return 'hijacked'; };
java.util.HashMap.prototype.get = function () { return 'hijacked'; };
Object.getPrototypeOf(new java.util.ArrayList().iterator()).hasNext = function () { return 'hijacked'; };
var hm = new java.util.HashMap(); hm.put('k', 'v');
try { Object.getPrototypeOf(hm.entrySet().toArray()[0]).getKey = function () { return 'hijacked'; }; } catch (e) {}
java.lang.Integer.parseInt = function () { return 'hijacked'; };
try { Object.defineProperty(globalThis, 'pinned', { value: 1, configurable: false }); } catch (e) {}
try { Object.defineProperty(globalThis, 'getterLeak', { get: function () { return 1; } }); } catch (e) {}
try { globalThis[Symbol.for('symLeak')] = 1; } catch (e) {}
try { Object.preventExtensions(globalThis); } catch (e) {}
var e = new Error(); e.name = 'Custom'; if (e.name !== 'Custom') throw new Error('instance assignment broken');
var o = {}; o.toString = function () { return 'own'; }; if (String(o) !== 'own') throw new Error('override broken');
stsuu.ownLeak = 1;
stsuu.getAttributeContainer().ownLeak = 1;
stsuu.getContextAttributes().ownLeak = 1;
try { Object.setPrototypeOf(stsuu, { getPrincipalName: function () { return 'hijacked'; } }); } catch (e) {}
try { Object.defineProperty(stsuu.getAttributeContainer(), 'definedLeak', { value: 1 }); } catch (e) {}
// Last: nothing built-in resolves after this within the evaluation.
Object.setPrototypeOf(globalThis, { protoLeak: 1 });
`

const check = `
var leaks = [];
if (({}).polluted !== undefined) leaks.push('Object.prototype');
var a = []; a.push(1); if (a.length !== 1) leaks.push('Array.prototype.push');
if ('a'.equals('b')) leaks.push('String.prototype.equals');
if (new Attribute('n', 't', 'v').getName() !== 'n') leaks.push('Attribute.prototype');
if (stsuu.getPrincipalName() !== 'alice') leaks.push('STSUniversalUser prototype');
if (JSON.parse('1') !== 1) leaks.push('JSON.parse');
if (Math.max(1, 2) !== 2) leaks.push('Math.max');
if (typeof IDMappingExtUtils.traceString !== 'function') leaks.push('IDMappingExtUtils');
if (Object.getPrototypeOf(globalThis).protoLeak || typeof protoLeak !== 'undefined') leaks.push('global prototype');
if (globalThis[Symbol.for('symLeak')] !== undefined) leaks.push('symbol global');
if (!Object.isExtensible(globalThis)) leaks.push('global extensibility');
var probe = 1; if (probe !== 1) leaks.push('global writes');
['leakGlobal', 'leakImplicit', 'leakVar', 'leakFunction', 'leakLet', 'ArrayList', 'pinned', 'getterLeak'].forEach(function (n) {
	if (typeof globalThis[n] !== 'undefined') leaks.push(n);
});
for (var x of [1, 2]) { if (x === undefined) leaks.push('iterator'); }
var n = 0; for (var y of [1, 2]) n++; if (n !== 2) leaks.push('ArrayIteratorPrototype');
if (Object.getPrototypeOf(function*(){}).polluted) leaks.push('GeneratorFunction.prototype');
if (({}).defined) leaks.push('defineProperty');
if (Object.getPrototypeOf(Packages.java.util) !== Object.getPrototypeOf(Packages.com)) leaks.push('Packages');
if (Packages.java.util.ArrayList !== java.util.ArrayList || typeof Packages.java.util.polluted !== 'function') leaks.push('Packages tree');
if (stsuu.getAttributeContainer().getAttributeValueByName('nope') !== null) leaks.push('container prototype');
if (stsuu.getGroups().hasNext() !== false) leaks.push('iterator prototype');
var doc = stsuu.toXML();
if (typeof doc.getDocumentElement() !== 'object') leaks.push('document prototype');
if (doc.getDocumentElement().getLocalName() !== 'STSUniversalUser') leaks.push('element prototype');
if (doc.getElementsByTagName('x').getLength() !== 0) leaks.push('node list prototype');
if (IDMappingExtUtils.getIDMappingExtCache().get('nope') !== null) leaks.push('cache object');
if (IDMappingExtUtils.getIDMappingExtCache().exists('nope') !== false) leaks.push('cache prototype');
if (typeof stsresponse.getRequestSecurityTokenResponse().setRequestedSecurityToken !== 'function') leaks.push('stsresponse');
if (new java.util.ArrayList().size() !== 0) leaks.push('ArrayList.prototype');
if (new java.util.HashMap().get('x') !== null) leaks.push('HashMap.prototype');
if (new java.util.ArrayList().iterator().hasNext() !== false) leaks.push('Java iterator prototype');
var hm = new java.util.HashMap(); hm.put('k', 'v');
if (hm.entrySet().toArray()[0].getKey() !== 'k') leaks.push('Map entry prototype');
if (java.lang.Integer.parseInt('7') !== 7) leaks.push('java.lang.Integer');
if (stsuu.ownLeak !== undefined || Object.getPrototypeOf(stsuu) !== STSUniversalUser.prototype) leaks.push('stsuu object');
if (stsuu.getAttributeContainer().ownLeak !== undefined || stsuu.getAttributeContainer().definedLeak !== undefined) leaks.push('attribute container object');
if (stsuu.getContextAttributes().ownLeak !== undefined) leaks.push('context container object');
if (leaks.length) throw new Error('leaked: ' + leaks.join(', '));
`

func TestNoStateLeaksBetweenEvaluations(t *testing.T) {
	for _, fresh := range []bool{false, true} {
		set := testSet(t, Config{PoolSize: 1, FreshRuntimes: fresh, Inline: map[string]string{"pollute": pollute, "check": check}})
		for i := 0; i < 3; i++ {
			if _, err := evalSrc(t, set, "pollute"); err != nil {
				t.Fatalf("fresh=%v pollute: %v", fresh, err)
			}
			if _, err := evalSrc(t, set, "check"); err != nil {
				t.Fatalf("fresh=%v: %v", fresh, err)
			}
		}
		set.mu.Lock()
		idle := len(set.idle)
		set.mu.Unlock()
		if !fresh && idle != 1 {
			t.Fatalf("pooled runtime was not reused (%d idle)", idle)
		}
	}
}

func TestReservedKeysRejected(t *testing.T) {
	set := testSet(t, Config{Inline: map[string]string{
		"proto":  `stsuu.addAttribute(new Attribute('x', 't', [JSON.parse('{"__proto__": {"admin": true}}')]));`,
		"ctor":   `stsuu.addAttribute(new Attribute('x', 't', [{constructor: 1}]));`,
		"name":   `stsuu.addAttribute(new Attribute('__proto__', 't', 'v'));`,
		"nested": `stsuu.addAttribute(new Attribute('x', 't', [{a: {prototype: 1}}]));`,
	}})
	for _, name := range []string{"proto", "ctor", "name", "nested"} {
		_, err := evalSrc(t, set, name)
		wantErr(t, err, "not allowed")
	}
}

func TestErrorsNameRuleLineColumn(t *testing.T) {
	_, err := NewRuleSet(Config{Inline: map[string]string{"broken": "var a = 1;\nvar b = ;\n"}}, "", nil, nil)
	var re *RuleError
	if !errors.As(err, &re) || re.Rule != "broken" || re.Line != 2 || re.Column == 0 {
		t.Fatalf("load error %v, want rule broken line 2", err)
	}
	var ce *sts.ConfigError
	if !errors.As(err, &ce) || ce.Path != "inline.broken" {
		t.Fatalf("load error %v, want a ConfigError at inline.broken", err)
	}

	set := testSet(t, Config{Inline: map[string]string{
		"typo":   "var x = 1;\n  stsuu.getPrincipalNam();",
		"outer":  "importMappingRule('inner');",
		"inner":  "var y = 2;\nnull.boom;",
		"cycle1": "importMappingRule('cycle2');",
		"cycle2": "importMappingRule('CYCLE1');",
	}})
	_, err = evalSrc(t, set, "typo")
	if !errors.As(err, &re) || re.Rule != "typo" || re.Line != 2 || re.Column != 24 {
		t.Fatalf("error %v, want typo line 2 column 24 (the call)", err)
	}
	_, err = evalSrc(t, set, "outer")
	if !errors.As(err, &re) || re.Rule != "inner" || re.Line != 2 {
		t.Fatalf("error %v, want the position in the imported rule", err)
	}
	_, err = evalSrc(t, set, "cycle1")
	wantErr(t, err, "cycle cycle1 -> cycle2 -> cycle1")
}

func TestJavaClasses(t *testing.T) {
	set := testSet(t, Config{Inline: map[string]string{
		"unknown":      "importClass(Packages.com.example.Nope);",
		"unknown_new":  "new com.example.Nope();",
		"unsupported":  "importClass(Packages.com.ibm.security.access.user.UserLookupHelper);\nvar h = new UserLookupHelper();",
		"http":         "importClass(Packages.com.ibm.security.access.httpclient.HttpClient);\nHttpClient.httpGet('http://x');",
		"infomap":      "context.get(Scope.SESSION, 'a', 'b');",
		"import_only":  "importPackage(Packages.com.ibm.security.access.httpclient); importClass(Packages.com.tivoli.am.fim.trustserver.sts.utilities.MMFAMappingExtUtils);",
		"oauth_store":  "OAuthMappingExtUtils.getClient('x');",
		"null_getters": "var c = stsuu.getAttributeContainer(); if (c.getAttributeValueByName('x') !== null || c.getAttributeValuesByName('x') !== null || c.getAttributeByName('x') !== null || c.getAttributesByType('x') !== null || stsuu.getContextAttributes().getAttributeValueByNameAndType('a','b') !== null) throw new Error('not null');",
	}})
	for name, want := range map[string]string{
		"unknown":     "unknown Java class com.example.Nope",
		"unknown_new": "unknown Java class com.example.Nope",
		"unsupported": "not supported in chainsts: com.ibm.security.access.user.UserLookupHelper",
		"http":        "not supported in chainsts: com.ibm.security.access.httpclient.HttpClient",
		"infomap":     "not supported in chainsts: context",
		"oauth_store": "not supported in chainsts: OAuthMappingExtUtils.getClient",
	} {
		_, err := evalSrc(t, set, name)
		wantErr(t, err, want)
	}
	for _, name := range []string{"import_only", "null_getters"} {
		if _, err := evalSrc(t, set, name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	var re *RuleError
	_, err := evalSrc(t, set, "unsupported")
	if !errors.As(err, &re) || re.Line != 2 {
		t.Fatalf("error %v, want line 2", err)
	}
}

func TestTraceStringLogsRuleAndRequest(t *testing.T) {
	var buf strings.Builder
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: &buf, JSONFormat: true})
	set := testSet(t, Config{Inline: map[string]string{
		"outer": "importMappingRule('inner'); IDMappingExtUtils.traceString('from outer');",
		"inner": "IDMappingExtUtils.traceString('from inner', 2);",
	}})
	r, _ := set.Rule("outer")
	call := &sts.Call{Request: &sts.Request{ID: "req-42"}, Logger: log}
	if _, err := r.Evaluate(context.Background(), Input{User: sts.NewSTSUU(), Call: call}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log: %q", buf.String())
	}
	for i, want := range []string{`"rule":"inner"`, `"rule":"outer"`} {
		for _, w := range []string{want, `"request_id":"req-42"`, `"@level":"debug"`} {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %s", i, lines[i], w)
			}
		}
	}
	if !strings.Contains(lines[0], `"level":"2"`) || !strings.Contains(lines[1], `"message":"from outer"`) {
		t.Errorf("log: %q", buf.String())
	}
}

// Errors thrown by the API carry their message only: no Go value reaches
// the rule (SECURITY §3.5).
func TestThrownErrorsExposeNoGoValues(t *testing.T) {
	set := testSet(t, Config{Inline: map[string]string{"r": `
try { IDMappingExtUtils.throwSTSException("denied"); } catch (e) {
	if (e.value !== undefined || e.message !== "throwSTSException: denied") throw new Error("exposed: " + Object.keys(e) + " " + e.message);
}
try { com.ibm.security.access.user.UserLookupHelper.x; } catch (e) {
	if (e.value !== undefined) throw new Error("exposed");
}
IDMappingExtUtils.throwSTSException("finally");`}})
	_, err := evalSrc(t, set, "r")
	var exc *STSException
	if !errors.As(err, &exc) || exc.Err.Description != "finally" {
		t.Fatalf("error %v, want the STS exception", err)
	}
}

func TestCancelledRequestStopsRule(t *testing.T) {
	set := testSet(t, Config{Timeout: 5 * time.Second, PoolSize: 1, Inline: map[string]string{
		"loop": "for (;;) {}",
		"ok":   "stsuu.setPrincipalName('after');",
	}})
	r, _ := set.Rule("loop")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	_, err := r.Evaluate(ctx, Input{User: sts.NewSTSUU()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if u, err := evalSrc(t, set, "ok"); err != nil || u.PrincipalName() != "after" {
		t.Fatalf("next evaluation: %v", err)
	}
}

func TestCatastrophicRegexpIsBounded(t *testing.T) {
	set := testSet(t, Config{Timeout: 50 * time.Millisecond, Inline: map[string]string{
		// The back-reference makes goja use its backtracking engine.
		"redos": "var r = /^(a+)+\\1b$/.test('a'.repeat(64) + 'c');",
		"ok":    "stsuu.setPrincipalName('after');",
	}})
	start := time.Now()
	_, err := evalSrc(t, set, "redos")
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("the match ran %v", took)
	}
	if err != nil && !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v, want none or the deadline", err)
	}
	if u, err := evalSrc(t, set, "ok"); err != nil || u.PrincipalName() != "after" {
		t.Fatalf("next evaluation: %v", err)
	}
}

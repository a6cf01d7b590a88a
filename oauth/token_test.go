package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/clients"
	"github.com/chainsts/chainsts/store"
)

// want is an expected error answer.
type want struct {
	status int
	code   string
}

// check asserts status, error code and the no-store headers every token
// endpoint answer carries.
func check(t *testing.T, r result, w want) {
	t.Helper()
	if r.status != w.status {
		t.Errorf("status %d, want %d (%s)", r.status, w.status, r.raw)
	}
	if w.code != "" {
		if got, _ := r.body["error"].(string); got != w.code {
			t.Errorf("error %q, want %q (%s)", got, w.code, r.raw)
		}
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
		t.Errorf("cache headers %q / %q, want no-store / no-cache", r.header.Get("Cache-Control"), r.header.Get("Pragma"))
	}
	if w.status == 401 && r.header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	if w.status == 429 && r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if w.code != "" {
		// Descriptions are generic: never the reason, never token material.
		if d, _ := r.body["error_description"].(string); strings.Contains(d, "eyJ") || strings.Contains(d, "chain") {
			t.Errorf("error_description leaks detail: %q", d)
		}
	}
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

const (
	app  = "app:" + secret
	open = "open:" + secret
)

// TestTokenEndpointRequestErrors covers RFC 6749 §5.2 and SECURITY §2.2–2.3.
func TestTokenEndpointRequestErrors(t *testing.T) {
	e := newEnv(t, "")
	raw := func(method, ctype, query, body string, mod func(*http.Request)) result {
		req, _ := http.NewRequest(method, e.srv.URL+"/oauth2/token"+query, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		req.SetBasicAuth("app", secret)
		if mod != nil {
			mod(req)
		}
		return e.do(req)
	}
	cc := "grant_type=client_credentials"
	for _, tc := range []struct {
		name string
		r    func() result
		want want
	}{
		{"json body", func() result { return raw("POST", "application/json", "", `{"grant_type":"client_credentials"}`, nil) }, want{400, "invalid_request"}},
		{"no content type", func() result { return raw("POST", "", "", cc, nil) }, want{400, "invalid_request"}},
		{"parameters in query", func() result { return raw("POST", "application/x-www-form-urlencoded", "?scope=read", cc, nil) }, want{400, "invalid_request"}},
		{"secret in query", func() result {
			return raw("POST", "application/x-www-form-urlencoded", "?client_secret="+secret, cc, func(r *http.Request) { r.Header.Del("Authorization") })
		}, want{400, "invalid_request"}},
		{"repeated grant_type", func() result { return raw("POST", "application/x-www-form-urlencoded", "", cc+"&"+cc, nil) }, want{400, "invalid_request"}},
		{"repeated scope", func() result {
			return raw("POST", "application/x-www-form-urlencoded", "", cc+"&scope=read&scope=write", nil)
		}, want{400, "invalid_request"}},
		{"body too large", func() result {
			return raw("POST", "application/x-www-form-urlencoded", "", cc+"&x="+strings.Repeat("a", 70<<10), nil)
		}, want{413, "invalid_request"}},
		{"missing grant_type", func() result { return e.post("/oauth2/token", app, form("scope", "read")) }, want{400, "invalid_request"}},
		{"unsupported grant_type", func() result { return e.post("/oauth2/token", app, form("grant_type", "password")) }, want{400, "unsupported_grant_type"}},
		{"wrong secret (Basic)", func() result { return e.post("/oauth2/token", "app:nope", form("grant_type", "client_credentials")) }, want{401, "invalid_client"}},
		{"unknown client (post)", func() result {
			return e.post("/oauth2/token", "", form("grant_type", "client_credentials", "client_id", "ghost", "client_secret", secret))
		}, want{401, "invalid_client"}},
		{"two auth methods", func() result {
			return e.post("/oauth2/token", app, form("grant_type", "client_credentials", "client_id", "app", "client_secret", secret))
		}, want{400, "invalid_request"}},
		{"registered for post, used Basic", func() result {
			return e.post("/oauth2/token", "post:"+secret, form("grant_type", "client_credentials"))
		}, want{401, "invalid_client"}},
		{"no client authentication", func() result { return e.post("/oauth2/token", "", form("grant_type", "client_credentials")) }, want{401, "invalid_client"}},
		{"grant not allowed for client", func() result {
			f := exchangeForm(e.subjectToken(nil))
			return e.post("/oauth2/token", "narrow:"+secret, f)
		}, want{400, "unauthorized_client"}},
		{"public client, client_credentials", func() result {
			return e.post("/oauth2/token", "", form("grant_type", "client_credentials", "client_id", "public"))
		}, want{400, "unauthorized_client"}},
		{"scope not allowed", func() result {
			return e.post("/oauth2/token", "narrow:"+secret, form("grant_type", "client_credentials", "scope", "write"))
		}, want{400, "invalid_scope"}},
		{"scope asked of a client without scopes", func() result {
			return e.post("/oauth2/token", "", form("grant_type", "client_credentials", "client_id", "post", "client_secret", secret, "scope", "read"))
		}, want{400, "invalid_scope"}},
		{"malformed scope", func() result {
			return e.post("/oauth2/token", app, form("grant_type", "client_credentials", "scope", "re\"ad"))
		}, want{400, "invalid_scope"}},
		{"client assertion for another audience", func() result {
			return e.post("/oauth2/token", "", clientAssertionForm(e.clientAssertion(func(c map[string]any) { c["aud"] = "https://elsewhere" })))
		}, want{401, "invalid_client"}},
		{"expired client assertion", func() result {
			now := time.Now().Unix()
			return e.post("/oauth2/token", "", clientAssertionForm(e.clientAssertion(func(c map[string]any) { c["iat"], c["exp"] = now-300, now-120 })))
		}, want{401, "invalid_client"}},
		{"client assertion signed by another key", func() result {
			return e.post("/oauth2/token", "", clientAssertionForm(e.idp.sign(t, map[string]any{"alg": "ES256", "kid": "pkj-1"},
				map[string]any{"iss": "pkj", "sub": "pkj", "aud": issuer, "exp": time.Now().Unix() + 60, "jti": randID()})))
		}, want{401, "invalid_client"}},
		{"replayed client assertion", func() result {
			f := clientAssertionForm(e.clientAssertion(nil))
			e.post("/oauth2/token", "", f)
			return e.post("/oauth2/token", "", f)
		}, want{401, "invalid_client"}},
		{"unknown client_assertion_type", func() result {
			f := clientAssertionForm(e.clientAssertion(nil))
			f.Set("client_assertion_type", "urn:example:saml")
			return e.post("/oauth2/token", "", f)
		}, want{401, "invalid_client"}},
		{"unknown format", func() result {
			return e.post("/oauth2/token", app, form("grant_type", "client_credentials", "format", "yaml"))
		}, want{400, "invalid_request"}},
	} {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.r(), tc.want) })
	}
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t, "")
	r := e.post("/oauth2/token", app, form("grant_type", "client_credentials", "scope", "read write"))
	check(t, r, want{status: 200})
	if r.body["token_type"] != "Bearer" || r.body["expires_in"] == nil {
		t.Fatalf("response %s", r.raw)
	}
	if _, has := r.body["scope"]; has {
		t.Errorf("scope returned although it equals the request: %s", r.raw)
	}
	c := claimsOf(t, r.body["access_token"].(string))
	for k, v := range map[string]any{"iss": issuer, "sub": "app", "client_id": "app", "scope": "read write", "aud": apiAud} {
		if c[k] != v {
			t.Errorf("claim %s = %v, want %v", k, c[k], v)
		}
	}
	// Without a scope, the client's allowed scopes are granted and named.
	r = e.post("/oauth2/token", "narrow:"+secret, form("grant_type", "client_credentials"))
	check(t, r, want{status: 200})
	if r.body["scope"] != "read" {
		t.Errorf("default scope %v, want read", r.body["scope"])
	}
	// client_secret_post.
	r = e.post("/oauth2/token", "", form("grant_type", "client_credentials", "client_id", "post", "client_secret", secret))
	check(t, r, want{status: 200})
	// private_key_jwt.
	r = e.post("/oauth2/token", "", form("grant_type", "client_credentials",
		"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", e.clientAssertion(nil)))
	check(t, r, want{status: 200})
	if c := claimsOf(t, r.body["access_token"].(string)); c["client_id"] != "pkj" {
		t.Errorf("client_id %v", c["client_id"])
	}
}

func TestResponseFormats(t *testing.T) {
	e := newEnv(t, "")
	r := e.post("/oauth2/token", app, form("grant_type", "client_credentials", "format", "urlencoded"))
	check(t, r, want{status: 200})
	v, err := url.ParseQuery(r.raw)
	if err != nil || v.Get("token_type") != "Bearer" || strings.Count(v.Get("access_token"), ".") != 2 {
		t.Fatalf("urlencoded response %q (%v)", r.raw, err)
	}
	r = e.post("/oauth2/token", app, form("grant_type", "client_credentials", "format", "xml"))
	check(t, r, want{status: 200})
	if !strings.Contains(r.raw, "<token_type>Bearer</token_type>") || !strings.HasPrefix(r.header.Get("Content-Type"), "application/xml") {
		t.Fatalf("xml response %q", r.raw)
	}
	r = e.post("/oauth2/token", "app:bad", form("grant_type", "client_credentials", "format", "xml"))
	if r.status != 401 || !strings.Contains(r.raw, "<error>invalid_client</error>") {
		t.Fatalf("xml error %d %q", r.status, r.raw)
	}
}

// TestTokenExchangeErrors covers RFC 8693 §2.2.2.
func TestTokenExchangeErrors(t *testing.T) {
	e := newEnv(t, "")
	now := time.Now().Unix()
	with := func(mod func(url.Values)) url.Values {
		f := exchangeForm(e.subjectToken(nil))
		mod(f)
		return f
	}
	for _, tc := range []struct {
		name string
		auth string
		f    url.Values
		want want
	}{
		{"missing subject_token", app, with(func(f url.Values) { f.Del("subject_token") }), want{400, "invalid_request"}},
		{"missing subject_token_type", app, with(func(f url.Values) { f.Del("subject_token_type") }), want{400, "invalid_request"}},
		{"actor_token without type", app, with(func(f url.Values) { f.Set("actor_token", e.subjectToken(nil)) }), want{400, "invalid_request"}},
		{"actor_token_type without token", app, with(func(f url.Values) { f.Set("actor_token_type", tokenTypeJW) }), want{400, "invalid_request"}},
		{"subject signed by an unknown key", app, with(func(f url.Values) {
			f.Set("subject_token", e.idp.sign(t, map[string]any{"alg": "ES256", "kid": "partner-1"}, map[string]any{"iss": partnerIss, "sub": "x", "exp": now + 60}))
		}), want{400, "invalid_request"}},
		{"expired subject", app, with(func(f url.Values) {
			f.Set("subject_token", e.subjectToken(func(c map[string]any) { c["iat"], c["exp"] = now-600, now-300 }))
		}), want{400, "invalid_request"}},
		{"subject expired within the validation leeway", app, with(func(f url.Values) {
			f.Set("subject_token", e.subjectToken(func(c map[string]any) { c["iat"], c["exp"] = now-600, now-5 }))
		}), want{400, "invalid_request"}},
		{"garbage subject", app, with(func(f url.Values) { f.Set("subject_token", "not-a-token") }), want{400, "invalid_request"}},
		{"unsupported subject token type", app, with(func(f url.Values) {
			f.Set("subject_token_type", "urn:ietf:params:oauth:token-type:saml2")
			f.Del("audience")
		}), want{400, "invalid_request"}},
		{"audience the client may not have", app, with(func(f url.Values) { f.Set("audience", "https://evil.example") }), want{400, "invalid_target"}},
		{"audience a chain serves but the client may not have", app, with(func(f url.Values) { f.Set("audience", "https://opaque.example") }), want{400, "invalid_target"}},
		{"audience no chain serves", open, with(func(f url.Values) { f.Set("audience", "https://nowhere.example") }), want{400, "invalid_target"}},
		{"audiences served by different chains", open, with(func(f url.Values) { f.Add("audience", "https://opaque.example") }), want{400, "invalid_target"}},
		{"resource not an absolute URI", app, with(func(f url.Values) { f.Del("audience"); f.Set("resource", "api/v1") }), want{400, "invalid_target"}},
		{"resource with fragment", app, with(func(f url.Values) { f.Del("audience"); f.Set("resource", apiAud+"#x") }), want{400, "invalid_target"}},
		{"scope wider than the subject's", app, with(func(f url.Values) { f.Set("scope", "admin") }), want{400, "invalid_scope"}},
		{"scope wider than the client's", app, with(func(f url.Values) { f.Set("scope", "delete") }), want{400, "invalid_scope"}},
		{"anonymous", "", exchangeForm(e.subjectToken(nil)), want{401, "invalid_client"}},
		{"actor not named by may_act", app, with(func(f url.Values) {
			f.Set("actor_token", e.subjectToken(func(c map[string]any) { c["sub"] = "mallory" }))
			f.Set("actor_token_type", tokenTypeJW)
		}), want{400, "invalid_request"}},
		{"invalid actor token", app, with(func(f url.Values) {
			f.Set("actor_token", "x.y.z")
			f.Set("actor_token_type", tokenTypeJW)
		}), want{400, "invalid_request"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post("/oauth2/token", tc.auth, tc.f)
			check(t, r, tc.want)
			if _, has := r.body["access_token"]; has {
				t.Error("error response carries a token")
			}
		})
	}
}

func TestTokenExchange(t *testing.T) {
	e := newEnv(t, "")
	t.Run("narrowed scope", func(t *testing.T) {
		f := exchangeForm(e.subjectToken(nil))
		f.Set("scope", "read")
		r := e.post("/oauth2/token", app, f)
		check(t, r, want{status: 200})
		if r.body["issued_token_type"] != tokenTypeAT || r.body["token_type"] != "Bearer" {
			t.Fatalf("response %s", r.raw)
		}
		c := claimsOf(t, r.body["access_token"].(string))
		if c["scope"] != "read" || c["sub"] != "alice" || c["aud"] != apiAud || c["iss"] != issuer || c["client_id"] != "app" {
			t.Fatalf("claims %v", c)
		}
	})
	t.Run("default scope is subject ∩ client", func(t *testing.T) {
		r := e.post("/oauth2/token", app, exchangeForm(e.subjectToken(func(c map[string]any) { c["scope"] = "read write other" })))
		check(t, r, want{status: 200})
		if r.body["scope"] != "read write" {
			t.Fatalf("scope %v, want the intersection", r.body["scope"])
		}
	})
	t.Run("lifetime clamped to the subject's", func(t *testing.T) {
		exp := time.Now().Unix() + 90
		r := e.post("/oauth2/token", app, exchangeForm(e.subjectToken(func(c map[string]any) { c["exp"] = exp })))
		check(t, r, want{status: 200})
		c := claimsOf(t, r.body["access_token"].(string))
		if got := int64(c["exp"].(float64)); got > exp {
			t.Fatalf("exp %d after the subject's %d", got, exp)
		}
		if in := r.body["expires_in"].(float64); in > 91 {
			t.Fatalf("expires_in %v", in)
		}
	})
	t.Run("resource selects the chain", func(t *testing.T) {
		f := exchangeForm(e.subjectToken(nil))
		f.Del("audience")
		f.Set("resource", "https://other.example")
		r := e.post("/oauth2/token", app, f)
		check(t, r, want{status: 200})
		if c := claimsOf(t, r.body["access_token"].(string)); c["aud"] != "https://other.example" {
			t.Fatalf("aud %v", c["aud"])
		}
	})
	t.Run("delegation with may_act nests act", func(t *testing.T) {
		subject := e.subjectToken(func(c map[string]any) {
			c["may_act"] = map[string]any{"sub": "svc-gateway", "iss": partnerIss}
			c["act"] = map[string]any{"sub": "svc-frontend"}
		})
		f := exchangeForm(subject)
		f.Set("actor_token", e.subjectToken(func(c map[string]any) { c["sub"] = "svc-gateway" }))
		f.Set("actor_token_type", tokenTypeJW)
		r := e.post("/oauth2/token", app, f)
		check(t, r, want{status: 200})
		c := claimsOf(t, r.body["access_token"].(string))
		wantAct := map[string]any{"sub": "svc-gateway", "iss": partnerIss, "act": map[string]any{"sub": "svc-frontend"}}
		if diff := cmp.Diff(wantAct, c["act"]); diff != "" {
			t.Fatalf("act (-want +got):\n%s", diff)
		}
	})
	t.Run("xml format", func(t *testing.T) {
		f := exchangeForm(e.subjectToken(nil))
		f.Set("format", "xml")
		r := e.post("/oauth2/token", app, f)
		check(t, r, want{status: 200})
		if !strings.Contains(r.raw, "<issued_token_type>"+tokenTypeAT+"</issued_token_type>") {
			t.Fatalf("xml %s", r.raw)
		}
	})
}

// TestExchangeIssuedTokenChecked: the endpoint checks what a chain issued
// even when the chain has no oauth policy step: a scope outside the grant
// or a token outliving the subject token is a server error, and nothing is
// handed out.
func TestExchangeIssuedTokenChecked(t *testing.T) {
	e := newEnv(t, "")
	for name, f := range map[string]url.Values{
		"scope outside the request": func() url.Values {
			f := exchangeForm(e.subjectToken(func(c map[string]any) { c["scope"] = "read" }))
			f.Set("audience", "https://unchecked.example")
			f.Set("scope", "write")
			return f
		}(),
		"lifetime past the subject's": func() url.Values {
			f := exchangeForm(e.subjectToken(func(c map[string]any) { c["exp"] = time.Now().Unix() + 60 }))
			f.Set("audience", "https://unchecked.example")
			return f
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			r := e.post("/oauth2/token", open, f)
			check(t, r, want{500, "server_error"})
			if _, has := r.body["access_token"]; has {
				t.Fatal("the refused token was handed out")
			}
		})
	}
}

// TestOpaqueAndPhantom exchanges a JWT for an opaque token, introspects
// it, and exchanges it back for a JWT (the phantom token pattern).
func TestOpaqueAndPhantom(t *testing.T) {
	e := newEnv(t, "")
	f := exchangeForm(e.subjectToken(nil))
	f.Set("audience", "https://opaque.example")
	f.Set("scope", "read")
	r := e.post("/oauth2/token", open, f)
	check(t, r, want{status: 200})
	handle := r.body["access_token"].(string)
	if strings.Contains(handle, ".") || len(handle) < 43 {
		t.Fatalf("not an opaque handle: %q", handle)
	}
	in := e.post("/oauth2/introspect", open, form("token", handle))
	check(t, in, want{status: 200})
	if in.body["active"] != true || in.body["scope"] != "read" || in.body["sub"] != "alice" || in.body["client_id"] != "open" {
		t.Fatalf("introspection %s", in.raw)
	}
	pf := form("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange",
		"subject_token", handle, "subject_token_type", tokenTypeAT, "audience", apiAud)
	r = e.post("/oauth2/token", open, pf)
	check(t, r, want{status: 200})
	c := claimsOf(t, r.body["access_token"].(string))
	if c["sub"] != "alice" || c["scope"] != "read" {
		t.Fatalf("phantom JWT claims %v", c)
	}
	// A client whose access_token_format is opaque gets handles from the
	// grants where chainsts is its authorization server, while a token
	// exchange issues what the chain issues: the gateway of the phantom
	// pattern gets its JWT.
	r = e.post("/oauth2/token", "gw:"+secret, form("grant_type", "client_credentials"))
	check(t, r, want{status: 200})
	gwHandle := r.body["access_token"].(string)
	if strings.Contains(gwHandle, ".") {
		t.Fatalf("gw got a JWT from client_credentials: %s", r.raw)
	}
	r = e.post("/oauth2/token", "gw:"+secret, form("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange",
		"subject_token", gwHandle, "subject_token_type", tokenTypeAT, "audience", apiAud))
	check(t, r, want{status: 200})
	if c := claimsOf(t, r.body["access_token"].(string)); c["sub"] != "gw" {
		t.Fatalf("phantom JWT for gw: %v", c)
	}
}

// TestJWTBearer covers RFC 7523 §2.1 and the §3.1 error paths.
func TestJWTBearer(t *testing.T) {
	e := newEnv(t, "")
	now := time.Now().Unix()
	bearer := func(assertion string, kv ...string) url.Values {
		f := form(append([]string{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion", assertion}, kv...)...)
		return f
	}
	ok := e.post("/oauth2/token", "", bearer(e.assertion(nil), "scope", "read"))
	check(t, ok, want{status: 200})
	c := claimsOf(t, ok.body["access_token"].(string))
	if c["sub"] != "user-42" || c["scope"] != "read" || c["iss"] != issuer {
		t.Fatalf("claims %v", c)
	}
	withClient := e.post("/oauth2/token", app, bearer(e.assertion(nil)))
	check(t, withClient, want{status: 200})
	if c := claimsOf(t, withClient.body["access_token"].(string)); c["client_id"] != "app" {
		t.Fatalf("client_id %v", c["client_id"])
	}
	replayed := e.assertion(nil)
	e.post("/oauth2/token", "", bearer(replayed))
	for _, tc := range []struct {
		name string
		auth string
		f    url.Values
		want want
	}{
		{"missing assertion", "", form("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), want{400, "invalid_request"}},
		{"replayed jti", "", bearer(replayed), want{400, "invalid_grant"}},
		{"untrusted issuer", "", bearer(e.idp.sign(t, nil, map[string]any{"iss": "https://evil", "sub": "user-1", "aud": issuer, "exp": now + 60, "jti": randID()})), want{400, "invalid_grant"}},
		{"bad signature", "", bearer(e.partner.sign(t, map[string]any{"alg": "ES256", "kid": "idp-1"}, map[string]any{"iss": idpIss, "sub": "user-1", "aud": issuer, "exp": now + 60, "jti": randID()})), want{400, "invalid_grant"}},
		{"expired", "", bearer(e.assertion(func(c map[string]any) { c["iat"], c["exp"] = now-600, now-300 })), want{400, "invalid_grant"}},
		{"wrong audience", "", bearer(e.assertion(func(c map[string]any) { c["aud"] = "https://other" })), want{400, "invalid_grant"}},
		{"subject not allowed", "", bearer(e.assertion(func(c map[string]any) { c["sub"] = "admin" })), want{400, "invalid_grant"}},
		{"iat too old", "", bearer(e.assertion(func(c map[string]any) { c["iat"] = now - 7200 })), want{400, "invalid_grant"}},
		{"lifetime too long", "", bearer(e.assertion(func(c map[string]any) { c["exp"] = now + 7200 })), want{400, "invalid_grant"}},
		{"no jti", "", bearer(e.assertion(func(c map[string]any) { delete(c, "jti") })), want{400, "invalid_grant"}},
		{"exp not a number", "", bearer(e.assertion(func(c map[string]any) { c["exp"] = "soon" })), want{400, "invalid_grant"}},
		{"access token as assertion", "", bearer(e.idp.sign(t, map[string]any{"alg": "ES256", "kid": "idp-1", "typ": "at+jwt"}, map[string]any{"iss": idpIss, "sub": "user-1", "aud": issuer, "exp": now + 60, "jti": randID()})), want{400, "invalid_grant"}},
		{"scope beyond the issuer's", "", bearer(e.assertion(nil), "scope", "admin"), want{400, "invalid_scope"}},
		{"bad client credentials", "app:wrong", bearer(e.assertion(nil)), want{401, "invalid_client"}},
		{"garbage", "", bearer("abc"), want{400, "invalid_grant"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post("/oauth2/token", tc.auth, tc.f)
			check(t, r, tc.want)
		})
	}
}

// TestConcurrentReplay sends the same assertion and the same client
// assertion 50 times at once: exactly one token each.
func TestConcurrentReplay(t *testing.T) {
	e := newEnv(t, "")
	for _, tc := range []struct {
		name string
		f    url.Values
	}{
		{"jwt bearer assertion", form("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion", e.assertion(nil))},
		{"client assertion", form("grant_type", "client_credentials",
			"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", e.clientAssertion(nil))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var issued, refused atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					r := e.post("/oauth2/token", "", tc.f)
					switch {
					case r.status == 200 && r.body["access_token"] != nil:
						issued.Add(1)
					case r.status == 400 || r.status == 401:
						refused.Add(1)
					default:
						t.Errorf("unexpected %d %s", r.status, r.raw)
					}
				}()
			}
			close(start)
			wg.Wait()
			if issued.Load() != 1 || refused.Load() != 49 {
				t.Fatalf("%d issued, %d refused; want 1 and 49", issued.Load(), refused.Load())
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, "  rate_limit: {per_client: 0.001, burst: 1}\n")
	check(t, e.post("/oauth2/token", app, form("grant_type", "client_credentials")), want{status: 200})
	check(t, e.post("/oauth2/token", app, form("grant_type", "client_credentials")), want{429, "slow_down"})
	// Another client has its own bucket.
	check(t, e.post("/oauth2/token", "narrow:"+secret, form("grant_type", "client_credentials")), want{status: 200})

	// The per-address bucket applies before authentication, whatever the
	// client and the endpoint.
	e = newEnv(t, "  rate_limit: {per_address: 0.001}\n")
	check(t, e.post("/oauth2/token", app, form("grant_type", "client_credentials")), want{status: 200})
	check(t, e.post("/oauth2/token", "narrow:"+secret, form("grant_type", "client_credentials")), want{429, "slow_down"})
	check(t, e.post("/oauth2/introspect", app, form("token", "x")), want{429, "slow_down"})
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t, "")
	get := func(path string) (map[string]any, string) {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m, resp.Header.Get("Cache-Control")
	}
	oa, cc := get("/.well-known/oauth-authorization-server")
	oidc, _ := get("/.well-known/openid-configuration")
	if diff := cmp.Diff(oa, oidc); diff != "" {
		t.Errorf("the two documents differ:\n%s", diff)
	}
	if !strings.HasPrefix(cc, "public") {
		t.Errorf("Cache-Control %q", cc)
	}
	wantFields := map[string]any{
		"issuer":                                issuer,
		"token_endpoint":                        issuer + "/oauth2/token",
		"introspection_endpoint":                issuer + "/oauth2/introspect",
		"revocation_endpoint":                   issuer + "/oauth2/revoke",
		"jwks_uri":                              issuer + "/jwks.json",
		"grant_types_supported":                 []any{"urn:ietf:params:oauth:grant-type:token-exchange", "urn:ietf:params:oauth:grant-type:jwt-bearer", "client_credentials"},
		"token_endpoint_auth_methods_supported": []any{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"},
	}
	for k, v := range wantFields {
		if diff := cmp.Diff(v, oa[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	algs, _ := oa["id_token_signing_alg_values_supported"].([]any)
	if !containsAny(algs, "ES256") {
		t.Errorf("id_token_signing_alg_values_supported %v lacks ES256", algs)
	}
	// The issuer in discovery and in issued tokens is the same string.
	r := e.post("/oauth2/token", app, form("grant_type", "client_credentials"))
	if c := claimsOf(t, r.body["access_token"].(string)); c["iss"] != oa["issuer"] {
		t.Errorf("token iss %v, discovery issuer %v", c["iss"], oa["issuer"])
	}
	// The JWKS the discovery document names verifies with the advertised
	// algorithm (the keys app serves it).
	jw, _ := http.Get(e.srv.URL + "/jwks.json")
	if jw.StatusCode != 200 {
		t.Fatalf("/jwks.json: %d", jw.StatusCode)
	}
	jw.Body.Close()
}

func containsAny(l []any, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// TestRunTimeClient authenticates a client created in the store while the
// server runs, and refuses it once deleted.
func TestRunTimeClient(t *testing.T) {
	e := newEnv(t, "")
	hash, err := clients.HashSecret(clients.Bcrypt, "runtime-secret", clients.HashOptions{BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	data, err := clients.EncodeClient(&clients.Client{ID: "late", Secret: hash, Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.st.CreateClient(ctx, &store.ClientRecord{ID: "late", Data: data, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r := e.post("/oauth2/token", "late:runtime-secret", form("grant_type", "client_credentials"))
	check(t, r, want{status: 200})
	if c := claimsOf(t, r.body["access_token"].(string)); c["client_id"] != "late" || c["scope"] != "read" {
		t.Fatalf("claims %v", c)
	}
	if err := e.st.DeleteClient(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	check(t, e.post("/oauth2/token", "late:runtime-secret", form("grant_type", "client_credentials")), want{401, "invalid_client"})
}

func clientAssertionForm(assertion string) url.Values {
	return form("grant_type", "client_credentials",
		"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", assertion)
}

// TestReload checks that the endpoints follow a configuration reload: the
// routes of the new runtime serve the new clients and issuer, and the store
// (same driver and path) keeps its state across the swap.
func TestReload(t *testing.T) {
	e := newEnv(t, "")
	r := e.post("/oauth2/token", "gw:"+secret, form("grant_type", "client_credentials"))
	check(t, r, want{status: 200})
	handle := r.body["access_token"].(string)

	b, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "scopes: [read], grant_types: [client_credentials]", "scopes: [read, write], grant_types: [client_credentials]", 1)
	cfg = strings.Replace(cfg, "issuer: "+issuer+"\n", "issuer: https://sts2.test\n", 1)
	if cfg == string(b) {
		t.Fatal("test configuration did not change")
	}
	if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.mgr.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(e.srv.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if meta["issuer"] != "https://sts2.test" {
		t.Fatalf("issuer after reload %v", meta["issuer"])
	}
	check(t, e.post("/oauth2/token", "narrow:"+secret, form("grant_type", "client_credentials", "scope", "write")), want{status: 200})
	if r := e.post("/oauth2/introspect", app, form("token", handle)); r.body["active"] != true {
		t.Fatalf("opaque token lost across reload: %s", r.raw)
	}
}

package oauth_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func inactive(t *testing.T, r result) {
	t.Helper()
	check(t, r, want{status: 200})
	if diff := cmp.Diff(map[string]any{"active": false}, r.body); diff != "" {
		t.Errorf("inactive answer must be exactly {\"active\":false} (-want +got):\n%s", diff)
	}
}

// TestIntrospection covers RFC 7662 §2 and SECURITY §2.9.
func TestIntrospection(t *testing.T) {
	e := newEnv(t, "")
	tok := e.post("/oauth2/token", app, form("grant_type", "client_credentials", "scope", "read")).body["access_token"].(string)

	t.Run("active JWT", func(t *testing.T) {
		r := e.post("/oauth2/introspect", app, form("token", tok))
		check(t, r, want{status: 200})
		for k, v := range map[string]any{"active": true, "scope": "read", "client_id": "app", "sub": "app", "iss": issuer, "token_type": "Bearer"} {
			if r.body[k] != v {
				t.Errorf("%s = %v, want %v (%s)", k, r.body[k], v, r.raw)
			}
		}
		if _, ok := r.body["exp"].(float64); !ok {
			t.Errorf("exp %v is not a number", r.body["exp"])
		}
	})
	t.Run("any authenticated client may introspect", func(t *testing.T) {
		r := e.post("/oauth2/introspect", open, form("token", tok))
		if r.body["active"] != true {
			t.Fatalf("%s", r.raw)
		}
	})
	now := time.Now().Unix()
	for name, token := range map[string]string{
		"unknown opaque": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"truncated JWT":  tok[:len(tok)-5],
		"garbage":        "%%%",
		"foreign JWT":    e.subjectToken(nil),
		"expired JWT": e.partner.sign(t, map[string]any{"alg": "ES256", "kid": "partner-1", "typ": "at+jwt"},
			map[string]any{"iss": issuer, "sub": "x", "exp": now - 100}),
	} {
		t.Run(name, func(t *testing.T) { inactive(t, e.post("/oauth2/introspect", app, form("token", token))) })
	}
	for _, tc := range []struct {
		name string
		auth string
		f    map[string]string
		want want
	}{
		{"no client authentication", "", map[string]string{"token": tok}, want{401, "invalid_client"}},
		{"wrong secret", "app:x", map[string]string{"token": tok}, want{401, "invalid_client"}},
		{"public client", "", map[string]string{"token": tok, "client_id": "public"}, want{401, "invalid_client"}},
		{"missing token", app, map[string]string{}, want{400, "invalid_request"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := form()
			for k, v := range tc.f {
				f.Set(k, v)
			}
			check(t, e.post("/oauth2/introspect", tc.auth, f), tc.want)
		})
	}
}

// TestRevocation covers RFC 7009 §2.
func TestRevocation(t *testing.T) {
	e := newEnv(t, "")
	issue := func(auth string) string {
		return e.post("/oauth2/token", auth, form("grant_type", "client_credentials")).body["access_token"].(string)
	}
	t.Run("JWT deny-listed until exp", func(t *testing.T) {
		tok := issue(app)
		check(t, e.post("/oauth2/revoke", app, form("token", tok, "token_type_hint", "access_token")), want{status: 200})
		inactive(t, e.post("/oauth2/introspect", app, form("token", tok)))
		// Revoking twice is fine.
		check(t, e.post("/oauth2/revoke", app, form("token", tok)), want{status: 200})
	})
	t.Run("opaque deleted", func(t *testing.T) {
		h := issue("gw:" + secret)
		if e.post("/oauth2/introspect", app, form("token", h)).body["active"] != true {
			t.Fatal("opaque token not active before revocation")
		}
		check(t, e.post("/oauth2/revoke", "gw:"+secret, form("token", h)), want{status: 200})
		inactive(t, e.post("/oauth2/introspect", app, form("token", h)))
	})
	t.Run("only the client it was issued to", func(t *testing.T) {
		tok := issue(app)
		check(t, e.post("/oauth2/revoke", open, form("token", tok)), want{400, "unauthorized_client"})
		if e.post("/oauth2/introspect", app, form("token", tok)).body["active"] != true {
			t.Fatal("another client revoked the token")
		}
		h := issue("gw:" + secret)
		check(t, e.post("/oauth2/revoke", app, form("token", h)), want{400, "unauthorized_client"})
	})
	t.Run("unknown token is not an error", func(t *testing.T) {
		check(t, e.post("/oauth2/revoke", app, form("token", "nope")), want{status: 200})
	})
	for _, tc := range []struct {
		name string
		auth string
		f    map[string]string
		want want
	}{
		{"no client authentication", "", map[string]string{"token": "x"}, want{401, "invalid_client"}},
		{"missing token", app, map[string]string{}, want{400, "invalid_request"}},
		{"unsupported token type", app, map[string]string{"token": "x", "token_type_hint": "saml2"}, want{400, "unsupported_token_type"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := form()
			for k, v := range tc.f {
				f.Set(k, v)
			}
			check(t, e.post("/oauth2/revoke", tc.auth, f), tc.want)
		})
	}
}

// TestStoreFailure injects a store outage: every path that needs state
// answers 503 temporarily_unavailable and issues nothing; JWT-only paths
// keep working.
func TestStoreFailure(t *testing.T) {
	e := newEnv(t, "")
	jwtTok := e.post("/oauth2/token", app, form("grant_type", "client_credentials")).body["access_token"].(string)
	handle := e.post("/oauth2/token", "gw:"+secret, form("grant_type", "client_credentials")).body["access_token"].(string)
	e.st.SetFailing(true)
	defer e.st.SetFailing(false)

	unavailable := want{503, "temporarily_unavailable"}
	for _, tc := range []struct {
		name string
		path string
		auth string
		f    func() map[string][]string
	}{
		{"jwt bearer (replay check)", "/oauth2/token", "", func() map[string][]string {
			return form("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion", e.assertion(nil))
		}},
		{"private_key_jwt (replay check)", "/oauth2/token", "", func() map[string][]string {
			return form("grant_type", "client_credentials", "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
				"client_assertion", e.clientAssertion(nil))
		}},
		{"opaque issue (per-client format)", "/oauth2/token", "gw:" + secret, func() map[string][]string {
			return form("grant_type", "client_credentials")
		}},
		{"opaque issue (chain)", "/oauth2/token", open, func() map[string][]string {
			f := exchangeForm(e.subjectToken(nil))
			f.Set("audience", "https://opaque.example")
			return f
		}},
		{"opaque in (phantom)", "/oauth2/token", open, func() map[string][]string {
			return form("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token", handle,
				"subject_token_type", tokenTypeAT, "audience", apiAud)
		}},
		{"introspect JWT (revocation check)", "/oauth2/introspect", app, func() map[string][]string { return form("token", jwtTok) }},
		{"introspect opaque", "/oauth2/introspect", app, func() map[string][]string { return form("token", handle) }},
		{"revoke JWT", "/oauth2/revoke", app, func() map[string][]string { return form("token", jwtTok) }},
		{"revoke opaque", "/oauth2/revoke", "gw:" + secret, func() map[string][]string { return form("token", handle) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(tc.path, tc.auth, tc.f())
			check(t, r, unavailable)
			if _, has := r.body["access_token"]; has {
				t.Fatal("a token was issued during a store outage")
			}
		})
	}
	t.Run("JWT-only paths keep working", func(t *testing.T) {
		before := e.st.Calls.Load()
		check(t, e.post("/oauth2/token", app, form("grant_type", "client_credentials")), want{status: 200})
		check(t, e.post("/oauth2/token", app, exchangeForm(e.subjectToken(nil))), want{status: 200})
		// Not only do they survive the outage: they never touch the store.
		if n := e.st.Calls.Load() - before; n != 0 {
			t.Errorf("the JWT-only paths made %d store calls", n)
		}
	})
	e.st.SetFailing(false)
	// Nothing was written while the store failed: the opaque handle is
	// still there and the JWT was not revoked.
	if r := e.post("/oauth2/introspect", app, form("token", handle)); r.body["active"] != true {
		t.Fatalf("opaque token lost: %s", r.raw)
	}
	if r := e.post("/oauth2/introspect", app, form("token", jwtTok)); r.body["active"] != true {
		t.Fatalf("JWT revoked during the outage: %s", r.raw)
	}
}

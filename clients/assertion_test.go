package clients_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chainsts/chainsts/clients"
	"github.com/chainsts/chainsts/keys"
	"github.com/chainsts/chainsts/store/memory"
	"github.com/chainsts/chainsts/store/storetest"
)

// signer mints compact JWS with one ES256 key.
type signer struct {
	key *keys.Key
	kid string
}

func newSigner(t testing.TB, kid string) *signer {
	t.Helper()
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.NewKey(keys.KeyOptions{Key: pk, Alg: "ES256", KID: kid})
	if err != nil {
		t.Fatal(err)
	}
	return &signer{key: k, kid: kid}
}

func (s *signer) public(t testing.TB) *keys.Key {
	t.Helper()
	k, err := keys.NewKey(keys.KeyOptions{Key: s.key.Public, Alg: "ES256", KID: s.kid})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (s *signer) jwk(t testing.TB) string {
	t.Helper()
	m, err := s.public(t).PublicJWK()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"keys": []any{m}})
	return string(b)
}

func enc(v any) string {
	var b []byte
	if s, ok := v.(string); ok {
		b = []byte(s)
	} else {
		b, _ = json.Marshal(v)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// sign builds a token from a header and claims; hdr nil means the usual
// ES256 header with kid.
func (s *signer) sign(t testing.TB, hdr map[string]any, claims any) string {
	t.Helper()
	if hdr == nil {
		hdr = map[string]any{"alg": "ES256", "kid": s.kid, "typ": "JWT"}
	}
	in := enc(hdr) + "." + enc(claims)
	sig, err := s.key.Sign([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

const aud = "https://sts.example.test"

func claims(mod func(m map[string]any)) map[string]any {
	now := time.Now().Unix()
	m := map[string]any{
		"iss": "app", "sub": "app", "aud": aud, "iat": now, "exp": now + 60,
		"jti": randID(),
	}
	if mod != nil {
		mod(m)
	}
	return m
}

func randID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestAssertionPolicy(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, "k1")
	other := newSigner(t, "k1")
	policy := func() *clients.AssertionPolicy {
		return &clients.AssertionPolicy{
			Issuer: "app", Subject: "app", Audiences: []string{aud, aud + "/oauth2/token"},
			Algorithms: []string{"ES256"}, Keys: clients.StaticKeys{s.public(t)},
			MaxLifetime: 5 * time.Minute, Replays: memory.New(), ReplayNamespace: "client_assertion",
		}
	}
	now := time.Now().Unix()
	hs := map[string]any{"alg": "HS256", "kid": "k1"}
	for _, tc := range []struct {
		name  string
		token func() string
		ok    bool
	}{
		{"valid", func() string { return s.sign(t, nil, claims(nil)) }, true},
		{"valid, aud array with token endpoint", func() string {
			return s.sign(t, nil, claims(func(m map[string]any) { m["aud"] = []string{"x", aud + "/oauth2/token"} }))
		}, true},
		{"valid, no typ", func() string { return s.sign(t, map[string]any{"alg": "ES256", "kid": "k1"}, claims(nil)) }, true},
		{"valid, no kid", func() string { return s.sign(t, map[string]any{"alg": "ES256"}, claims(nil)) }, true},
		{"alg none", func() string {
			return enc(map[string]any{"alg": "none"}) + "." + enc(claims(nil)) + "."
		}, false},
		{"alg not allowed", func() string { return s.sign(t, hs, claims(nil)) }, false},
		{"crit", func() string {
			return s.sign(t, map[string]any{"alg": "ES256", "kid": "k1", "crit": []string{"exp"}}, claims(nil))
		}, false},
		{"typ at+jwt", func() string {
			return s.sign(t, map[string]any{"alg": "ES256", "kid": "k1", "typ": "at+jwt"}, claims(nil))
		}, false},
		{"unknown kid", func() string { return s.sign(t, map[string]any{"alg": "ES256", "kid": "k2"}, claims(nil)) }, false},
		{"kid not a string", func() string { return s.sign(t, map[string]any{"alg": "ES256", "kid": 1}, claims(nil)) }, false},
		{"wrong key", func() string { return other.sign(t, nil, claims(nil)) }, false},
		{"jwk header ignored", func() string {
			m, _ := other.public(t).PublicJWK()
			return other.sign(t, map[string]any{"alg": "ES256", "jwk": m}, claims(nil))
		}, false},
		{"tampered payload", func() string {
			tok := s.sign(t, nil, claims(nil))
			p := strings.Split(tok, ".")
			return p[0] + "." + enc(claims(func(m map[string]any) { m["sub"] = "app" })) + "." + p[2]
		}, false},
		{"iss mismatch", func() string { return s.sign(t, nil, claims(func(m map[string]any) { m["iss"] = "evil" })) }, false},
		{"sub mismatch", func() string { return s.sign(t, nil, claims(func(m map[string]any) { m["sub"] = "other" })) }, false},
		{"aud missing", func() string { return s.sign(t, nil, claims(func(m map[string]any) { delete(m, "aud") })) }, false},
		{"aud foreign", func() string { return s.sign(t, nil, claims(func(m map[string]any) { m["aud"] = "https://other" })) }, false},
		{"exp missing", func() string { return s.sign(t, nil, claims(func(m map[string]any) { delete(m, "exp") })) }, false},
		{"exp string", func() string {
			return s.sign(t, nil, claims(func(m map[string]any) { m["exp"] = "9999999999" }))
		}, false},
		{"expired", func() string {
			return s.sign(t, nil, claims(func(m map[string]any) { m["iat"] = now - 300; m["exp"] = now - 120 }))
		}, false},
		{"nbf in the future", func() string { return s.sign(t, nil, claims(func(m map[string]any) { m["nbf"] = now + 600 })) }, false},
		{"iat in the future", func() string {
			return s.sign(t, nil, claims(func(m map[string]any) { m["iat"] = now + 600; m["exp"] = now + 660 }))
		}, false},
		{"iat too old", func() string {
			return s.sign(t, nil, claims(func(m map[string]any) { m["iat"] = now - 3600; m["exp"] = now + 60 }))
		}, false},
		{"lifetime too long", func() string { return s.sign(t, nil, claims(func(m map[string]any) { m["exp"] = now + 3600 })) }, false},
		{"id token", func() string { return s.sign(t, nil, claims(func(m map[string]any) { m["nonce"] = "n" })) }, false},
		{"jti missing", func() string { return s.sign(t, nil, claims(func(m map[string]any) { delete(m, "jti") })) }, false},
		{"duplicate claim", func() string {
			return s.sign(t, nil, `{"iss":"app","iss":"app","sub":"app","aud":"`+aud+`","exp":`+itoa(now+60)+`,"jti":"d"}`)
		}, false},
		{"four parts", func() string { return s.sign(t, nil, claims(nil)) + ".x" }, false},
		{"padding", func() string { return s.sign(t, nil, claims(nil)) + "=" }, false},
		{"oversize", func() string {
			return s.sign(t, nil, claims(func(m map[string]any) { m["pad"] = strings.Repeat("a", 17<<10) }))
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := policy().Verify(ctx, tc.token())
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if a.Subject != "app" || a.JTI == "" {
					t.Fatalf("assertion %+v", a)
				}
				return
			}
			var ae *clients.AssertionError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an AssertionError", err)
			}
		})
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestAssertionReplayAndStoreFailure(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, "k1")
	st := storetest.NewFailing(memory.New())
	p := &clients.AssertionPolicy{
		Issuer: "app", Subject: "app", Audiences: []string{aud}, Algorithms: []string{"ES256"},
		Keys: clients.StaticKeys{s.public(t)}, Replays: st, ReplayNamespace: "bearer",
	}
	tok := s.sign(t, nil, claims(nil))
	if _, err := p.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	_, err := p.Verify(ctx, tok)
	var ae *clients.AssertionError
	if !errors.As(err, &ae) {
		t.Fatalf("replay: got %v, want refusal", err)
	}
	st.SetFailing(true)
	_, err = p.Verify(ctx, s.sign(t, nil, claims(nil)))
	if errors.As(err, &ae) || !errors.Is(err, storetest.ErrInjected) {
		t.Fatalf("store failure: got %v, want the store error (not a refusal)", err)
	}
}

func TestParseJWKS(t *testing.T) {
	s := newSigner(t, "k1")
	ks, err := clients.ParseJWKS([]byte(s.jwk(t)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 1 || ks[0].Alg != "ES256" || ks[0].KID != "k1" {
		t.Fatalf("keys %v", ks)
	}
	for _, bad := range []string{`{}`, `{"keys":[]}`, `not json`, `{"keys":[{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}`} {
		if _, err := clients.ParseJWKS([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

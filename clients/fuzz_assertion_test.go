package clients_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chainsts/chainsts/clients"
	"github.com/chainsts/chainsts/store/memory"
)

// FuzzAssertion runs arbitrary strings through the assertion verifier (the
// parser every client assertion and JWT bearer assertion meets first): no
// panic, and nothing is accepted that the test key did not sign.
func FuzzAssertion(f *testing.F) {
	s := newSigner(f, "k1")
	now := time.Now().Unix()
	f.Add(s.sign(f, nil, map[string]any{"iss": "app", "sub": "app", "aud": aud, "exp": now + 60, "jti": "x"}))
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("....")
	p := &clients.AssertionPolicy{Issuer: "app", Subject: "app", Audiences: []string{aud}, Algorithms: []string{"ES256"},
		Keys: clients.StaticKeys{s.public(f)}, Replays: memory.New(), ReplayNamespace: "fuzz"}
	f.Fuzz(func(t *testing.T, tok string) {
		_, _, _ = clients.PeekIssuer(tok, 0)
		a, err := p.Verify(context.Background(), tok)
		if err == nil && a.Issuer != "app" {
			t.Fatalf("accepted %q", tok)
		}
		var ae *clients.AssertionError
		if err != nil && !errors.As(err, &ae) {
			t.Fatalf("non-refusal error %v", err)
		}
	})
}

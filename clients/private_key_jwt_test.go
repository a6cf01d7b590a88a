package clients_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chainsts/chainsts/clients"
	"github.com/chainsts/chainsts/store"
	"github.com/chainsts/chainsts/store/memory"
	"github.com/chainsts/chainsts/store/storetest"
	"github.com/chainsts/chainsts/sts"
)

type nohost struct{ dir string }

func (h nohost) App(string) (any, error) { return nil, errors.New("no apps") }
func (h nohost) ConfigDir() string       { return h.dir }
func (h nohost) DataDir() string         { return h.dir }

func pkjApp(t *testing.T, st store.Store, cs ...*clients.Client) *clients.App {
	t.Helper()
	dir := t.TempDir()
	a := &clients.App{Static: cs}
	if err := a.Provision(sts.ProvisionContext{Context: context.Background(), Host: nohost{dir}}); err != nil {
		t.Fatal(err)
	}
	a.RegisterMethod(&clients.PrivateKeyJWT{Audiences: []string{aud, aud + "/oauth2/token"}, Replays: st, ConfigDir: dir})
	return a
}

func assertionForm(tok string) url.Values {
	return url.Values{"client_assertion_type": {clients.AssertionTypeJWTBearer}, "client_assertion": {tok}}
}

func authenticate(a *clients.App, form url.Values) (*clients.Client, error) {
	r := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return a.Authenticate(r, form)
}

func TestPrivateKeyJWT(t *testing.T) {
	s := newSigner(t, "k1")
	st := memory.New()
	a := pkjApp(t, st,
		&clients.Client{ID: "app", AuthMethod: clients.MethodPrivateKeyJWT, JWKS: s.jwk(t)},
		&clients.Client{ID: "secret-app", AuthMethod: clients.MethodPost, Secret: bcryptHash(t)},
	)
	c, err := authenticate(a, assertionForm(s.sign(t, nil, claims(nil))))
	if err != nil || c.ID != "app" {
		t.Fatalf("valid assertion: %v %v", c, err)
	}
	withID := assertionForm(s.sign(t, nil, claims(nil)))
	withID.Set("client_id", "app")
	if _, err := authenticate(a, withID); err != nil {
		t.Fatalf("with matching client_id: %v", err)
	}

	for _, tc := range []struct {
		name string
		form url.Values
		code string
	}{
		{"replay", func() url.Values { f := assertionForm(s.sign(t, nil, claims(nil))); authenticate(a, f); return f }(), "invalid_client"},
		{"client_id mismatch", func() url.Values {
			f := assertionForm(s.sign(t, nil, claims(nil)))
			f.Set("client_id", "other")
			return f
		}(), "invalid_client"},
		{"unknown client", assertionForm(s.sign(t, nil, claims(func(m map[string]any) { m["iss"], m["sub"] = "nobody", "nobody" }))), "invalid_client"},
		{"client registered for a secret", assertionForm(s.sign(t, nil, claims(func(m map[string]any) { m["iss"], m["sub"] = "secret-app", "secret-app" }))), "invalid_client"},
		{"iss differs from sub", assertionForm(s.sign(t, nil, claims(func(m map[string]any) { m["iss"] = "someone" }))), "invalid_client"},
		{"wrong assertion type", url.Values{"client_assertion_type": {"urn:other"}, "client_assertion": {s.sign(t, nil, claims(nil))}}, "invalid_client"},
		{"type without assertion", url.Values{"client_assertion_type": {clients.AssertionTypeJWTBearer}}, "invalid_request"},
		{"assertion without type", url.Values{"client_assertion": {s.sign(t, nil, claims(nil))}}, "invalid_request"},
		{"garbage", assertionForm("not.a.jwt"), "invalid_client"},
		{"assertion and secret", func() url.Values {
			f := assertionForm(s.sign(t, nil, claims(nil)))
			f.Set("client_secret", "x")
			return f
		}(), "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := authenticate(a, tc.form)
			var se *sts.Error
			if !errors.As(err, &se) || se.Code != tc.code {
				t.Fatalf("got %v %v, want %s", c, err, tc.code)
			}
		})
	}
}

func bcryptHash(t *testing.T) string {
	t.Helper()
	h, err := clients.HashSecret(clients.Bcrypt, "s3cret-s3cret", clients.HashOptions{BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestPrivateKeyJWTConcurrentReplay sends one client assertion 50 times at
// once: exactly one request may authenticate.
func TestPrivateKeyJWTConcurrentReplay(t *testing.T) {
	s := newSigner(t, "k1")
	a := pkjApp(t, memory.New(), &clients.Client{ID: "app", AuthMethod: clients.MethodPrivateKeyJWT, JWKS: s.jwk(t)})
	form := assertionForm(s.sign(t, nil, claims(nil)))
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := authenticate(a, form)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, sts.ErrInvalidClient):
				refused.Add(1)
			default:
				t.Errorf("unexpected %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != 1 || refused.Load() != 49 {
		t.Fatalf("%d accepted, %d refused; want 1 and 49", ok.Load(), refused.Load())
	}
}

func TestPrivateKeyJWTStoreFailure(t *testing.T) {
	s := newSigner(t, "k1")
	st := storetest.NewFailing(memory.New())
	a := pkjApp(t, st, &clients.Client{ID: "app", AuthMethod: clients.MethodPrivateKeyJWT, JWKS: s.jwk(t)})
	st.SetFailing(true)
	_, err := authenticate(a, assertionForm(s.sign(t, nil, claims(nil))))
	if !errors.Is(err, sts.ErrTemporarilyUnavailable) {
		t.Fatalf("got %v, want temporarily_unavailable", err)
	}
}

func TestPrivateKeyJWTCertificateFile(t *testing.T) {
	s := newSigner(t, "")
	der, err := x509.MarshalPKIXPublicKey(s.key.Public)
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	dir := t.TempDir()
	path := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	a := pkjApp(t, st, &clients.Client{ID: "app", AuthMethod: clients.MethodPrivateKeyJWT, Certificate: "@" + path})
	if _, err := authenticate(a, assertionForm(s.sign(t, map[string]any{"alg": "ES256"}, claims(nil)))); err != nil {
		t.Fatal(err)
	}
}

func TestStoreSource(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	a := pkjApp(t, st)
	src := &clients.StoreSource{Store: st, App: a}
	a.AddSource(src)
	c := &clients.Client{ID: "runtime", AuthMethod: clients.MethodPost, Secret: bcryptHash(t),
		Scopes: []string{"read"}, AccessTokenFormat: "opaque", AccessTokenLifetime: 90 * time.Second}
	if err := src.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := src.Create(ctx, c); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate create: %v", err)
	}
	got, err := a.VerifySecret(ctx, "runtime", "s3cret-s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessTokenFormat != "opaque" || got.AccessTokenLifetime != 90*time.Second || got.Scopes[0] != "read" {
		t.Fatalf("stored client came back as %+v", got)
	}
	if _, err := a.VerifySecret(ctx, "runtime", "wrong"); !errors.Is(err, sts.ErrInvalidClient) {
		t.Fatalf("wrong secret: %v", err)
	}
	if err := st.DeleteClient(ctx, "runtime"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.VerifySecret(ctx, "runtime", "s3cret-s3cret"); !errors.Is(err, sts.ErrInvalidClient) {
		t.Fatalf("deleted client still authenticates: %v", err)
	}
}

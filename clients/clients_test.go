package clients

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/bcrypt"

	"github.com/chainsts/chainsts/clients/secrets"
	"github.com/chainsts/chainsts/sts"
)

type testHost struct{ dir string }

func (h testHost) App(string) (any, error) { return nil, errors.New("no apps in this test") }
func (h testHost) ConfigDir() string       { return h.dir }
func (h testHost) DataDir() string         { return h.dir }

func provision(t *testing.T, a *App) *App {
	t.Helper()
	if err := a.Provision(sts.ProvisionContext{Host: testHost{t.TempDir()}, Logger: hclog.NewNullLogger()}); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	return a
}

func bcryptHash(t *testing.T, s string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(s), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// testApp has one client per stored form.
func testApp(t *testing.T) *App {
	t.Helper()
	dir := t.TempDir()
	hashKey := secrets.NewKey()
	argon, err := HashSecret(Argon2id, "argon secret", HashOptions{Argon2Memory: 64, Argon2Time: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CLIENTS_TEST_PLAIN", "plain from env")
	t.Setenv("CLIENTS_TEST_HASHKEY", secrets.EncodeKey(hashKey))
	off := false
	a := &App{
		HashKey: "${env:CLIENTS_TEST_HASHKEY}",
		Static: []*Client{
			{ID: "demo", Secret: bcryptHash(t, "s3cr+t %/:é"), Debug: true},
			{ID: "post", Secret: bcryptHash(t, "post-secret"), AuthMethod: MethodPost},
			{ID: "gen", Secret: KeyedHash(hashKey, "generated-secret")},
			{ID: "argon", Secret: argon},
			{ID: "env", Secret: "${env:CLIENTS_TEST_PLAIN}"},
			{ID: "obf", Secret: secrets.Obfuscate("obf secret")},
			{ID: "off", Secret: bcryptHash(t, "off-secret"), Enabled: &off},
			{ID: "public", AuthMethod: MethodNone},
		},
	}
	if err := a.Provision(sts.ProvisionContext{Host: testHost{dir}, Logger: hclog.NewNullLogger()}); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	return a
}

func TestAuthenticate(t *testing.T) {
	a := testApp(t)
	tests := []struct {
		name     string
		query    string
		authz    string
		form     url.Values
		wantID   string
		wantCode string // sts.Error code; "" for success
		noCreds  bool
	}{
		{name: "basic url-encoded credentials", authz: basic("demo", "s3cr+t %/:é"), wantID: "demo"},
		{name: "basic not url-encoded plus is a space", authz: "Basic " + base64.StdEncoding.EncodeToString([]byte("demo:s3cr+t %/:é")), wantCode: "invalid_client"},
		{name: "basic with matching client_id in body", authz: basic("demo", "s3cr+t %/:é"), form: url.Values{"client_id": {"demo"}}, wantID: "demo"},
		{name: "basic with other client_id in body", authz: basic("demo", "s3cr+t %/:é"), form: url.Values{"client_id": {"gen"}}, wantCode: "invalid_request"},
		{name: "basic wrong secret", authz: basic("demo", "nope"), wantCode: "invalid_client"},
		{name: "basic unknown client", authz: basic("ghost", "nope"), wantCode: "invalid_client"},
		{name: "basic garbage", authz: "Basic !!!", wantCode: "invalid_client"},
		{name: "bearer is not client auth", authz: "Bearer abc", wantCode: "invalid_client"},
		{name: "post", form: url.Values{"client_id": {"post"}, "client_secret": {"post-secret"}}, wantID: "post"},
		{name: "post for a basic client", form: url.Values{"client_id": {"demo"}, "client_secret": {"s3cr+t %/:é"}}, wantCode: "invalid_client"},
		{name: "basic for a post client", authz: basic("post", "post-secret"), wantCode: "invalid_client"},
		{name: "post without client_id", form: url.Values{"client_secret": {"x"}}, wantCode: "invalid_request"},
		{name: "both basic and post", authz: basic("demo", "s3cr+t %/:é"), form: url.Values{"client_id": {"demo"}, "client_secret": {"s3cr+t %/:é"}}, wantCode: "invalid_request"},
		{name: "secret in query", query: "client_id=post&client_secret=post-secret", wantCode: "invalid_request"},
		{name: "client_id in query with basic", query: "client_id=demo", authz: basic("demo", "s3cr+t %/:é"), wantCode: "invalid_request"},
		{name: "repeated client_secret", form: url.Values{"client_id": {"post"}, "client_secret": {"post-secret", "post-secret"}}, wantCode: "invalid_request"},
		{name: "keyed hash", authz: basic("gen", "generated-secret"), wantID: "gen"},
		{name: "keyed hash wrong", authz: basic("gen", "generated-secreT"), wantCode: "invalid_client"},
		{name: "argon2id", authz: basic("argon", "argon secret"), wantID: "argon"},
		{name: "argon2id wrong", authz: basic("argon", "argon secreT"), wantCode: "invalid_client"},
		{name: "env reference", authz: basic("env", "plain from env"), wantID: "env"},
		{name: "obfuscated", authz: basic("obf", "obf secret"), wantID: "obf"},
		{name: "disabled", authz: basic("off", "off-secret"), wantCode: "invalid_client"},
		{name: "public client", form: url.Values{"client_id": {"public"}}, wantID: "public"},
		{name: "confidential client without secret", form: url.Values{"client_id": {"demo"}}, wantCode: "invalid_client"},
		{name: "public client cannot use basic", authz: basic("public", ""), wantCode: "invalid_client"},
		{name: "client_assertion without a method", form: url.Values{"client_assertion": {"x"}}, wantCode: "invalid_client"},
		{name: "nothing", noCreds: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/token?"+tt.query, nil)
			if tt.authz != "" {
				r.Header.Set("Authorization", tt.authz)
			}
			c, err := a.Authenticate(r, tt.form)
			switch {
			case tt.noCreds:
				if !errors.Is(err, ErrNoCredentials) {
					t.Fatalf("err = %v, want ErrNoCredentials", err)
				}
			case tt.wantCode != "":
				var se *sts.Error
				if !errors.As(err, &se) || se.Code != tt.wantCode {
					t.Fatalf("err = %v, want code %s", err, tt.wantCode)
				}
			default:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if c.ID != tt.wantID {
					t.Fatalf("client %q, want %q", c.ID, tt.wantID)
				}
			}
		})
	}
}

// TestUnknownAndWrongLookAlike checks that a caller cannot tell an unknown
// client from a wrong secret: same code, status and description.
func TestUnknownAndWrongLookAlike(t *testing.T) {
	a := testApp(t)
	check := func(id, secret string) *sts.Error {
		r := httptest.NewRequest(http.MethodPost, "/token", nil)
		r.Header.Set("Authorization", basic(id, secret))
		_, err := a.Authenticate(r, nil)
		var se *sts.Error
		if !errors.As(err, &se) {
			t.Fatalf("%s: %v", id, err)
		}
		return se
	}
	unknown, wrong, disabled := check("ghost", "x"), check("demo", "x"), check("off", "off-secret")
	for _, e := range []*sts.Error{wrong, disabled} {
		if e.Code != unknown.Code || e.Status != unknown.Status || e.Description != unknown.Description {
			t.Errorf("%+v differs from unknown client %+v", e, unknown)
		}
	}
	// Most clients here use bcrypt, so unknown clients pay a bcrypt
	// comparison too.
	if d, ok := a.dummy.(*slowVerifier); !ok || d.alg != Bcrypt {
		t.Errorf("dummy verifier = %T, want bcrypt", a.dummy)
	}
	// An unknown client's secret really goes through the dummy verifier
	// (the timing side of "indistinguishable").
	counter := &countingVerifier{verifier: a.dummy}
	a.dummy = counter
	check("ghost-2", "x")
	if counter.n != 1 {
		t.Errorf("unknown client: dummy verifier ran %d times, want 1", counter.n)
	}
}

// countingVerifier counts the verifications it forwards.
type countingVerifier struct {
	verifier
	n int
}

func (c *countingVerifier) verify(cache *verifyCache, id, secret string) bool {
	c.n++
	return c.verifier.verify(cache, id, secret)
}

func TestVerifyCache(t *testing.T) {
	a := testApp(t)
	ctx := t.Context()
	if _, err := a.VerifySecret(ctx, "demo", "wrong"); err == nil {
		t.Fatal("wrong secret accepted")
	}
	if n := len(a.cache.m); n != 0 {
		t.Fatalf("failure cached: %d entries", n)
	}
	if _, err := a.VerifySecret(ctx, "demo", "s3cr+t %/:é"); err != nil {
		t.Fatal(err)
	}
	if n := len(a.cache.m); n != 1 {
		t.Fatalf("success not cached: %d entries", n)
	}
	for k := range a.cache.m {
		if strings.Contains(string(k[:]), "s3cr") {
			t.Fatal("cache key holds the secret")
		}
	}
	// The cached success still answers only for the right secret.
	if _, err := a.VerifySecret(ctx, "demo", "wrong"); err == nil {
		t.Fatal("wrong secret accepted after a cached success")
	}
	if _, err := a.VerifySecret(ctx, "demo", "s3cr+t %/:é"); err != nil {
		t.Fatal(err)
	}
}

func TestProvisionErrors(t *testing.T) {
	other := KeyedHash(secrets.NewKey(), "x")
	tests := []struct {
		name    string
		clients []*Client
		want    string
	}{
		{"literal plain secret", []*Client{{ID: "a", Secret: "hunter2"}}, "must not be written in the configuration"},
		{"missing id", []*Client{{Secret: "$2a$04$abc"}}, "client id is required"},
		{"duplicate", []*Client{{ID: "a", AuthMethod: MethodNone}, {ID: "a", AuthMethod: MethodNone}}, "defined twice"},
		{"unknown method", []*Client{{ID: "a", AuthMethod: "magic"}}, "unknown auth_method"},
		{"none with secret", []*Client{{ID: "a", AuthMethod: MethodNone, Secret: "$2a$04$x"}}, "must not have a secret"},
		{"basic without secret", []*Client{{ID: "a"}}, "needs a secret"},
		{"bad bcrypt", []*Client{{ID: "a", Secret: "$2a$99$zz"}}, "malformed bcrypt"},
		{"bad argon", []*Client{{ID: "a", Secret: "$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA"}}, "argon2id"},
		{"keyed hash under another key", []*Client{{ID: "a", Secret: other}}, "hashed under hash key"},
		{"missing env", []*Client{{ID: "a", Secret: "${env:CHAINSTS_TEST_NOT_SET}"}}, "not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &App{Static: tt.clients}
			err := a.Provision(sts.ProvisionContext{Host: testHost{t.TempDir()}, Logger: hclog.NewNullLogger()})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			var ce *sts.ConfigError
			if !errors.As(err, &ce) || !strings.HasPrefix(ce.Path, "static[") {
				t.Fatalf("err %v is not a ConfigError with a path", err)
			}
		})
	}
}

func TestDefaultHashKeyInDataDir(t *testing.T) {
	dir := t.TempDir()
	a := &App{}
	if err := a.Provision(sts.ProvisionContext{Host: testHost{dir}, Logger: hclog.NewNullLogger()}); err != nil {
		t.Fatal(err)
	}
	k, err := a.HashKeyBytes()
	if err != nil {
		t.Fatal(err)
	}
	b := &App{Static: []*Client{{ID: "g", Secret: KeyedHash(k, "the-secret")}}}
	if err := b.Provision(sts.ProvisionContext{Host: testHost{dir}, Logger: hclog.NewNullLogger()}); err != nil {
		t.Fatalf("second app with the same data dir: %v", err)
	}
	if _, err := b.VerifySecret(t.Context(), "g", "the-secret"); err != nil {
		t.Fatal(err)
	}
}

func TestHashSecret(t *testing.T) {
	for _, alg := range []Algorithm{Bcrypt, Argon2id} {
		h, err := HashSecret(alg, "pw", HashOptions{BcryptCost: bcrypt.MinCost, Argon2Memory: 64, Argon2Time: 1})
		if err != nil {
			t.Fatal(err)
		}
		a := provision(t, &App{Static: []*Client{{ID: "c", Secret: h}}})
		if _, err := a.VerifySecret(t.Context(), "c", "pw"); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
		if _, err := a.VerifySecret(t.Context(), "c", "pW"); err == nil {
			t.Errorf("%s: wrong secret accepted", alg)
		}
	}
	if _, err := HashSecret("md5", "pw", HashOptions{}); err == nil {
		t.Error("md5 accepted")
	}
}

// TestVerifyCacheKeyIsHMAC checks the pooled MAC against a fresh
// HMAC-SHA-256 of the same fields, over repeated and concurrent calls, so
// a reused MAC that was not reset would show.
func TestVerifyCacheKeyIsHMAC(t *testing.T) {
	c := newVerifyCache(time.Minute)
	want := func(id, stored, secret string) [sha256.Size]byte {
		m := hmac.New(sha256.New, c.hkey)
		for _, s := range []string{id, stored, secret} {
			m.Write([]byte(s))
			m.Write([]byte{0})
		}
		var k [sha256.Size]byte
		copy(k[:], m.Sum(nil))
		return k
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				id, secret := fmt.Sprintf("client-%d", g), fmt.Sprintf("secret-%d", i)
				if got := c.key(id, "$2b$04$stored", secret); got != want(id, "$2b$04$stored", secret) {
					t.Errorf("key(%s, %s) differs from a fresh HMAC", id, secret)
					return
				}
			}
		}()
	}
	wg.Wait()
	if c.key("a", "b", "c") == c.key("a", "b", "d") {
		t.Error("different secrets share a key")
	}
}

package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

type host struct{ dir string }

func (h host) App(string) (any, error) { return nil, errors.New("no apps") }
func (h host) ConfigDir() string       { return h.dir }
func (h host) DataDir() string         { return filepath.Join(h.dir, "data") }

func provision(t *testing.T, dir, cfg string) (*App, error) {
	t.Helper()
	a := new(App)
	if err := yaml.UnmarshalWithOptions([]byte(cfg), a, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	err := a.Provision(sts.ProvisionContext{Context: context.Background(), Logger: hclog.NewNullLogger(), Host: host{dir}})
	t.Cleanup(func() { _ = a.Cleanup() })
	return a, err
}

func TestDevKeysReused(t *testing.T) {
	dir := t.TempDir()
	cfg := "stores:\n  default: {dev: true, public: true}\n"
	a, err := provision(t, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := a.Keystore("default")
	if len(ks.Keys()) != 2 || ks.SigningKey("ES256") == nil || ks.SigningKey("RS256") == nil {
		t.Fatalf("dev keys: %v", ks.Keys())
	}
	for _, f := range []string{DevES256File, DevRS256File} {
		fi, err := os.Stat(filepath.Join(dir, "data", "keys", "default", f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v mode %v", f, err, fi.Mode())
		}
	}
	kid := ks.SigningKey("ES256").KID
	b, _ := provision(t, dir, cfg)
	ks2, _ := b.Keystore("default")
	if ks2.SigningKey("ES256").KID != kid {
		t.Fatal("dev key regenerated on restart")
	}
}

func TestLoosePermissions(t *testing.T) {
	dir := t.TempDir()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p := filepath.Join(dir, "keys", "a.pem")
	os.MkdirAll(filepath.Dir(p), 0o700)
	if err := WritePrivateKeyPEM(p, k); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o644)
	if _, err := provision(t, dir, "stores:\n  s: {dir: keys}\n"); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Fatalf("loose permissions accepted: %v", err)
	}
	if _, err := provision(t, dir, "file_permissions: warn\nstores:\n  s: {dir: keys}\n"); err != nil {
		t.Fatalf("warn mode: %v", err)
	}
}

func TestWeakKeys(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := NewKey(KeyOptions{Key: small, Alg: "RS256"}); !errors.Is(err, ErrWeakKey) {
		t.Fatalf("RSA-1024: %v", err)
	}
	k, err := NewKey(KeyOptions{Key: small, Alg: "RS256", AllowWeak: true})
	var w *WeakKeyWarning
	if !errors.As(err, &w) || k.CanSign() {
		t.Fatalf("weak key under warn: err %v, can sign %v", err, k != nil && k.CanSign())
	}
	if _, err := NewKey(KeyOptions{Key: []byte("short"), Alg: "HS256"}); !errors.Is(err, ErrWeakKey) {
		t.Fatalf("short secret: %v", err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if _, err := NewKey(KeyOptions{Key: p224}); err == nil {
		t.Fatal("P-224 accepted")
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := NewKey(KeyOptions{Key: p256, Alg: "ES384"}); err == nil {
		t.Fatal("P-256 key bound to ES384")
	}
	if _, err := NewKey(KeyOptions{Key: p256, Alg: "none"}); err == nil {
		t.Fatal("alg none accepted")
	}
}

func TestJWKSNoPrivateParts(t *testing.T) {
	dir := t.TempDir()
	a, err := provision(t, dir, `
jwks_max_age: 2m
stores:
  pub: {dev: true, public: true, secrets: {h: {alg: HS256, value: "0123456789abcdef0123456789abcdef"}}}
  priv: {dev: true}
`)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.HTTPRoutes()["GET /jwks.json"].ServeHTTP(rec, httptest.NewRequest("GET", "/jwks.json", nil))
	if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=120" {
		t.Errorf("Cache-Control = %q", cc)
	}
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("published %d keys, want the 2 asymmetric keys of the public store", len(set.Keys))
	}
	for _, k := range set.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, has := k[private]; has {
				t.Fatalf("private member %q published: %v", private, k)
			}
		}
		if k["kid"] == "" || k["alg"] == "" || k["use"] != "sig" {
			t.Fatalf("key without kid/alg/use: %v", k)
		}
	}
}

// TestThumbprintRFC7638 checks the kid derivation against RFC 7638 §3.1.
func TestThumbprintRFC7638(t *testing.T) {
	jwk := `{"kty":"RSA","e":"AQAB","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}`
	lk, err := ParseJWK([]byte(jwk))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Thumbprint(lk.Key)
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("thumbprint %s, want %s", got, want)
	}
}

// hsmSigner stands in for a hardware or KMS signer: only crypto.Signer,
// no access to the private key.
type hsmSigner struct {
	k     *ecdsa.PrivateKey
	calls int
}

func (s *hsmSigner) Public() crypto.PublicKey { return &s.k.PublicKey }
func (s *hsmSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.calls++
	return s.k.Sign(r, digest, opts)
}

func TestExternalSigner(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	s := &hsmSigner{k: priv}
	k, err := NewKey(KeyOptions{Key: crypto.Signer(s)})
	if err != nil {
		t.Fatal(err)
	}
	if k.Alg != "ES384" || k.Private != nil || !k.CanSign() {
		t.Fatalf("external signer key: alg %s private %v", k.Alg, k.Private != nil)
	}
	in := []byte("header.payload")
	sig, err := k.Sign(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 96 || s.calls != 1 {
		t.Fatalf("signature %d bytes (want raw r||s of 96), %d signer calls", len(sig), s.calls)
	}
	if err := k.VerifyBytes("ES384", in, sig); err != nil {
		t.Fatal(err)
	}
}

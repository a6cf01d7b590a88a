package jwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/keys"
	"github.com/chainsts/chainsts/sts"
)

// testHost is a minimal sts.Host: it provisions apps from YAML sections.
type testHost struct {
	t        testing.TB
	dir      string
	sections map[string]string
	mu       sync.Mutex
	apps     map[string]any
}

func newHost(t testing.TB, sections map[string]string) *testHost {
	t.Helper()
	return &testHost{t: t, dir: t.TempDir(), sections: sections, apps: map[string]any{}}
}

func (h *testHost) App(name string) (any, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if a, ok := h.apps[name]; ok {
		return a, nil
	}
	if a, ok := h.apps["fixed:"+name]; ok {
		return a, nil
	}
	info, ok := sts.GetApp(name)
	if !ok {
		return nil, fmt.Errorf("no app %q", name)
	}
	a := info.New()
	if s := h.sections[name]; s != "" {
		if err := yaml.UnmarshalWithOptions([]byte(s), a, yaml.Strict()); err != nil {
			return nil, err
		}
	}
	if p, ok := a.(sts.Provisioner); ok {
		if err := p.Provision(sts.ProvisionContext{Context: context.Background(), Logger: hclog.NewNullLogger(), Host: h}); err != nil {
			return nil, err
		}
	}
	if c, ok := a.(sts.CleanerUpper); ok {
		h.t.Cleanup(func() { _ = c.Cleanup() })
	}
	h.apps[name] = a
	return a, nil
}

func (h *testHost) ConfigDir() string { return h.dir }
func (h *testHost) DataDir() string   { return filepath.Join(h.dir, "data") }

// newStep decodes YAML step config strictly and provisions it in mode.
func newStep(t testing.TB, h *testHost, mode sts.Mode, config string) (*Module, error) {
	t.Helper()
	m := new(Module)
	if err := yaml.UnmarshalWithOptions([]byte(config), m, yaml.Strict()); err != nil {
		return nil, err
	}
	if err := m.Provision(sts.ProvisionContext{Context: context.Background(), Logger: hclog.NewNullLogger(), Host: h, Chain: "test", Step: string(mode), Mode: mode}); err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

func mustStep(t testing.TB, h *testHost, mode sts.Mode, config string) *Module {
	t.Helper()
	m, err := newStep(t, h, mode, config)
	if err != nil {
		t.Fatalf("provision %s step: %v", mode, err)
	}
	return m
}

var (
	testKeysOnce sync.Once
	testRSA      *rsa.PrivateKey
	testRSA2     *rsa.PrivateKey
	testEC256    *ecdsa.PrivateKey
	testEC384    *ecdsa.PrivateKey
	testEC521    *ecdsa.PrivateKey
	testEd       ed25519.PrivateKey
)

func genTestKeys() {
	testKeysOnce.Do(func() {
		testRSA, _ = rsa.GenerateKey(rand.Reader, 2048)
		testRSA2, _ = rsa.GenerateKey(rand.Reader, 2048)
		testEC256, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		testEC384, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		testEC521, _ = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
		_, testEd, _ = ed25519.GenerateKey(rand.Reader)
	})
}

// writeKeyDir writes the shared test keys into dir as PEM files with mode
// 0600 and returns the YAML of a keystore section "sig" over them, with
// labels bound to every algorithm under test.
func writeKeyDir(t testing.TB, dir string) {
	t.Helper()
	genTestKeys()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]any{
		"rs256": testRSA, "rs384": testRSA, "rs512": testRSA, "ps256": testRSA, "ps384": testRSA, "ps512": testRSA,
		"es256": testEC256, "es384": testEC384, "es512": testEC521, "eddsa": testEd, "other": testRSA2,
	} {
		if err := keys.WritePrivateKeyPEM(filepath.Join(dir, name+".pem"), k); err != nil {
			t.Fatal(err)
		}
	}
}

const testSecret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// keystoreYAML is the keystores section the tests use: key files in
// <config>/keys, public, each label bound to its algorithm.
const keystoreYAML = `
stores:
  sig:
    dir: keys
    public: true
    keys:
      rs256: {alg: RS256}
      rs384: {alg: RS384}
      rs512: {alg: RS512}
      ps256: {alg: PS256}
      ps384: {alg: PS384}
      ps512: {alg: PS512}
      other: {alg: RS256}
    secrets:
      hs256: {alg: HS256, value: "` + testSecret + `"}
      hs384: {alg: HS384, value: "` + testSecret + `"}
      hs512: {alg: HS512, value: "` + testSecret + `"}
`

// stdHost returns a host with the standard test keystore.
func stdHost(t testing.TB) *testHost {
	t.Helper()
	h := newHost(t, map[string]string{"keystores": keystoreYAML})
	writeKeyDir(t, filepath.Join(h.dir, "keys"))
	return h
}

func keystoreOf(t testing.TB, h *testHost) *keys.Keystore {
	t.Helper()
	a, err := sts.HostApp[*keys.App](h, "keystores")
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := a.Keystore("sig")
	return ks
}

// issueCall runs an issue step over u and returns the token.
func issueCall(t testing.TB, m *Module, u *sts.STSUU) string {
	t.Helper()
	if u == nil {
		u = sts.NewSTSUU()
	}
	c := &sts.Call{Request: &sts.Request{}, User: u}
	if err := m.IssueToken(context.Background(), c); err != nil {
		t.Fatalf("issue: %v", err)
	}
	return string(c.Output.Data)
}

// validateCall runs a validate step over tok.
func validateCall(m *Module, tok string) (*sts.STSUU, error) {
	c := &sts.Call{Request: &sts.Request{Base: &sts.Token{Type: sts.TokenTypeJWT, Data: []byte(tok)}}, User: sts.NewSTSUU()}
	err := m.ValidateToken(context.Background(), c)
	return c.User, err
}

var _ = time.Now

func mkdirFor(path string) error { return os.MkdirAll(filepath.Dir(path), 0o700) }

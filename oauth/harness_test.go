package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/chains"
	"github.com/chainsts/chainsts/clients"
	"github.com/chainsts/chainsts/keys"
	_ "github.com/chainsts/chainsts/modules/jwt"
	_ "github.com/chainsts/chainsts/modules/opaque"
	_ "github.com/chainsts/chainsts/oauth"
	"github.com/chainsts/chainsts/server"
	"github.com/chainsts/chainsts/store"
	"github.com/chainsts/chainsts/store/memory"
	"github.com/chainsts/chainsts/store/storetest"
)

// The "failing" store driver wraps a memory store that a test can make
// fail, as an outage of the real store would.
var (
	failingMu sync.Mutex
	failing   = map[string]*storetest.Failing{}
)

func init() {
	store.RegisterDriver("failing", func(_ context.Context, name string) (store.Store, error) {
		failingMu.Lock()
		defer failingMu.Unlock()
		f, ok := failing[name]
		if !ok {
			f = storetest.NewFailing(memory.New())
			failing[name] = f
		}
		return f, nil
	})
}

const (
	issuer      = "https://sts.test"
	partnerIss  = "https://partner.test"
	idpIss      = "https://idp.test"
	apiAud      = "https://api.example"
	secret      = "correct-horse-battery-staple"
	tokenTypeJW = "urn:ietf:params:oauth:token-type:jwt"
	tokenTypeAT = "urn:ietf:params:oauth:token-type:access_token"
)

// ecKey is a test signing key with its public PEM and JWKS.
type ecKey struct {
	key *keys.Key
	kid string
}

func newECKey(t testing.TB, kid string) *ecKey {
	t.Helper()
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.NewKey(keys.KeyOptions{Key: pk, Alg: "ES256", KID: kid})
	if err != nil {
		t.Fatal(err)
	}
	return &ecKey{key: k, kid: kid}
}

func (k *ecKey) publicPEM(t testing.TB) []byte {
	der, err := x509.MarshalPKIXPublicKey(k.key.Public)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func (k *ecKey) jwks(t testing.TB) string {
	pub, err := keys.NewKey(keys.KeyOptions{Key: k.key.Public, Alg: "ES256", KID: k.kid})
	if err != nil {
		t.Fatal(err)
	}
	m, err := pub.PublicJWK()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"keys": []any{m}})
	return string(b)
}

func b64json(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sign makes a compact ES256 JWS.
func (k *ecKey) sign(t testing.TB, hdr map[string]any, claims map[string]any) string {
	t.Helper()
	if hdr == nil {
		hdr = map[string]any{"alg": "ES256", "typ": "JWT"}
		if k.kid != "" {
			hdr["kid"] = k.kid
		}
	}
	in := b64json(hdr) + "." + b64json(claims)
	sig, err := k.key.Sign([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func randID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// env is a running configuration behind an httptest server.
type env struct {
	t        testing.TB
	srv      *httptest.Server
	mgr      *chains.Manager
	partner  *ecKey // signs subject and actor tokens (trusted by the exchange chain)
	idp      *ecKey // signs JWT bearer assertions
	pkj      *ecKey // the private_key_jwt client's key
	st       *storetest.Failing
	storeKey string
	cfgPath  string
}

// newEnv writes the test configuration and starts a server on it.
func newEnv(t testing.TB, extraOAuth string) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, partner: newECKey(t, "partner-1"), idp: newECKey(t, "idp-1"), pkj: newECKey(t, "pkj-1")}
	if err := os.WriteFile(filepath.Join(dir, "partner.pem"), e.partner.publicPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	hash, err := clients.HashSecret(clients.Bcrypt, secret, clients.HashOptions{BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	e.storeKey = fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
	jwtIssue := `{id: out, module: jwt, mode: issue, config: {profile: access_token, iss: ` + issuer + `, token_type: ` + tokenTypeAT + `, signing: {keystore: internal, alg: ES256}, lifetime: 10m, allow_reserved: [act]}}`
	rateLimit := "  rate_limit: {disabled: true}"
	if strings.Contains(extraOAuth, "rate_limit") {
		rateLimit = ""
	}
	ccIssue := strings.Replace(jwtIssue, "lifetime: 10m", "lifetime: 10m, aud: ["+apiAud+"]", 1)
	cfg := `
data_dir: data
server: {admin_listen: "off"}
store: {driver: failing, path: "` + e.storeKey + `", cleanup_interval: 0s}
keystores:
  stores:
    internal: {dev: true, public: true}
    partner: {files: [partner.pem], keys: {partner: {alg: ES256, kid: partner-1}}}
clients:
  static:
    - {id: app, secret: '` + hash + `', scopes: [read, write, admin], audiences: [` + apiAud + `, https://other.example]}
    - {id: open, secret: '` + hash + `', scopes: [read, write]}
    - {id: post, secret: '` + hash + `', auth_method: client_secret_post}
    - {id: gw, secret: '` + hash + `', access_token_format: opaque}
    - {id: narrow, secret: '` + hash + `', scopes: [read], grant_types: [client_credentials]}
    - {id: public, auth_method: none}
    - {id: pkj, auth_method: private_key_jwt, jwks: '` + e.pkj.jwks(t) + `'}
oauth:
  issuer: ` + issuer + `
` + rateLimit + `
  jwt_bearer:
    issuers:
      - issuer: ` + idpIss + `
        jwks: '` + e.idp.jwks(t) + `'
        algorithms: [ES256]
        subjects: ["REGEXP:(user-[0-9]+)"]
        scopes: [read, write]
        max_lifetime: 10m
` + extraOAuth + `
chains:
  - name: client-credentials
    steps:
      - {id: in, module: oauth, mode: validate}
      - {id: policy, module: oauth, mode: map}
      - ` + ccIssue + `
    lookup: {request_type: issue, token_type: urn:ietf:params:oauth:grant-type:client_credentials}
  - name: jwt-bearer
    steps:
      - {id: in, module: oauth, mode: validate}
      - {id: policy, module: oauth, mode: map}
      - ` + ccIssue + `
    lookup: {request_type: issue, issuer: ` + idpIss + `, token_type: ` + tokenTypeJW + `}
  - name: exchange-partner
    steps:
      - {id: in, module: jwt, mode: validate, config: {issuers: [{iss: ` + partnerIss + `, keystore: partner}], algorithms: [ES256]}}
      - {id: policy, module: oauth, mode: map}
      - ` + jwtIssue + `
    lookup: {request_type: exchange, token_type: ` + tokenTypeJW + `, applies_to: "REGEXP:(https://(api|other)\\.example)"}
  # No oauth policy step and an issue step that may outlive the subject:
  # what the endpoint's own checks on the issued token are for.
  - name: exchange-unchecked
    steps:
      - {id: in, module: jwt, mode: validate, config: {issuers: [{iss: ` + partnerIss + `, keystore: partner}], algorithms: [ES256]}}
      - ` + strings.Replace(jwtIssue, "lifetime: 10m", "lifetime: 10m, extend_lifetime: true", 1) + `
    lookup: {request_type: exchange, token_type: ` + tokenTypeJW + `, applies_to: https://unchecked.example}
  - name: exchange-opaque-out
    steps:
      - {id: in, module: jwt, mode: validate, config: {issuers: [{iss: ` + partnerIss + `, keystore: partner}], algorithms: [ES256]}}
      - {id: policy, module: oauth, mode: map}
      - {id: out, module: opaque, mode: issue}
    lookup: {request_type: exchange, token_type: ` + tokenTypeJW + `, applies_to: https://opaque.example}
  - name: phantom
    steps:
      - {id: in, module: opaque, mode: validate}
      - {id: policy, module: oauth, mode: map}
      - ` + jwtIssue + `
    lookup: {request_type: exchange, token_type: ` + tokenTypeAT + `}
  - name: actor
    steps:
      - {id: in, module: jwt, mode: validate, config: {issuers: [{iss: ` + partnerIss + `, keystore: partner}], algorithms: [ES256]}}
    lookup: {request_type: validate, applies_to: urn:chainsts:oauth:actor}
  - name: introspect
    steps:
      - {id: in, module: jwt, mode: validate, config: {profile: access_token, issuers: [{iss: ` + issuer + `, keystore: internal}], algorithms: [ES256]}}
    lookup: {request_type: validate, applies_to: ` + issuer + `, token_type: ` + tokenTypeAT + `}
`
	path := filepath.Join(dir, "chainsts.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e.cfgPath = path
	log := hclog.NewNullLogger()
	if testing.Verbose() {
		log = hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: os.Stderr})
	}
	mgr, err := chains.NewManager(context.Background(), path, chains.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	e.mgr = mgr
	s, err := server.New(server.Options{Runtimes: server.FromManager(mgr), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(s)
	t.Cleanup(func() {
		e.srv.Close()
		mgr.Close()
	})
	failingMu.Lock()
	e.st = failing[e.storeKey]
	failingMu.Unlock()
	return e
}

// result is one HTTP answer, decoded.
type result struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// post sends a form to path; auth is "id:secret" for Basic, "" for none.
func (e *env) post(path, auth string, form url.Values) result {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != "" {
		id, sec, _ := strings.Cut(auth, ":")
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(sec))
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) result {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &r.body); err != nil {
			e.t.Fatalf("response is not JSON: %v: %s", err, b)
		}
	}
	return r
}

// subjectToken is a partner-signed JWT for token exchange.
func (e *env) subjectToken(mod func(map[string]any)) string {
	now := time.Now().Unix()
	c := map[string]any{"iss": partnerIss, "sub": "alice", "aud": issuer, "iat": now, "exp": now + 1800,
		"jti": randID(), "scope": "read write"}
	if mod != nil {
		mod(c)
	}
	return e.partner.sign(e.t, nil, c)
}

// assertion is an idp-signed JWT bearer assertion.
func (e *env) assertion(mod func(map[string]any)) string {
	now := time.Now().Unix()
	c := map[string]any{"iss": idpIss, "sub": "user-42", "aud": issuer + "/oauth2/token", "iat": now, "exp": now + 300, "jti": randID()}
	if mod != nil {
		mod(c)
	}
	return e.idp.sign(e.t, nil, c)
}

// clientAssertion is the pkj client's private_key_jwt assertion.
func (e *env) clientAssertion(mod func(map[string]any)) string {
	now := time.Now().Unix()
	c := map[string]any{"iss": "pkj", "sub": "pkj", "aud": issuer + "/oauth2/token", "iat": now, "exp": now + 60, "jti": randID()}
	if mod != nil {
		mod(c)
	}
	return e.pkj.sign(e.t, nil, c)
}

// claimsOf decodes a JWT's payload without verifying it (tests verify
// signatures separately where it matters).
func claimsOf(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func exchangeForm(subject string) url.Values {
	return url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {subject},
		"subject_token_type": {tokenTypeJW},
		"audience":           {apiAud},
	}
}

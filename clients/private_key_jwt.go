package clients

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chainsts/chainsts/keys"
	"github.com/chainsts/chainsts/store"
	"github.com/chainsts/chainsts/sts"
)

// AssertionTypeJWTBearer is the client_assertion_type of RFC 7523 §2.2.
const AssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// DefaultAssertionAlgorithms are the algorithms client assertions may use
// unless configured otherwise: asymmetric only (a shared-secret assertion
// is client_secret_jwt, a different method).
var DefaultAssertionAlgorithms = []string{"ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA"}

// PrivateKeyJWT is the private_key_jwt client authentication method (RFC
// 7523 §2.2, OIDC Core §9): the client signs a short-lived JWT with a key
// it registered (jwks, jwks_uri or certificate), whose iss and sub are its
// client id, whose aud identifies this server, and whose jti is accepted
// once. The component that owns the endpoints (the oauth app) builds it
// and registers it with App.RegisterMethod.
type PrivateKeyJWT struct {
	// Audiences are the aud values that identify this server: the issuer
	// identifier and the endpoint URLs assertions are sent to.
	Audiences []string
	// Algorithms is the allow-list (default DefaultAssertionAlgorithms).
	Algorithms []string
	// MaxLifetime bounds exp - iat (default 5 minutes); IATWindow bounds
	// how old iat may be (default 30 minutes).
	MaxLifetime time.Duration
	IATWindow   time.Duration
	// Replays records each assertion's jti (required).
	Replays store.Replays
	// Keys fetches jwks_uri key sets; nil refuses clients that use one.
	Keys *keys.App
	// ConfigDir resolves relative @file references in jwks and
	// certificate.
	ConfigDir string

	cache sync.Map // client id → *clientKeys
}

type clientKeys struct {
	fp   [32]byte
	keys AssertionKeys
	err  error
}

// Name implements Method.
func (*PrivateKeyJWT) Name() string { return MethodPrivateKeyJWT }

// Present implements Method: a client_assertion or client_assertion_type
// parameter means the client chose assertion authentication.
func (*PrivateKeyJWT) Present(_ *http.Request, form url.Values) bool {
	return form.Has("client_assertion") || form.Has("client_assertion_type")
}

// Authenticate implements Method (RFC 7523 §3, RFC 7521 §4.2).
func (m *PrivateKeyJWT) Authenticate(ctx context.Context, a *App, _ *http.Request, form url.Values) (*Client, error) {
	if t := form.Get("client_assertion_type"); t != AssertionTypeJWTBearer {
		if t == "" {
			return nil, sts.ErrInvalidRequest.WithDescription("client_assertion_type is required with client_assertion")
		}
		return nil, sts.ErrInvalidClient.WithCause(fmt.Errorf("unsupported client_assertion_type %q", t))
	}
	raw := form.Get("client_assertion")
	if raw == "" {
		return nil, sts.ErrInvalidRequest.WithDescription("client_assertion is required with client_assertion_type")
	}
	iss, sub, err := PeekIssuer(raw, 0)
	if err != nil {
		return nil, sts.ErrInvalidClient.WithCause(err)
	}
	if sub == "" || iss != sub {
		return nil, sts.ErrInvalidClient.WithCause(fmt.Errorf("client assertion iss %q and sub %q must both be the client id", iss, sub))
	}
	if id := form.Get("client_id"); id != "" && id != sub {
		return nil, sts.ErrInvalidClient.WithCause(fmt.Errorf("client_id %q does not match the client assertion's sub %q", id, sub))
	}
	c, err := a.Lookup(ctx, sub)
	if err != nil {
		return nil, sts.ErrTemporarilyUnavailable.WithCause(fmt.Errorf("looking up client %q: %w", sub, err))
	}
	if c == nil {
		return nil, invalidClient(sub, "unknown client (client assertion)")
	}
	if c.AuthMethod != MethodPrivateKeyJWT {
		return nil, invalidClient(c.ID, "client assertion from a client not registered for private_key_jwt")
	}
	ks, err := m.keysFor(c)
	if err != nil {
		return nil, invalidClient(c.ID, "client keys unusable: "+err.Error())
	}
	algs := m.Algorithms
	if len(algs) == 0 {
		algs = DefaultAssertionAlgorithms
	}
	maxLife := m.MaxLifetime
	if maxLife == 0 {
		maxLife = 5 * time.Minute
	}
	if m.Replays == nil {
		return nil, sts.ErrServerError.WithCause(errors.New("private_key_jwt without a replay store"))
	}
	p := &AssertionPolicy{
		Issuer: c.ID, Subject: c.ID, Audiences: m.Audiences, Algorithms: algs, Keys: ks,
		MaxLifetime: maxLife, IATWindow: m.IATWindow,
		Replays: m.Replays, ReplayNamespace: "client_assertion",
	}
	if _, err := p.Verify(ctx, raw); err != nil {
		return nil, AssertionFailure(fmt.Errorf("client %q: %w", c.ID, err), sts.ErrInvalidClient)
	}
	if !c.IsEnabled() {
		return nil, invalidClient(c.ID, "client is disabled")
	}
	return c, nil
}

// keysFor returns the client's verification keys, parsed once per client
// and configuration.
func (m *PrivateKeyJWT) keysFor(c *Client) (AssertionKeys, error) {
	fp := sha256.Sum256([]byte(c.JWKS + "\x00" + c.JWKSURI + "\x00" + c.Certificate))
	if v, ok := m.cache.Load(c.ID); ok {
		if ck := v.(*clientKeys); ck.fp == fp {
			return ck.keys, ck.err
		}
	}
	ks, err := m.ParseClientKeys(c)
	m.cache.Store(c.ID, &clientKeys{fp: fp, keys: ks, err: err})
	return ks, err
}

// ParseClientKeys builds the verification keys of a client's jwks,
// jwks_uri or certificate (exactly one must be set). The oauth app uses it
// for the JWT bearer grant's trusted issuers too.
func (m *PrivateKeyJWT) ParseClientKeys(c *Client) (AssertionKeys, error) {
	n := 0
	for _, s := range []string{c.JWKS, c.JWKSURI, c.Certificate} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("exactly one of jwks, jwks_uri and certificate must be set")
	}
	switch {
	case c.JWKSURI != "":
		if m.Keys == nil {
			return nil, errors.New("jwks_uri needs the keystores app")
		}
		set, err := m.Keys.RemoteJWKS(c.JWKSURI)
		if err != nil {
			return nil, err
		}
		algs := m.Algorithms
		if len(algs) == 0 {
			algs = DefaultAssertionAlgorithms
		}
		return RemoteKeys{Set: set, Allowed: algs}, nil
	case c.JWKS != "":
		data, err := m.readRef(c.JWKS)
		if err != nil {
			return nil, err
		}
		return ParseJWKS(data)
	default:
		data, err := m.readRef(c.Certificate)
		if err != nil {
			return nil, err
		}
		lk, err := keys.ParsePEM(data)
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		k, err := keys.NewKey(keys.KeyOptions{Key: publicOf(lk.Key), Certificates: lk.Certificates})
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		return StaticKeys{k}, nil
	}
}

// readRef returns inline content, or the file named by "@path".
func (m *PrivateKeyJWT) readRef(v string) ([]byte, error) {
	p, ok := strings.CutPrefix(v, "@")
	if !ok {
		return []byte(v), nil
	}
	if !filepath.IsAbs(p) && m.ConfigDir != "" {
		p = filepath.Join(m.ConfigDir, p)
	}
	return os.ReadFile(p)
}

// ParseJWKS reads a JWK Set of public signing keys, each bound to its own
// "alg" or, without one, to the algorithm its key type implies. Private
// members are ignored: a client registers public keys only.
func ParseJWKS(data []byte) (StaticKeys, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("jwks: no keys")
	}
	var out StaticKeys
	for i, raw := range set.Keys {
		lk, err := keys.ParseJWK(raw)
		if err != nil {
			return nil, fmt.Errorf("jwks key %d: %w", i, err)
		}
		if lk.Use != "" && lk.Use != keys.UseSig {
			continue
		}
		if _, secret := lk.Key.([]byte); secret {
			return nil, fmt.Errorf("jwks key %d: symmetric keys are not client keys", i)
		}
		k, err := keys.NewKey(keys.KeyOptions{Key: publicOf(lk.Key), Alg: lk.Alg, KID: lk.KID, Certificates: lk.Certificates})
		if err != nil {
			return nil, fmt.Errorf("jwks key %d: %w", i, err)
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, errors.New("jwks: no signing keys")
	}
	return out, nil
}

// publicOf returns the public half of a private key, or the key itself.
func publicOf(k any) any {
	if s, ok := k.(crypto.Signer); ok {
		return s.Public()
	}
	return k
}

var _ Method = (*PrivateKeyJWT)(nil)

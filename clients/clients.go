package clients

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/bcrypt"

	"github.com/chainsts/chainsts/clients/secrets"
	"github.com/chainsts/chainsts/sts"
)

func init() {
	sts.RegisterApp(sts.AppInfo{
		Name:        AppName,
		Description: "OAuth clients and client authentication",
		New:         func() any { return new(App) },
	})
}

// AppName is the app's name and configuration section.
const AppName = "clients"

// DefaultHashKeyFile is the client hash key's file name in the data
// directory, created on first use when hash_key is not configured.
const DefaultHashKeyFile = "client-secret.key"

// DefaultVerifyCacheTTL is how long a successful slow-hash verification is
// remembered.
const DefaultVerifyCacheTTL = time.Minute

// Client authentication method names (RFC 7591 §2).
const (
	MethodBasic         = "client_secret_basic"
	MethodPost          = "client_secret_post"
	MethodNone          = "none"
	MethodPrivateKeyJWT = "private_key_jwt"
	MethodSecretJWT     = "client_secret_jwt"
	MethodTLS           = "tls_client_auth"
)

// Access token formats.
const (
	AccessTokenJWT    = "jwt"
	AccessTokenOpaque = "opaque"
)

var knownMethods = []string{MethodBasic, MethodPost, MethodNone, MethodPrivateKeyJWT, MethodSecretJWT, MethodTLS}

// App is the `clients` app: the configured clients and how they
// authenticate.
type App struct {
	// HashKey is the key of keyed hashes (hmac-sha256:...), as a secret
	// reference holding the base64 key (@file, ${env:NAME}, ENC:). When
	// empty, client-secret.key in the data directory is used, created on
	// first need.
	HashKey string `yaml:"hash_key"`
	// VerifyCacheTTL is how long a successful bcrypt or argon2id
	// verification is remembered (default 1m; a negative value disables
	// the cache).
	VerifyCacheTTL time.Duration `yaml:"verify_cache_ttl"`
	// Static lists the clients defined in the configuration.
	Static []*Client `yaml:"static"`

	log      hclog.Logger
	resolver *secrets.Resolver
	byID     map[string]*Client
	hashKey  []byte
	hashKeyF func() ([]byte, error)
	cache    *verifyCache
	dummy    verifier
	sources  []Source

	methodsMu sync.RWMutex
	methods   []Method
}

// Client is one OAuth client.
type Client struct {
	// ID is the client identifier.
	ID string `yaml:"id"`
	// Secret is the stored secret (see the package documentation); empty
	// for public clients (auth_method none).
	Secret string `yaml:"secret"`
	// Name is shown in logs and consent pages.
	Name string `yaml:"name"`
	// Enabled is false to refuse the client without removing it.
	Enabled *bool `yaml:"enabled"`
	// Debug lets the client see the STSUU and the step trace in native API
	// responses.
	Debug bool `yaml:"debug"`
	// AuthMethod is the one authentication method the client uses
	// (default client_secret_basic; none for public clients).
	AuthMethod string `yaml:"auth_method"`
	// GrantTypes, Scopes, Audiences and RedirectURIs restrict what the
	// client may ask of the OAuth endpoints.
	GrantTypes   []string `yaml:"grant_types"`
	Scopes       []string `yaml:"scopes"`
	Audiences    []string `yaml:"audiences"`
	RedirectURIs []string `yaml:"redirect_uris"`
	// AccessTokenFormat is the form of access tokens issued to the client
	// by the OAuth endpoints: jwt (default) or opaque.
	AccessTokenFormat string `yaml:"access_token_format"`
	// AccessTokenLifetime overrides the OAuth definition's access token
	// lifetime for this client; zero keeps the definition's.
	AccessTokenLifetime time.Duration `yaml:"access_token_lifetime"`
	// JWKS (inline JSON or @file), JWKSURI and Certificate (PEM, inline or
	// a path) hold the client's keys for private_key_jwt.
	JWKS        string `yaml:"jwks"`
	JWKSURI     string `yaml:"jwks_uri"`
	Certificate string `yaml:"certificate"`

	verifier verifier
}

// IsEnabled reports whether the client may authenticate.
func (c *Client) IsEnabled() bool { return c.Enabled == nil || *c.Enabled }

// Source is a further place clients come from (the store's registered
// clients). The app asks sources in order after its static clients.
// Client returns nil, nil when the source has no such client.
type Source interface {
	Client(ctx context.Context, id string) (*Client, error)
}

// Provision implements sts.Provisioner: it checks every client and prepares
// its secret verifier.
func (a *App) Provision(ctx sts.ProvisionContext) error {
	a.log = ctx.Logger
	if a.log == nil {
		a.log = hclog.NewNullLogger()
	}
	dataDir, configDir := "", ""
	if ctx.Host != nil {
		dataDir, configDir = ctx.Host.DataDir(), ctx.Host.ConfigDir()
	}
	a.resolver = &secrets.Resolver{
		Dir: configDir,
		EncryptionKey: func() ([]byte, error) {
			k, _, err := secrets.EncryptionKeySource(nil, dataDir)
			return k, err
		},
	}
	var once sync.Once
	var keyErr error
	a.hashKeyF = func() ([]byte, error) {
		once.Do(func() { a.hashKey, keyErr = a.loadHashKey(dataDir) })
		return a.hashKey, keyErr
	}
	if a.VerifyCacheTTL == 0 {
		a.VerifyCacheTTL = DefaultVerifyCacheTTL
	}
	a.cache = newVerifyCache(a.VerifyCacheTTL)
	a.byID = make(map[string]*Client, len(a.Static))
	var errs []error
	kinds := map[string]int{}
	for i, c := range a.Static {
		path := fmt.Sprintf("static[%d]", i)
		if err := a.prepare(c, path); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := a.byID[c.ID]; dup {
			errs = append(errs, sts.ConfigErrorf(path+".id", "client %q is defined twice", c.ID))
			continue
		}
		a.byID[c.ID] = c
		kinds[c.verifier.kind()]++
	}
	a.dummy = a.newDummy(kinds)
	return errors.Join(errs...)
}

// prepare checks one client's configuration and builds its verifier.
func (a *App) prepare(c *Client, path string) error {
	if c == nil {
		return sts.ConfigErrorf(path, "empty client entry")
	}
	if c.ID == "" {
		return sts.ConfigErrorf(path+".id", "client id is required")
	}
	if c.AuthMethod == "" {
		c.AuthMethod = MethodBasic
	}
	switch c.AccessTokenFormat {
	case "":
		c.AccessTokenFormat = AccessTokenJWT
	case AccessTokenJWT, AccessTokenOpaque:
	default:
		return sts.ConfigErrorf(path+".access_token_format", "unknown access_token_format %q (jwt or opaque)", c.AccessTokenFormat)
	}
	if c.AccessTokenLifetime < 0 {
		return sts.ConfigErrorf(path+".access_token_lifetime", "must not be negative")
	}
	if !slices.Contains(knownMethods, c.AuthMethod) {
		return sts.ConfigErrorf(path+".auth_method", "unknown auth_method %q (one of %v)", c.AuthMethod, knownMethods)
	}
	switch c.AuthMethod {
	case MethodNone:
		if c.Secret != "" {
			return sts.ConfigErrorf(path+".secret", "client %q uses auth_method none and must not have a secret", c.ID)
		}
		c.verifier = noSecret{}
		return nil
	case MethodBasic, MethodPost, MethodSecretJWT:
		if c.Secret == "" {
			return sts.ConfigErrorf(path+".secret", "client %q needs a secret for auth_method %s", c.ID, c.AuthMethod)
		}
	default:
		// Key-based methods are checked by the component that implements
		// them; a secret, when present, is still verified for the secret
		// methods it may also be allowed.
		if c.Secret == "" {
			c.verifier = noSecret{}
			return nil
		}
	}
	v, err := a.newVerifier(c.Secret)
	if err != nil {
		return sts.ConfigErrorf(path+".secret", "client %q: %v", c.ID, err)
	}
	c.verifier = v
	return nil
}

func (a *App) loadHashKey(dataDir string) ([]byte, error) {
	if a.HashKey != "" {
		r, err := a.resolver.Resolve(a.HashKey)
		if err != nil {
			return nil, sts.ConfigErrorf("hash_key", "%v", err)
		}
		if r.Source == secrets.SourceLiteral {
			return nil, sts.ConfigErrorf("hash_key", "write the hash key as a reference (@file, ${env:NAME} or ENC:), not literally")
		}
		k, err := secrets.DecodeKey(r.Value)
		if err != nil {
			return nil, sts.ConfigErrorf("hash_key", "%v", err)
		}
		return k, nil
	}
	if dataDir == "" {
		return nil, sts.ConfigErrorf("hash_key", "no hash_key configured and no data directory to keep one in")
	}
	p := filepath.Join(dataDir, DefaultHashKeyFile)
	k, created, err := secrets.LoadOrCreateKeyFile(p)
	if err != nil {
		return nil, sts.ConfigErrorf("hash_key", "client hash key: %v", err)
	}
	if created {
		a.log.Info("created the client secret hash key", "path", p)
	}
	return k, nil
}

// HashKeyBytes returns the key behind keyed hashes (loading or creating it), for
// `chainsts secret generate`.
func (a *App) HashKeyBytes() ([]byte, error) { return a.hashKeyF() }

// AddSource adds a place clients are looked up after the static ones.
func (a *App) AddSource(s Source) { a.sources = append(a.sources, s) }

// Lookup returns the client with the id, or nil, nil when there is none.
func (a *App) Lookup(ctx context.Context, id string) (*Client, error) {
	if c, ok := a.byID[id]; ok {
		return c, nil
	}
	for _, s := range a.sources {
		c, err := s.Client(ctx, id)
		if err != nil || c != nil {
			return c, err
		}
	}
	return nil, nil
}

// Clients returns the static clients in configuration order.
func (a *App) Clients() []*Client { return slices.Clone(a.Static) }

// PrepareClient checks a client that comes from a Source and builds its
// secret verifier; sources call it before handing a client out.
func (a *App) PrepareClient(c *Client) error { return a.prepare(c, "client") }

// VerifySecret checks a presented secret for the client id and returns the
// client when the secret matches and the client is enabled. Every failure
// is sts.ErrInvalidClient with the reason as hidden cause; an unknown
// client costs the same comparison as a known one.
func (a *App) VerifySecret(ctx context.Context, id, secret string) (*Client, error) {
	c, err := a.Lookup(ctx, id)
	if err != nil {
		return nil, sts.ErrTemporarilyUnavailable.WithCause(fmt.Errorf("looking up client %q: %w", id, err))
	}
	if len(secret) > maxSecretLen {
		return nil, invalidClient(id, "secret too long")
	}
	if c == nil {
		a.dummy.verify(a.cache, id, secret)
		return nil, invalidClient(id, "unknown client")
	}
	if _, public := c.verifier.(noSecret); public {
		return nil, invalidClient(id, "client has no secret")
	}
	if !c.verifier.verify(a.cache, id, secret) {
		return nil, invalidClient(id, "wrong secret")
	}
	if !c.IsEnabled() {
		return nil, invalidClient(id, "client is disabled")
	}
	return c, nil
}

func invalidClient(id, reason string) error {
	return sts.ErrInvalidClient.WithCause(fmt.Errorf("client %q: %s", id, reason))
}

// verifier checks a presented secret against one stored form.
type verifier interface {
	verify(cache *verifyCache, id, secret string) bool
	kind() string
}

// newVerifier resolves a configured secret and picks its verifier.
func (a *App) newVerifier(configured string) (verifier, error) {
	r, err := a.resolver.Resolve(configured)
	if err != nil {
		return nil, err
	}
	v := r.Value
	switch {
	case isBcrypt(v):
		if _, err := bcrypt.Cost([]byte(v)); err != nil {
			return nil, fmt.Errorf("malformed bcrypt hash: %v", err)
		}
		return &slowVerifier{stored: v, alg: Bcrypt}, nil
	case len(v) > 10 && v[:10] == "$argon2id$":
		p, err := parseArgon2id(v)
		if err != nil {
			return nil, err
		}
		return &slowVerifier{stored: v, alg: Argon2id, argon: p}, nil
	case len(v) > len(KeyedHashPrefix) && v[:len(KeyedHashPrefix)] == KeyedHashPrefix:
		kid, mac, err := parseKeyedHash(v)
		if err != nil {
			return nil, err
		}
		key, err := a.hashKeyF()
		if err != nil {
			return nil, err
		}
		if kid != KeyID(key) {
			return nil, fmt.Errorf("secret was hashed under hash key %s but the configured hash key is %s; regenerate it with `chainsts secret generate`", kid, KeyID(key))
		}
		return &macVerifier{key: key, mac: mac, k: "hmac"}, nil
	}
	if r.Source == secrets.SourceLiteral {
		return nil, errors.New("a plain secret must not be written in the configuration: store a hash (`chainsts secret hash` or `chainsts secret generate`) or a reference (${env:NAME}, @file, ENC:)")
	}
	// A plain secret from a reference: keep only a keyed hash of it, under
	// a per-process key, so comparisons are fixed-length and constant-time.
	key := secrets.NewKey()
	return &macVerifier{key: key, mac: keyedMAC(key, v), k: "plain"}, nil
}

// newDummy returns the verifier unknown clients are checked against: one of
// the kind most static clients use, so that their cost matches. Timing still
// tells kinds apart; deployments that must hide which clients exist use one
// kind of stored secret for all of them.
func (a *App) newDummy(kinds map[string]int) verifier {
	best, n := "hmac", 0
	for _, k := range []string{"hmac", "plain", string(Bcrypt), string(Argon2id)} {
		if kinds[k] > n {
			best, n = k, kinds[k]
		}
	}
	dummySecret := secrets.Generate()
	switch best {
	case string(Bcrypt):
		cost := DefaultBcryptCost
		for _, c := range a.Static {
			if s, ok := c.verifier.(*slowVerifier); ok && s.alg == Bcrypt {
				cost, _ = bcrypt.Cost([]byte(s.stored))
				break
			}
		}
		h, err := bcrypt.GenerateFromPassword([]byte(dummySecret), cost)
		if err == nil {
			return &slowVerifier{stored: string(h), alg: Bcrypt, dummy: true}
		}
	case string(Argon2id):
		for _, c := range a.Static {
			if s, ok := c.verifier.(*slowVerifier); ok && s.alg == Argon2id {
				p := s.argon
				p.hash = make([]byte, len(s.argon.hash))
				return &slowVerifier{stored: p.String(), alg: Argon2id, argon: p, dummy: true}
			}
		}
	}
	key := secrets.NewKey()
	return &macVerifier{key: key, mac: keyedMAC(key, dummySecret), k: "dummy"}
}

// macVerifier compares HMAC-SHA-256 values in constant time.
type macVerifier struct {
	key []byte
	mac []byte
	k   string
}

func (v *macVerifier) verify(_ *verifyCache, _, secret string) bool {
	return hmac.Equal(keyedMAC(v.key, secret), v.mac)
}

func (v *macVerifier) kind() string { return v.k }

// slowVerifier checks bcrypt and argon2id hashes, remembering successes.
type slowVerifier struct {
	stored string
	alg    Algorithm
	argon  argon2Params
	dummy  bool
}

func (v *slowVerifier) verify(cache *verifyCache, id, secret string) bool {
	ck := cache.key(id, v.stored, secret)
	if !v.dummy && cache.hit(ck) {
		return true
	}
	var ok bool
	switch v.alg {
	case Bcrypt:
		ok = bcrypt.CompareHashAndPassword([]byte(v.stored), []byte(secret)) == nil
	case Argon2id:
		ok = v.argon.verify(secret)
	}
	if ok && !v.dummy {
		cache.put(ck)
	}
	return ok && !v.dummy
}

func (v *slowVerifier) kind() string { return string(v.alg) }

// noSecret is the verifier of clients without a secret: nothing matches.
type noSecret struct{}

func (noSecret) verify(*verifyCache, string, string) bool { return false }
func (noSecret) kind() string                             { return "none" }

// verifyCache remembers successful slow verifications under a keyed hash
// of (client, stored hash, presented secret): the presented secret itself is
// never kept, and a changed stored hash invalidates its entries.
type verifyCache struct {
	ttl  time.Duration
	hkey []byte
	macs sync.Pool // of hash.Hash: HMAC-SHA-256 under hkey
	mu   sync.Mutex
	m    map[[sha256.Size]byte]time.Time
	now  func() time.Time
}

var nul = []byte{0}

// maxCacheEntries bounds the cache; when full it is cleared, which only
// costs a slow verification per client.
const maxCacheEntries = 10000

func newVerifyCache(ttl time.Duration) *verifyCache {
	return &verifyCache{ttl: ttl, hkey: secrets.NewKey(), m: map[[sha256.Size]byte]time.Time{}, now: time.Now}
}

func (c *verifyCache) key(id, stored, secret string) [sha256.Size]byte {
	// A keyed MAC costs its key schedule and two hash states to set up;
	// reset ones from the pool start from the keyed state at no cost.
	m, _ := c.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, c.hkey)
	}
	for _, s := range []string{id, stored, secret} {
		_, _ = io.WriteString(m, s)
		_, _ = m.Write(nul)
	}
	var k [sha256.Size]byte
	m.Sum(k[:0])
	m.Reset()
	c.macs.Put(m)
	return k
}

func (c *verifyCache) hit(k [sha256.Size]byte) bool {
	if c.ttl <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.m[k]
	if !ok {
		return false
	}
	if c.now().After(exp) {
		delete(c.m, k)
		return false
	}
	return true
}

func (c *verifyCache) put(k [sha256.Size]byte) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCacheEntries {
		clear(c.m)
	}
	c.m[k] = c.now().Add(c.ttl)
}

// Interface guards.
var (
	_ sts.Provisioner = (*App)(nil)
)

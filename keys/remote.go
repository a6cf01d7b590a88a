package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/chainsts/chainsts/sts"
)

// RemoteOptions bound how remote JWK Sets are fetched and cached
// (SECURITY §1.10).
type RemoteOptions struct {
	// RefreshInterval is how often a set is refetched in the background
	// (default 15m).
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// UnknownKIDCooldown is the minimum time between two refetches caused
	// by a token with an unknown kid (default 1m). A token arriving inside
	// the cooldown fails at once instead of waiting.
	UnknownKIDCooldown time.Duration `yaml:"unknown_kid_cooldown"`
	// MaxStale is how long cached keys keep being used after the last
	// successful fetch while refreshes fail (default 24h). Past it, a
	// lookup refetches on demand (at most once per UnknownKIDCooldown,
	// shared with unknown-kid refetches) and tokens are refused until a
	// fetch succeeds.
	MaxStale time.Duration `yaml:"max_stale"`
	// Timeout bounds one fetch (default 5s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxSize bounds a response body in bytes (default 256 KiB).
	MaxSize int64 `yaml:"max_size"`
	// AllowHTTP permits plain http:// URLs to hosts other than loopback.
	AllowHTTP bool `yaml:"allow_http"`
}

func (o *RemoteOptions) setDefaults() error {
	if o.RefreshInterval == 0 {
		o.RefreshInterval = 15 * time.Minute
	}
	if o.UnknownKIDCooldown == 0 {
		o.UnknownKIDCooldown = time.Minute
	}
	if o.MaxStale == 0 {
		o.MaxStale = 24 * time.Hour
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MaxSize == 0 {
		o.MaxSize = 256 << 10
	}
	switch {
	case o.RefreshInterval < time.Second:
		return sts.ConfigErrorf("remote.refresh_interval", "must be at least 1s")
	case o.UnknownKIDCooldown < 0:
		return sts.ConfigErrorf("remote.unknown_kid_cooldown", "must not be negative")
	case o.MaxStale < o.RefreshInterval:
		return sts.ConfigErrorf("remote.max_stale", "must be at least refresh_interval (%s)", o.RefreshInterval)
	case o.Timeout <= 0:
		return sts.ConfigErrorf("remote.timeout", "must be positive")
	case o.MaxSize <= 0:
		return sts.ConfigErrorf("remote.max_size", "must be positive")
	}
	return nil
}

// Errors of remote key lookups. Both mean "no key to verify with"; callers
// answer invalid_token for the first and temporarily_unavailable for the
// second.
var (
	ErrKeyNotFound = errors.New("no key matches the token")
	ErrStaleKeys   = errors.New("remote JWK Set unavailable: cached keys are older than the staleness bound")
)

// CheckRemoteURL refuses URLs chainsts will not fetch keys from: anything
// but https, except http to a loopback host or where allowHTTP is set;
// URLs with credentials or fragments.
func CheckRemoteURL(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%q: must be an absolute URL without credentials or fragment", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowHTTP || isLoopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%q: plain http is only allowed to loopback hosts (set remote.allow_http to override)", raw)
	}
	return fmt.Errorf("%q: scheme must be https", raw)
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// remoteClient builds the HTTP client for remote key fetches: no redirects,
// a total timeout, and response bodies capped at maxSize.
func remoteClient(o RemoteOptions) *http.Client {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.Proxy = nil
	base.ResponseHeaderTimeout = o.Timeout
	return &http.Client{
		Timeout:   o.Timeout,
		Transport: &capTransport{rt: base, max: o.MaxSize},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("redirects are not followed for key fetches")
		},
	}
}

// capTransport caps response bodies and counts completed fetches.
type capTransport struct {
	rt  http.RoundTripper
	max int64
}

func (t *capTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, fmt.Errorf("response of %d bytes exceeds the %d byte cap", resp.ContentLength, t.max)
	}
	resp.Body = &capBody{rc: resp.Body, left: t.max}
	return resp, nil
}

type capBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *capBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Reading one more byte tells "exactly at the cap" from "over it".
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, errors.New("response exceeds the size cap")
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *capBody) Close() error { return b.rc.Close() }

// RemoteSet is a JWK Set fetched from a configured URL (or found through an
// issuer's OpenID discovery document), refreshed in the background by
// jwkset, looked up through keyfunc. Keys removed upstream disappear at the
// next successful refresh; when refreshes fail, the cached keys are served
// until MaxStale has passed since the last success, after which lookups
// refetch on demand (see refetchStale) and fail until a fetch succeeds.
type RemoteSet struct {
	// URL is the JWK Set URL (empty until discovery succeeds).
	url       string
	discovery string
	opts      RemoteOptions
	client    *http.Client
	ctx       context.Context
	log       func(msg string, args ...any)
	// now is the clock of every timing decision of the set (cooldown,
	// staleness, start-up retries); time.Now unless App.SetClock replaced
	// it. jwkset's background refresh ticker stays on real time.
	now func() time.Time

	mu      sync.Mutex
	cache   jwkset.Storage // the fetched set, read without refetching
	storage jwkset.Storage
	kf      keyfunc.Keyfunc
	limiter *rate.Limiter
	lastOK  atomic.Int64 // unix nanoseconds of the last successful fetch
	fetches atomic.Int64
	// gen counts successful fetches; bound caches Lookup results for kids
	// found in the set of generation boundGen (see cachedKeys).
	gen      atomic.Uint64
	boundMu  sync.Mutex
	boundGen uint64
	bound    map[boundKey][]*Key
	// nextInit gates discovery retries to one per cooldown.
	nextInit time.Time
	// refetching is closed when the on-demand refetch in flight (see
	// refetchStale) ends; nil when none is. Guarded by refMu.
	refMu      sync.Mutex
	refetching chan struct{}
}

// trackingStorage records when jwkset replaced the whole set, which it does
// exactly once per successful fetch.
type trackingStorage struct {
	*jwkset.MemoryJWKSet
	set *RemoteSet
}

func (t trackingStorage) KeyReplaceAll(ctx context.Context, given []jwkset.JWK) error {
	if err := t.MemoryJWKSet.KeyReplaceAll(ctx, given); err != nil {
		return err
	}
	t.set.lastOK.Store(t.set.now().UnixNano())
	t.set.gen.Add(1)
	return nil
}

// boundKey identifies a Lookup result: the kid and alg of the token and
// the caller's allow-list (by identity: each validate step passes its own
// slice), which binds keys published without "alg".
type boundKey struct {
	kid, alg string
	allowed  *string
	nAllowed int
}

// maxBound caps the Lookup cache; kids only enter it once found in the
// fetched set, so it only fills with many steps sharing one large set.
const maxBound = 1024

func newBoundKey(kid, alg string, allowed []string) boundKey {
	k := boundKey{kid: kid, alg: alg, nAllowed: len(allowed)}
	if len(allowed) > 0 {
		k.allowed = &allowed[0]
	}
	return k
}

// cachedKeys returns the keys an earlier Lookup bound for the same kid,
// alg and allow-list from the current generation of the set, or nil.
func (r *RemoteSet) cachedKeys(k boundKey) []*Key {
	r.boundMu.Lock()
	defer r.boundMu.Unlock()
	if r.boundGen != r.gen.Load() {
		return nil
	}
	return r.bound[k]
}

// cacheKeys records a Lookup result computed from generation gen (read
// before the set was), dropping every entry of older generations. A
// result from a set replaced meanwhile is never served: its generation is
// no longer current.
func (r *RemoteSet) cacheKeys(gen uint64, k boundKey, ks []*Key) {
	r.boundMu.Lock()
	defer r.boundMu.Unlock()
	if gen != r.boundGen {
		if gen < r.boundGen {
			return
		}
		r.boundGen, r.bound = gen, nil
	}
	if r.bound == nil {
		r.bound = map[boundKey][]*Key{}
	}
	if len(r.bound) < maxBound {
		r.bound[k] = ks
	}
}

// SetClock replaces time.Now for the timing decisions of the remote JWK
// Sets created after the call: the unknown-kid cooldown, the staleness
// bound and start-up retries. Tests use it to step through those rules
// without depending on how fast the machine runs; now must be safe for
// concurrent use and never go backwards.
func (a *App) SetClock(now func() time.Time) {
	a.remMu.Lock()
	defer a.remMu.Unlock()
	a.now = now
}

func (a *App) clock() func() time.Time {
	if a.now != nil {
		return a.now
	}
	return time.Now
}

// RemoteJWKS returns the shared RemoteSet for a JWK Set URL, creating it (and
// its background refresher, stopped at Cleanup) on first use.
func (a *App) RemoteJWKS(jwksURL string) (*RemoteSet, error) {
	if err := CheckRemoteURL(jwksURL, a.RemoteKeys.AllowHTTP); err != nil {
		return nil, err
	}
	return a.remote("jwks:"+jwksURL, func(r *RemoteSet) { r.url = jwksURL })
}

// RemoteDiscovery returns the shared RemoteSet of an OpenID issuer: its
// jwks_uri is read from <issuer>/.well-known/openid-configuration, and the
// document's "issuer" must equal the configured issuer.
func (a *App) RemoteDiscovery(issuer string) (*RemoteSet, error) {
	if err := CheckRemoteURL(issuer, a.RemoteKeys.AllowHTTP); err != nil {
		return nil, err
	}
	return a.remote("oidc:"+issuer, func(r *RemoteSet) { r.discovery = issuer })
}

func (a *App) remote(key string, set func(*RemoteSet)) (*RemoteSet, error) {
	a.remMu.Lock()
	defer a.remMu.Unlock()
	if r, ok := a.remotes[key]; ok {
		return r, nil
	}
	if a.ctx == nil {
		return nil, errors.New("keystores app is not provisioned")
	}
	r := &RemoteSet{opts: a.RemoteKeys, client: remoteClient(a.RemoteKeys), ctx: a.ctx,
		limiter: rate.NewLimiter(rate.Every(max(a.RemoteKeys.UnknownKIDCooldown, time.Nanosecond)), 1),
		log:     a.log.Warn, now: a.clock()}
	set(r)
	r.mu.Lock()
	err := r.initLocked()
	r.mu.Unlock()
	if err != nil {
		// The set stays registered: lookups retry the start-up once per
		// cooldown, so an issuer that is down at load time is picked up
		// when it comes back.
		a.log.Warn("remote JWK Set not available yet", "source", key, "error", err.Error())
	}
	a.remotes[key] = r
	return r, nil
}

// initLocked resolves discovery and starts the jwkset storage. The first
// fetch happens here; a failure leaves an empty set that refreshes later.
func (r *RemoteSet) initLocked() error {
	if r.kf != nil {
		return nil
	}
	r.nextInit = r.now().Add(r.opts.UnknownKIDCooldown)
	if r.url == "" {
		u, err := r.discover()
		if err != nil {
			return err
		}
		r.url = u
	}
	r.fetches.Add(1)
	// The handler also runs for background and on-demand refetches, on
	// other goroutines, long after this function returned.
	var (
		errMu    sync.Mutex
		firstErr error
	)
	st, err := jwkset.NewStorageFromHTTP(r.url, jwkset.HTTPClientStorageOptions{
		Client:                    r.client,
		Ctx:                       r.ctx,
		HTTPTimeout:               r.opts.Timeout,
		NoErrorReturnFirstHTTPReq: true,
		RefreshInterval:           r.opts.RefreshInterval,
		RefreshErrorHandler: func(_ context.Context, err error) {
			errMu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			errMu.Unlock()
			r.log("remote JWK Set fetch failed; cached keys stay in use up to max_stale", "url", r.url, "error", err.Error())
		},
		Storage: trackingStorage{MemoryJWKSet: jwkset.NewMemoryStorage(), set: r},
	})
	if err != nil {
		return err
	}
	client, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs: map[string]jwkset.Storage{r.url: st},
		// jwkset bounds the refetch with this timeout and makes callers
		// wait on its limiter; chainsts gates refetches itself (r.limiter,
		// never waiting) before asking, so jwkset's limiter always allows.
		RateLimitWaitMax:  r.opts.Timeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1),
	})
	if err != nil {
		return err
	}
	kf, err := keyfunc.New(keyfunc.Options{Ctx: r.ctx, Storage: client})
	if err != nil {
		return err
	}
	r.storage, r.kf, r.cache = client, kf, st
	// The first fetch consumed no cooldown token; the limiter starts full
	// so the first unknown kid after start-up can refetch.
	errMu.Lock()
	defer errMu.Unlock()
	return firstErr
}

// discover reads the issuer's discovery document and returns its jwks_uri.
func (r *RemoteSet) discover() (string, error) {
	ctx, cancel := context.WithTimeout(r.ctx, r.opts.Timeout)
	defer cancel()
	u := strings.TrimSuffix(r.discovery, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	r.fetches.Add(1)
	resp, err := r.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("discovery: %s answered %d", u, resp.StatusCode)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	if doc.Issuer != r.discovery {
		return "", fmt.Errorf("discovery: document issuer %q is not %q", doc.Issuer, r.discovery)
	}
	if err := CheckRemoteURL(doc.JWKSURI, r.opts.AllowHTTP); err != nil {
		return "", fmt.Errorf("discovery: jwks_uri: %w", err)
	}
	return doc.JWKSURI, nil
}

// URL returns the JWK Set URL ("" while discovery has not succeeded).
func (r *RemoteSet) URL() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.url
}

// Fetches counts the HTTP requests the set has made (discovery included).
func (r *RemoteSet) Fetches() int64 { return r.fetches.Load() }

// LastSuccess returns when the set was last fetched successfully.
func (r *RemoteSet) LastSuccess() time.Time {
	n := r.lastOK.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// staleErr tells why the cached keys may not be used: never fetched, or
// last fetched successfully more than MaxStale ago; nil when they may.
func (r *RemoteSet) staleErr() error {
	last := r.lastOK.Load()
	switch {
	case last == 0:
		return fmt.Errorf("%w: never fetched", ErrStaleKeys)
	case r.now().Sub(time.Unix(0, last)) > r.opts.MaxStale:
		return ErrStaleKeys
	}
	return nil
}

// fresh returns nil when the cached keys may be used. When they may not,
// it refetches on demand first (refetchStale), so a lookup after the
// upstream came back succeeds without waiting for the background refresh.
func (r *RemoteSet) fresh(ctx context.Context, storage jwkset.Storage) error {
	if r.staleErr() == nil {
		return nil
	}
	r.refetchStale(ctx, storage)
	return r.staleErr()
}

// refetchStale fetches the set once on behalf of every lookup that found
// it stale. The fetch takes a token of r.limiter, shared with unknown-kid
// refetches, so the upstream sees at most one on-demand fetch per cooldown
// whatever the request rate; without a token the lookup fails at once.
// Lookups arriving while the fetch is in flight wait for it (bounded by
// Timeout) instead of fetching again. The fetch runs on the set's context,
// not the caller's: a caller giving up does not fail the others' fetch.
func (r *RemoteSet) refetchStale(ctx context.Context, storage jwkset.Storage) {
	r.refMu.Lock()
	if r.staleErr() == nil {
		// Another lookup's refetch succeeded since the caller looked.
		r.refMu.Unlock()
		return
	}
	if done := r.refetching; done != nil {
		r.refMu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
		}
		return
	}
	if !r.limiter.AllowN(r.now(), 1) {
		r.refMu.Unlock()
		return
	}
	done := make(chan struct{})
	r.refetching = done
	r.refMu.Unlock()
	defer func() {
		r.refMu.Lock()
		r.refetching = nil
		r.refMu.Unlock()
		close(done)
	}()
	// jwkset refetches only when asked for a kid its storage lacks (it
	// has no other on-demand refresh): ask for a random one no set
	// publishes. A successful fetch replaces the stored set, which moves
	// lastOK and gen (trackingStorage); a failed one goes to the refresh
	// error handler and leaves the cached keys as they were.
	fctx, cancel := context.WithTimeout(r.ctx, r.opts.Timeout)
	defer cancel()
	r.fetches.Add(1)
	_, _ = storage.KeyRead(fctx, "chainsts-refetch-"+rand.Text())
}

func (r *RemoteSet) ready() (keyfunc.Keyfunc, jwkset.Storage, error) {
	kf, st, _, err := r.readyCache()
	return kf, st, err
}

func (r *RemoteSet) readyCache() (keyfunc.Keyfunc, jwkset.Storage, jwkset.Storage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kf == nil {
		if r.now().Before(r.nextInit) {
			return nil, nil, nil, fmt.Errorf("%w: remote keys not loaded yet", ErrStaleKeys)
		}
		if err := r.initLocked(); err != nil && r.kf == nil {
			return nil, nil, nil, fmt.Errorf("%w: %v", ErrStaleKeys, err)
		}
	}
	return r.kf, r.storage, r.cache, nil
}

// Lookup returns the keys that may verify a token signed with alg under
// kid, each bound to exactly one algorithm: the JWK's own "alg" when it has
// one, otherwise the first algorithm of allowed that fits the key. An
// unknown kid triggers at most one refetch per cooldown (r.limiter, which
// never waits: inside the cooldown the lookup fails at once); so do keys
// past MaxStale or never fetched, and the lookup fails with ErrStaleKeys
// when that refetch is not allowed or fails. A token without kid is tried
// against every key bound to alg. Header parameters
// other than kid and alg are never consulted. Results for a kid are cached
// until the next successful fetch; the returned slice is shared and must
// not be modified.
func (r *RemoteSet) Lookup(ctx context.Context, kid, alg string, allowed []string) ([]*Key, error) {
	kf, st, cache, err := r.readyCache()
	if err != nil {
		return nil, err
	}
	if err := r.fresh(ctx, st); err != nil {
		return nil, err
	}
	var jwks []jwkset.JWK
	gen := r.gen.Load()
	bk := newBoundKey(kid, alg, allowed)
	if kid != "" {
		// A kid already bound in this generation of the set: no storage
		// reads and no key construction per token.
		if ks := r.cachedKeys(bk); ks != nil {
			return ks, nil
		}
		if _, err := cache.KeyRead(ctx, kid); errors.Is(err, jwkset.ErrKeyNotFound) && !r.limiter.AllowN(r.now(), 1) {
			// Unknown kid inside the cooldown: fail at once, no fetch.
			return nil, ErrKeyNotFound
		}
		before := r.lastOK.Load()
		tok := &jwt.Token{Header: map[string]any{"kid": kid, "alg": alg}}
		if _, err := kf.KeyfuncCtx(ctx)(tok); err != nil {
			if r.lastOK.Load() != before {
				r.fetches.Add(1)
			}
			if errors.Is(err, jwkset.ErrKeyNotFound) {
				return nil, ErrKeyNotFound
			}
			return nil, fmt.Errorf("%w: %v", ErrKeyNotFound, err)
		}
		if r.lastOK.Load() != before {
			r.fetches.Add(1)
		}
		j, err := st.KeyRead(ctx, kid)
		if err != nil {
			return nil, ErrKeyNotFound
		}
		jwks = []jwkset.JWK{j}
	} else {
		jwks, err = st.KeyReadAll(ctx)
		if err != nil {
			return nil, err
		}
	}
	if r.lastOK.Load() == 0 {
		return nil, fmt.Errorf("%w: never fetched", ErrStaleKeys)
	}
	var out []*Key
	for _, j := range jwks {
		k, err := keyFromRemote(j, allowed)
		if err != nil || k.Alg != alg {
			continue
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, ErrKeyNotFound
	}
	if kid != "" {
		r.cacheKeys(gen, bk, out)
	}
	return out, nil
}

// keyFromRemote binds a fetched JWK to one algorithm. Symmetric and private
// members are ignored: a remote set only ever supplies public keys.
func keyFromRemote(j jwkset.JWK, allowed []string) (*Key, error) {
	m := j.Marshal()
	if m.USE != "" && m.USE != jwkset.UseSig {
		return nil, errors.New("not a signing key")
	}
	var pub any
	switch k := j.Key().(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		pub = k
	case *rsa.PrivateKey:
		pub = &k.PublicKey
	case *ecdsa.PrivateKey:
		pub = &k.PublicKey
	case ed25519.PrivateKey:
		pub = k.Public()
	default:
		return nil, fmt.Errorf("unsupported remote key %T", k)
	}
	alg := string(m.ALG)
	if alg == "" {
		for _, a := range allowed {
			if k, err := NewKey(KeyOptions{Key: pub, Alg: a}); err == nil {
				k.KID = m.KID
				return k, nil
			}
		}
		return nil, errors.New("no allowed algorithm fits the key")
	}
	k, err := NewKey(KeyOptions{Key: pub, Alg: alg, KID: m.KID})
	if err != nil {
		return nil, err
	}
	if m.KID == "" {
		k.KID = ""
	}
	return k, nil
}

// Keys returns every key of the set, bound as Lookup binds them; for
// listings and tests.
func (r *RemoteSet) Keys(ctx context.Context, allowed []string) ([]*Key, error) {
	_, st, err := r.ready()
	if err != nil {
		return nil, err
	}
	all, err := st.KeyReadAll(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Key
	for _, j := range all {
		if k, err := keyFromRemote(j, allowed); err == nil {
			out = append(out, k)
		}
	}
	return out, nil
}

// EncryptionKey returns a recipient key of the set for JWE key management
// algorithm alg: the key with kid when given, else the first key whose use
// is "enc" (or unset) and whose type fits alg.
func (r *RemoteSet) EncryptionKey(ctx context.Context, alg, kid string) (*Key, error) {
	_, st, err := r.ready()
	if err != nil {
		return nil, err
	}
	if err := r.fresh(ctx, st); err != nil {
		return nil, err
	}
	all, err := st.KeyReadAll(ctx)
	if err != nil {
		return nil, err
	}
	for _, j := range all {
		m := j.Marshal()
		if (m.USE != "" && m.USE != jwkset.UseEnc) || (kid != "" && m.KID != kid) || (m.ALG != "" && string(m.ALG) != alg) {
			continue
		}
		var pub any
		switch k := j.Key().(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
			pub = k
		default:
			continue
		}
		if k, err := NewKey(KeyOptions{Key: pub, Alg: alg, KID: m.KID, Use: UseEnc}); err == nil {
			k.KID = m.KID
			return k, nil
		}
	}
	return nil, ErrKeyNotFound
}

package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/clients"
	"github.com/chainsts/chainsts/keys"
	"github.com/chainsts/chainsts/store"
	"github.com/chainsts/chainsts/sts"
)

// Grant type identifiers.
const (
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
	GrantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	GrantClientCredentials = "client_credentials"
)

// Endpoint paths.
const (
	TokenPath         = "/oauth2/token"
	IntrospectionPath = "/oauth2/introspect"
	RevocationPath    = "/oauth2/revoke"
	JWKSPath          = "/jwks.json"
	OAuthMetadataPath = "/.well-known/oauth-authorization-server"
	OIDCMetadataPath  = "/.well-known/openid-configuration"
)

// Lookup values the grants use where the request has none of its own
// (documented in docs/oauth.md).
const (
	// ClientCredentialsTokenType is the token_type of client_credentials
	// chain lookups (there is no subject token).
	ClientCredentialsTokenType = "urn:ietf:params:oauth:grant-type:client_credentials"
	// ActorAppliesTo is the applies_to of the validate chain run on an
	// actor token.
	ActorAppliesTo = "urn:chainsts:oauth:actor"
)

func init() {
	sts.RegisterApp(sts.AppInfo{
		Name:        "oauth",
		Description: "OAuth 2.0 token, introspection, revocation and discovery endpoints",
		New:         func() any { return new(App) },
	})
}

// App is the `oauth` app.
type App struct {
	// Issuer is this server's issuer identifier, written byte for byte in
	// discovery and expected in the tokens the chains issue (no trailing
	// slash variance). Required.
	Issuer string `yaml:"issuer"`
	// GrantTypes are the grants the token endpoint serves (default: token
	// exchange, JWT bearer and client credentials). A client's own
	// grant_types narrow them further.
	GrantTypes []string `yaml:"grant_types"`
	// AllowAnonymousExchange lets token exchange run without client
	// authentication (off: SECURITY §4.4).
	AllowAnonymousExchange bool `yaml:"allow_anonymous_exchange"`
	// MaxBodyBytes caps a request body (default 64 KiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RequestTimeout bounds one request, chains included (default 10s).
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// RateLimit limits requests per client and per source address.
	RateLimit RateLimitConfig `yaml:"rate_limit"`
	// TokenExchange configures RFC 8693.
	TokenExchange TokenExchangeConfig `yaml:"token_exchange"`
	// JWTBearer configures the RFC 7523 grant's trusted issuers.
	JWTBearer JWTBearerConfig `yaml:"jwt_bearer"`
	// ClientAssertion configures private_key_jwt client authentication.
	ClientAssertion ClientAssertionConfig `yaml:"client_assertion"`
	// Introspection configures how JWTs are validated for introspection
	// and revocation.
	Introspection IntrospectionConfig `yaml:"introspection"`
	// SigningAlgs lists the algorithms of issued tokens for discovery
	// (default: the algorithms of the keys in public keystores).
	SigningAlgs []string `yaml:"signing_algs"`

	log         hclog.Logger
	clients     *clients.App
	keys        *keys.App
	st          store.Store
	limits      *limiters
	issuers     []*trustedIssuer
	grants      []string
	algs        []string
	authMethods []string
	audiences   []string
}

// RateLimitConfig sets token bucket limits; a zero rate takes the default,
// a negative one turns that limit off.
type RateLimitConfig struct {
	// PerClient is requests per second per authenticated client (default
	// 200), with Burst (default 2×rate).
	PerClient float64 `yaml:"per_client"`
	// PerAddress is requests per second per source address before
	// authentication (default 500, burst 2×rate).
	PerAddress float64 `yaml:"per_address"`
	Burst      int     `yaml:"burst"`
	// Disabled turns rate limiting off (benchmarks).
	Disabled bool `yaml:"disabled"`
}

// TokenExchangeConfig configures RFC 8693.
type TokenExchangeConfig struct {
	// AllowLifetimeExtension lets an issued token outlive the subject token
	// (off: SECURITY §2.7).
	AllowLifetimeExtension bool `yaml:"allow_lifetime_extension"`
	// CheckRevocation refuses subject tokens whose jti is on the
	// revocation list. It makes every exchange read the store.
	CheckRevocation bool `yaml:"check_revocation"`
}

// JWTBearerConfig lists the trusted assertion issuers.
type JWTBearerConfig struct {
	Issuers []*IssuerConfig `yaml:"issuers"`
}

// IssuerConfig is one trusted issuer of JWT bearer assertions.
type IssuerConfig struct {
	// Issuer is the exact iss of its assertions.
	Issuer string `yaml:"issuer"`
	// Keys: exactly one of JWKS (inline JSON or @file), JWKSURI,
	// Certificate (inline PEM or @file), or Keystore (+ Labels) of the
	// keystores app.
	JWKS        string   `yaml:"jwks"`
	JWKSURI     string   `yaml:"jwks_uri"`
	Certificate string   `yaml:"certificate"`
	Keystore    string   `yaml:"keystore"`
	Labels      []string `yaml:"labels"`
	// Algorithms is the allow-list (default ES256, ES384, RS256, PS256,
	// EdDSA).
	Algorithms []string `yaml:"algorithms"`
	// Subjects the issuer may assert: exact values or REGEXP:(...); empty
	// allows any subject.
	Subjects []string `yaml:"subjects"`
	// Scopes the issuer's assertions may obtain; empty allows the client's.
	Scopes []string `yaml:"scopes"`
	// Audiences (audience/resource values) the issuer's assertions may
	// obtain tokens for; empty allows any the client may.
	Audiences []string `yaml:"audiences"`
	// MaxLifetime bounds exp - iat (default 1h); IATWindow how old iat may
	// be (default 30m).
	MaxLifetime time.Duration `yaml:"max_lifetime"`
	IATWindow   time.Duration `yaml:"iat_window"`
}

// ClientAssertionConfig configures private_key_jwt.
type ClientAssertionConfig struct {
	Algorithms  []string      `yaml:"algorithms"`
	MaxLifetime time.Duration `yaml:"max_lifetime"`
	IATWindow   time.Duration `yaml:"iat_window"`
}

// IntrospectionConfig names the validate chain for JWTs.
type IntrospectionConfig struct {
	// AppliesTo is the applies_to of the validate chain lookup (default:
	// the issuer). The lookup is request_type validate, token_type
	// urn:ietf:params:oauth:token-type:access_token, issuer = the calling
	// client.
	AppliesTo string `yaml:"applies_to"`
}

type trustedIssuer struct {
	cfg      *IssuerConfig
	keys     clients.AssertionKeys
	subjects []*regexp.Regexp
	exact    []string
}

// Provision implements sts.Provisioner.
func (a *App) Provision(ctx sts.ProvisionContext) error {
	a.log = ctx.Logger
	if a.log == nil {
		a.log = hclog.NewNullLogger()
	}
	if a.Issuer == "" {
		return sts.ConfigErrorf("issuer", "the issuer identifier is required (e.g. https://sts.example.com)")
	}
	u, err := url.Parse(a.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return sts.ConfigErrorf("issuer", "must be an http(s) URL without query or fragment")
	}
	if strings.HasSuffix(a.Issuer, "/") {
		return sts.ConfigErrorf("issuer", "must not end with '/': the issuer is compared byte for byte")
	}
	if a.MaxBodyBytes == 0 {
		a.MaxBodyBytes = 64 << 10
	}
	if a.RequestTimeout == 0 {
		a.RequestTimeout = 10 * time.Second
	}
	a.grants = a.GrantTypes
	if len(a.grants) == 0 {
		a.grants = []string{GrantTokenExchange, GrantJWTBearer, GrantClientCredentials}
	}
	for i, g := range a.grants {
		if !slices.Contains([]string{GrantTokenExchange, GrantJWTBearer, GrantClientCredentials}, g) {
			return sts.ConfigErrorf(fmt.Sprintf("grant_types[%d]", i), "unsupported grant type %q", g)
		}
	}
	a.limits = newLimiters(a.RateLimit)

	if a.clients, err = sts.HostApp[*clients.App](ctx.Host, clients.AppName); err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	if a.st, err = sts.HostApp[store.Store](ctx.Host, "store"); err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	if a.keys, err = sts.HostApp[*keys.App](ctx.Host, "keystores"); err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	a.audiences = []string{a.Issuer, a.Issuer + TokenPath, a.Issuer + IntrospectionPath, a.Issuer + RevocationPath}
	cdir := ""
	if ctx.Host != nil {
		cdir = ctx.Host.ConfigDir()
	}
	a.clients.AddSource(&clients.StoreSource{Store: a.st, App: a.clients})
	a.clients.RegisterMethod(&clients.PrivateKeyJWT{
		Audiences: a.audiences, Algorithms: a.ClientAssertion.Algorithms,
		MaxLifetime: a.ClientAssertion.MaxLifetime, IATWindow: a.ClientAssertion.IATWindow,
		Replays: a.st, Keys: a.keys, ConfigDir: cdir,
	})
	a.authMethods = []string{clients.MethodBasic, clients.MethodPost, clients.MethodPrivateKeyJWT}
	for _, c := range a.clients.Clients() {
		if c.AuthMethod == clients.MethodNone && !slices.Contains(a.authMethods, clients.MethodNone) {
			a.authMethods = append(a.authMethods, clients.MethodNone)
		}
	}

	var errs []error
	seen := map[string]bool{}
	for i, ic := range a.JWTBearer.Issuers {
		ti, err := a.prepareIssuer(ic, cdir, fmt.Sprintf("jwt_bearer.issuers[%d]", i))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[ic.Issuer] {
			errs = append(errs, sts.ConfigErrorf(fmt.Sprintf("jwt_bearer.issuers[%d].issuer", i), "issuer %q listed twice", ic.Issuer))
			continue
		}
		seen[ic.Issuer] = true
		a.issuers = append(a.issuers, ti)
	}
	a.algs = a.SigningAlgs
	if len(a.algs) == 0 {
		for _, ks := range a.keys.Keystores() {
			if !ks.Public {
				continue
			}
			for _, k := range ks.Keys() {
				if k.Use == keys.UseSig && !k.IsSymmetric() && !slices.Contains(a.algs, k.Alg) {
					a.algs = append(a.algs, k.Alg)
				}
			}
		}
		slices.Sort(a.algs)
	}
	return errors.Join(errs...)
}

var defaultIssuerAlgs = []string{"ES256", "ES384", "RS256", "PS256", "EdDSA"}

func (a *App) prepareIssuer(ic *IssuerConfig, cdir, path string) (*trustedIssuer, error) {
	if ic == nil || ic.Issuer == "" {
		return nil, sts.ConfigErrorf(path+".issuer", "issuer is required")
	}
	if len(ic.Algorithms) == 0 {
		ic.Algorithms = defaultIssuerAlgs
	}
	for j, alg := range ic.Algorithms {
		al, ok := keys.LookupAlgorithm(alg)
		if !ok || al.Family == keys.FamilyHMAC {
			return nil, sts.ConfigErrorf(fmt.Sprintf("%s.algorithms[%d]", path, j), "unsupported assertion algorithm %q", alg)
		}
	}
	if ic.MaxLifetime == 0 {
		ic.MaxLifetime = time.Hour
	}
	ti := &trustedIssuer{cfg: ic}
	for j, s := range ic.Subjects {
		if pat, ok := strings.CutPrefix(s, "REGEXP:"); ok {
			re, err := regexp.Compile("^(?:" + pat + ")$")
			if err != nil {
				return nil, sts.ConfigErrorf(fmt.Sprintf("%s.subjects[%d]", path, j), "%v", err)
			}
			ti.subjects = append(ti.subjects, re)
		} else {
			ti.exact = append(ti.exact, s)
		}
	}
	n := 0
	for _, s := range []string{ic.JWKS, ic.JWKSURI, ic.Certificate, ic.Keystore} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, sts.ConfigErrorf(path, "exactly one of jwks, jwks_uri, certificate and keystore must be set")
	}
	switch {
	case ic.JWKSURI != "":
		set, err := a.keys.RemoteJWKS(ic.JWKSURI)
		if err != nil {
			return nil, sts.ConfigErrorf(path+".jwks_uri", "%v", err)
		}
		ti.keys = clients.RemoteKeys{Set: set, Allowed: ic.Algorithms}
	case ic.Keystore != "":
		ks, ok := a.keys.Keystore(ic.Keystore)
		if !ok {
			return nil, sts.ConfigErrorf(path+".keystore", "no keystore %q", ic.Keystore)
		}
		var sk clients.StaticKeys
		for _, k := range ks.Keys() {
			if k.Use != keys.UseSig || k.IsSymmetric() || (len(ic.Labels) > 0 && !slices.Contains(ic.Labels, k.Label)) {
				continue
			}
			sk = append(sk, k)
		}
		if len(sk) == 0 {
			return nil, sts.ConfigErrorf(path+".keystore", "keystore %q has no matching public signing keys", ic.Keystore)
		}
		ti.keys = sk
	default:
		// Reuse the client key parser: same forms, same rules.
		pk := &clients.PrivateKeyJWT{ConfigDir: cdir}
		c := &clients.Client{ID: ic.Issuer, JWKS: ic.JWKS, Certificate: ic.Certificate}
		ks, err := pk.ParseClientKeys(c)
		if err != nil {
			return nil, sts.ConfigErrorf(path, "%v", err)
		}
		ti.keys = ks
	}
	return ti, nil
}

func (ti *trustedIssuer) subjectAllowed(sub string) bool {
	if len(ti.exact) == 0 && len(ti.subjects) == 0 {
		return true
	}
	if slices.Contains(ti.exact, sub) {
		return true
	}
	for _, re := range ti.subjects {
		if re.MatchString(sub) {
			return true
		}
	}
	return false
}

// HTTPRoutes implements the server's RouteProvider: the token,
// introspection and revocation endpoints and the two metadata documents.
func (a *App) HTTPRoutes() map[string]http.Handler {
	meta := http.HandlerFunc(a.serveMetadata)
	return map[string]http.Handler{
		"POST " + TokenPath:         a.endpoint(a.serveToken),
		"POST " + IntrospectionPath: a.endpoint(a.serveIntrospect),
		"POST " + RevocationPath:    a.endpoint(a.serveRevoke),
		"GET " + OAuthMetadataPath:  meta,
		"GET " + OIDCMetadataPath:   meta,
	}
}

// Ready implements sts.ReadinessChecker: the endpoints need the store for
// some paths, but JWT-only paths do not, so readiness does not depend on
// it (the store app reports its own readiness).
func (a *App) Ready() error { return nil }

// Store returns the store the endpoints use (tests inject failures).
func (a *App) Store() store.Store { return a.st }

// timeout bounds a request by RequestTimeout. When the context already
// ends no later (the server's own request deadline, 10s by default like
// this one), a second deadline would change nothing but cost a timer, so
// the context is returned as is.
func (a *App) timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && !dl.After(time.Now().Add(a.RequestTimeout)) {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, a.RequestTimeout)
}

// Interface guards.
var (
	_ sts.Provisioner      = (*App)(nil)
	_ sts.ReadinessChecker = (*App)(nil)
)

package jwt

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/keys"
	"github.com/chainsts/chainsts/sts"
)

func init() { sts.RegisterModule(Module{}) }

// Profiles.
const (
	ProfilePlain       = "plain"
	ProfileAccessToken = "access_token"
	ProfileIDToken     = "id_token"
	ProfileAssertion   = "assertion"
)

// Module is one configured step of the jwt module. Its exported fields are
// the step configuration (YAML, snake_case; ISAM property names in
// parentheses); see README.md.
type Module struct {
	// MaxTokenSize caps the compact token length in bytes (default 16 KiB).
	MaxTokenSize int `yaml:"max_token_size"`
	// Profile is, for issue: plain (default), access_token (RFC 9068) or
	// id_token; for validate: plain (default), access_token, id_token or
	// assertion, which set typ expectations.
	Profile string `yaml:"profile"`
	// Signing selects the key (issue) or the single issuer's verification
	// keys (validate shorthand for one entry of Issuers).
	Signing SigningConfig `yaml:"signing"`
	// Encryption, for issue, encrypts the signed token to a recipient; for
	// validate, holds the decryption keys.
	Encryption EncryptionConfig `yaml:"encryption"`

	// Iss (iss) is the issuer to write (issue) or expect, exact or
	// REGEXP:(...) (validate shorthand).
	Iss string `yaml:"iss"`
	// Aud (aud) are the audiences to write (issue) or of which the token
	// must name at least one (validate; exact or REGEXP:(...)).
	Aud []string `yaml:"aud"`
	// Sub (sub) is a fixed subject (issue) or the subject the token must
	// have (validate; exact or REGEXP:(...)).
	Sub string `yaml:"sub"`

	// Lifetime (exp) is the issued token's lifetime (default 1h).
	Lifetime time.Duration `yaml:"lifetime"`
	// NBFOffset (nbfOffset) writes nbf = now - offset when set.
	NBFOffset *time.Duration `yaml:"nbf_offset"`
	// JTILength (jtiLength) is the number of random base64url characters
	// of jti (default 32; minimum 16).
	JTILength int `yaml:"jti_length"`
	// IncludeIAT (includeIat) writes iat (default true).
	IncludeIAT *bool `yaml:"include_iat"`
	// ExtendLifetime lets an issued token outlive the validated subject
	// token (context attribute subject_expires_at); by default exp is
	// capped at the subject token's expiry.
	ExtendLifetime bool `yaml:"extend_lifetime"`
	// TokenType is the issued token's type URI (default
	// urn:ietf:params:oauth:token-type:jwt).
	TokenType string `yaml:"token_type"`
	// AllowOverrides lists the per-request signing.* context attributes
	// (type urn:com:ibm:JWT) a chain may use to change the signing key:
	// signing.alg, signing.db, signing.cert, signing.kid,
	// signing.symmetricKey.
	AllowOverrides []string `yaml:"allow_overrides"`
	// AllowReserved lists reserved claims and headers (iss, exp, iat, nbf,
	// jti, cnf, act, alg, kid, typ) that attributes and claim_json may set.
	AllowReserved []string `yaml:"allow_reserved"`
	// ReservedClaims says what happens when attributes or claim_json carry
	// a reserved claim that is not allowed: "drop" (default; the server's
	// value stands) or "reject" (the request fails).
	ReservedClaims string `yaml:"reserved_claims"`

	// Algorithms is the validate step's algorithm allow-list (default: the
	// algorithms of the configured keys).
	Algorithms []string `yaml:"algorithms"`
	// Issuers are the trusted issuers, each with its own keys, tried in
	// order by iss.
	Issuers []IssuerConfig `yaml:"issuers"`
	// Typ lists the accepted typ header values (compared case-insensitively,
	// "application/" prefix optional); empty accepts what the profile does.
	Typ []string `yaml:"typ"`
	// ValidateExp (validateExp) requires and checks exp (default true).
	ValidateExp *bool `yaml:"validate_exp"`
	// Leeway is the clock skew allowed on exp, nbf and iat (default 30s,
	// at most 5m).
	Leeway *time.Duration `yaml:"leeway"`
	// IATWindow refuses tokens whose iat is older than this (default 30m
	// for the assertion profile, otherwise unchecked).
	IATWindow time.Duration `yaml:"iat_window"`
	// MaxLifetime refuses tokens whose exp - iat exceeds it.
	MaxLifetime time.Duration `yaml:"max_lifetime"`
	// RequiredClaims must be present.
	RequiredClaims []string `yaml:"required_claims"`
	// PrincipalClaim names the claim giving the principal name (default
	// sub).
	PrincipalClaim string `yaml:"principal_claim"`
	// Replay records each token's jti in the store until it expires and
	// refuses a second use.
	Replay ReplayConfig `yaml:"replay"`
	// RequestJWKSURIs allow-lists the JWK Set URLs a request may name in its
	// signing.jwksUri claim; empty disables the per-request override.
	RequestJWKSURIs []string `yaml:"request_jwks_uris"`

	log     hclog.Logger
	mode    sts.Mode
	app     *keys.App
	maxSize int
	iss     *issueState
	val     *Validator
	dec     *decrypter
}

// SigningConfig selects signing or verification keys.
type SigningConfig struct {
	// Alg (signing.alg) is the signing algorithm; on validate, a shorthand
	// for a one-element Algorithms.
	Alg string `yaml:"alg"`
	// Keystore (signing.db) names a keystore of the keystores app.
	Keystore string `yaml:"keystore"`
	// Label (signing.cert) names a key in the keystore.
	Label string `yaml:"label"`
	// KID (signing.kid) selects a key by kid.
	KID string `yaml:"kid"`
	// SymmetricKey (signing.symmetricKey) is an HMAC secret.
	SymmetricKey *keys.SecretConfig `yaml:"symmetric_key"`
	// Certificate is a PEM certificate or public key file to verify with.
	Certificate string `yaml:"certificate"`
	// JWKSURI (signing.jwksUri) is a remote JWK Set to verify with.
	JWKSURI string `yaml:"jwks_uri"`
	// Discovery finds the JWK Set through the issuer's OpenID discovery
	// document (iss must be exact).
	Discovery bool `yaml:"discovery"`
}

// EncryptionConfig configures JWE.
type EncryptionConfig struct {
	// Alg (encryption.alg) is the key management algorithm to encrypt with
	// (issue) or the allow-list of them (validate: Algs).
	Alg string `yaml:"alg"`
	// Enc (encryption.enc) is the content encryption algorithm (default
	// A256GCM).
	Enc string `yaml:"enc"`
	// Keystore, Label, KID (encryption.db, encryption.cert,
	// encryption.kid) select the recipient's public key (issue) or the
	// decryption key (validate; all enc keys of the keystore when no label).
	Keystore string `yaml:"keystore"`
	Label    string `yaml:"label"`
	KID      string `yaml:"kid"`
	// JWKSURI (encryption.jwksUri) is the recipient's JWK Set (issue).
	JWKSURI string `yaml:"jwks_uri"`
	// SymmetricKey (encryption.symmetricKey) is a shared AES key for
	// A*KW or dir.
	SymmetricKey *keys.SecretConfig `yaml:"symmetric_key"`
	// Algs and Encs are the validate allow-lists (defaults: RSA-OAEP,
	// RSA-OAEP-256, ECDH-ES(+A*KW), A*KW, dir; A*GCM, A*CBC-HS*).
	Algs []string `yaml:"algs"`
	Encs []string `yaml:"encs"`
	// Required refuses unencrypted tokens (validate).
	Required bool `yaml:"required"`
	// AllowRSA1_5 enables the RSA1_5 key management algorithm (validate),
	// which is vulnerable to padding oracles and off by default.
	AllowRSA1_5 bool `yaml:"allow_rsa1_5"`
	// MaxDecryptedSize caps the decrypted payload (default 16 KiB).
	MaxDecryptedSize int `yaml:"max_decrypted_size"`
}

// IssuerConfig is one trusted issuer of a validate step.
type IssuerConfig struct {
	// Iss is the issuer, exact or REGEXP:(...); empty matches tokens of
	// any or no issuer.
	Iss string `yaml:"iss"`
	// Keystore and Labels select verification keys from a keystore (all
	// its signing keys when Labels is empty).
	Keystore string   `yaml:"keystore"`
	Labels   []string `yaml:"labels"`
	// Certificate is a PEM certificate or public key file.
	Certificate string `yaml:"certificate"`
	// Alg binds a certificate, secret or remote key without its own alg.
	Alg string `yaml:"alg"`
	// SymmetricKey is an HMAC secret.
	SymmetricKey *keys.SecretConfig `yaml:"symmetric_key"`
	// JWKSURI is a remote JWK Set.
	JWKSURI string `yaml:"jwks_uri"`
	// Discovery reads jwks_uri from Iss's discovery document.
	Discovery bool `yaml:"discovery"`
	// Algorithms narrows the step's allow-list for this issuer.
	Algorithms []string `yaml:"algorithms"`
}

// ReplayConfig configures jti replay detection.
type ReplayConfig struct {
	// Enabled turns it on; tokens without jti are then refused.
	Enabled bool `yaml:"enabled"`
	// Store is the app providing the replay cache (default "store").
	Store string `yaml:"store"`
	// Namespace separates this step's records (default: the chain and
	// step names).
	Namespace string `yaml:"namespace"`
}

// STSModule registers the module type.
func (Module) STSModule() sts.ModuleInfo {
	return sts.ModuleInfo{
		Name:        "jwt",
		Description: "validate and issue JWTs (JWS, nested JWE)",
		New:         func() sts.Module { return new(Module) },
	}
}

// Provision parses every key, builds matchers and, for validate, the
// trusted issuer table, once at load.
func (m *Module) Provision(ctx sts.ProvisionContext) error {
	m.log = ctx.Logger
	if m.log == nil {
		m.log = hclog.NewNullLogger()
	}
	m.mode = ctx.Mode
	m.maxSize = m.MaxTokenSize
	if m.maxSize == 0 {
		m.maxSize = DefaultMaxTokenSize
	}
	if m.maxSize < 0 {
		return sts.ConfigErrorf("max_token_size", "must be positive")
	}
	if ctx.Host != nil {
		app, err := sts.HostApp[*keys.App](ctx.Host, "keystores")
		if err != nil {
			return fmt.Errorf("keystores: %w", err)
		}
		m.app = app
	}
	switch m.mode {
	case sts.ModeIssue:
		st, err := m.provisionIssue(ctx.Host)
		if err != nil {
			return err
		}
		m.iss = st
	case sts.ModeValidate:
		v, err := m.provisionValidate(ctx)
		if err != nil {
			return err
		}
		m.val = v
	case "":
		// A named instance checked on its own: its defaults are merged
		// into each step and provisioned there.
	default:
		return fmt.Errorf("jwt: mode %q is not supported", m.mode)
	}
	return nil
}

// matcher is an exact string or an ISAM REGEXP:(...) full match.
type matcher struct {
	exact string
	re    *regexp.Regexp
}

func newMatcher(path, s string) (*matcher, error) {
	if rest, ok := strings.CutPrefix(s, "REGEXP:"); ok {
		if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
			return nil, sts.ConfigErrorf(path, "REGEXP: must be followed by (...)")
		}
		re, err := regexp.Compile(`^(?:` + rest + `)$`)
		if err != nil {
			return nil, sts.ConfigErrorf(path, "%v", err)
		}
		return &matcher{re: re}, nil
	}
	return &matcher{exact: s}, nil
}

func (m *matcher) match(s string) bool {
	if m.re != nil {
		return m.re.MatchString(s)
	}
	return m.exact == s
}

func (m *matcher) String() string {
	if m.re != nil {
		return "REGEXP:(" + m.re.String() + ")"
	}
	return m.exact
}

// readSecretKey turns a configured secret into a key bound to alg.
func readSecretKey(host sts.Host, path string, sc *keys.SecretConfig, alg, use string) (*keys.Key, error) {
	raw, err := secretBytes(host, sc)
	if err != nil {
		return nil, sts.ConfigErrorf(path, "%v", err)
	}
	if alg == "" {
		alg = sc.Alg
	}
	k, err := keys.NewKey(keys.KeyOptions{Label: "symmetric_key", Key: raw, Alg: alg, KID: sc.KID, Use: use})
	if err != nil {
		return nil, sts.ConfigErrorf(path, "%v", err)
	}
	k.KID = sc.KID
	return k, nil
}

func secretBytes(host sts.Host, sc *keys.SecretConfig) ([]byte, error) {
	n := 0
	var raw string
	if sc.Value != "" {
		n, raw = n+1, sc.Value
	}
	if sc.Env != "" {
		v, ok := os.LookupEnv(sc.Env)
		if !ok {
			return nil, fmt.Errorf("environment variable %s is not set", sc.Env)
		}
		n, raw = n+1, v
	}
	if sc.File != "" {
		p := sc.File
		if host != nil {
			p = sts.ResolvePath(host, p)
		}
		if err := keys.CheckPermissions(p); err != nil {
			return nil, err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		n, raw = n+1, strings.TrimRight(string(b), "\r\n")
	}
	if n != 1 {
		return nil, errors.New("exactly one of value, env and file is required")
	}
	return keys.DecodeSecret(raw, sc.Encoding)
}

func checkAlgs(path string, algs []string) error {
	for i, a := range algs {
		if keys.IsNone(a) {
			return sts.ConfigErrorf(path+"["+strconv.Itoa(i)+"]", `alg "none" is never allowed`)
		}
		if _, ok := keys.LookupAlgorithm(a); !ok {
			return sts.ConfigErrorf(path+"["+strconv.Itoa(i)+"]", "unknown algorithm %q (supported: %s)", a, strings.Join(keys.AlgorithmNames(), ", "))
		}
	}
	return nil
}

// reservedClaims are set by the server; attributes, claim_json and rules
// may set them only where allow_reserved grants it (SECURITY §3.4).
var reservedClaims = []string{"iss", "exp", "iat", "nbf", "jti", "cnf", "act"}

// reservedHeaders are set by the server. crit, jku, jwk, x5u, x5c, x5t,
// x5t#S256, b64, zip, enc and cty can never be set from the STSUU.
var (
	grantableHeaders = []string{"alg", "kid", "typ"}
	forbiddenHeaders = []string{"crit", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "b64", "zip", "enc", "cty", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c"}
)

func validReserved(name string) bool {
	return slices.Contains(reservedClaims, name) || slices.Contains(grantableHeaders, name)
}

var (
	_ sts.Provisioner = (*Module)(nil)
	_ sts.Validator   = (*Module)(nil)
)

// Validate checks option combinations that do not depend on the mode's
// provisioned state.
func (m *Module) Validate() error {
	for i, r := range m.AllowReserved {
		if !validReserved(r) {
			return sts.ConfigErrorf("allow_reserved["+strconv.Itoa(i)+"]", "%q is not a reserved claim or header (one of %s)", r,
				strings.Join(append(slices.Clone(reservedClaims), grantableHeaders...), ", "))
		}
	}
	for i, o := range m.AllowOverrides {
		if !slices.Contains(overrideNames, o) {
			return sts.ConfigErrorf("allow_overrides["+strconv.Itoa(i)+"]", "%q is not an overridable property (one of %s)", o, strings.Join(overrideNames, ", "))
		}
	}
	switch m.ReservedClaims {
	case "", "drop", "reject":
	default:
		return sts.ConfigErrorf("reserved_claims", `must be "drop" or "reject"`)
	}
	return nil
}

package jwt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chainsts/chainsts/keys"
	"github.com/chainsts/chainsts/store"
	"github.com/chainsts/chainsts/sts"
)

// Reasons a token is refused. They travel as the hidden cause of the
// sts.Error (logged, never shown) and let tests assert why a token failed.
var (
	ErrMalformed       = errors.New("malformed token")
	ErrAlgNone         = errors.New(`alg "none" is never accepted`)
	ErrAlgNotAllowed   = errors.New("algorithm not allowed")
	ErrCrit            = errors.New("crit header names an extension chainsts does not implement")
	ErrTyp             = errors.New("typ header not acceptable")
	ErrUnknownIssuer   = errors.New("issuer not trusted")
	ErrNoKey           = errors.New("no configured key matches the token")
	ErrSignature       = errors.New("signature verification failed")
	ErrExpired         = errors.New("token expired")
	ErrMissingExp      = errors.New("exp claim missing")
	ErrNotYetValid     = errors.New("token not yet valid (nbf)")
	ErrIssuedInFuture  = errors.New("iat in the future")
	ErrTooOld          = errors.New("iat older than the allowed window")
	ErrLifetime        = errors.New("token lifetime exceeds the maximum")
	ErrNumericDate     = errors.New("numeric date claim is not a number")
	ErrAudience        = errors.New("audience not accepted")
	ErrSubject         = errors.New("subject not accepted")
	ErrMissingClaim    = errors.New("required claim missing")
	ErrReplay          = errors.New("token replayed (jti already used)")
	ErrEncryption      = errors.New("token encryption refused")
	ErrEncryptionReq   = errors.New("token must be encrypted")
	ErrRequestJWKSURI  = errors.New("per-request JWKS URL not allowed")
	errKeysUnavailable = errors.New("verification keys unavailable")
)

// SubjectExpiresAt (type TypeToken) is the context attribute in which
// validate modules record the validated token's expiry, as Unix seconds;
// issue modules never issue a token outliving it unless configured to.
const (
	SubjectExpiresAt = "subject_expires_at"
	TypeToken        = "urn:chainsts:token"
)

// maxKIDLength bounds the kid header; kid is an opaque lookup string
// (SECURITY §1.3) and never a path, a query or a command.
const maxKIDLength = 256

// Validator verifies compact JWTs against a trusted issuer table. It is
// built once (by a validate step's Provision, or NewValidator) and safe for
// concurrent use.
type Validator struct {
	maxSize        int
	algs           []string
	issuers        []*trustedIssuer
	typAccept      []string
	typReject      []string
	validateExp    bool
	leeway         time.Duration
	iatWindow      time.Duration
	maxLifetime    time.Duration
	aud            []*matcher
	sub            *matcher
	required       []string
	principalClaim string
	replay         store.Replays
	replayNS       string
	requestJWKS    []string
	app            *keys.App
	dec            *decrypter
	now            func() time.Time
}

// trustedIssuer is one entry of the issuer table.
type trustedIssuer struct {
	iss    *matcher // nil matches any or no issuer
	algs   []string
	static map[string][]*keys.Key // by kid; "" holds every key
	remote *keys.RemoteSet
}

// Result is a verified token.
type Result struct {
	// Header and Claims are the decoded JOSE header and claims, numbers as
	// json.Number.
	Header map[string]any
	Claims map[string]any
	// HeaderJSON and ClaimsJSON are the exact decoded bytes.
	HeaderJSON []byte
	ClaimsJSON []byte
	// ClaimOrder lists the claim names in their order in the token.
	ClaimOrder []string
	// Key verified the signature.
	Key *keys.Key
	// Encrypted reports whether the token was a JWE.
	Encrypted bool
	// ExpiresAt is exp, zero when absent.
	ExpiresAt time.Time

	// headerStr and claimsStr are HeaderJSON and ClaimsJSON as the strings
	// the decoded names and values are substrings of; fill hands them out
	// as the header and claim_json attributes without copying again.
	headerStr, claimsStr string
}

func (m *Module) provisionValidate(ctx sts.ProvisionContext) (*Validator, error) {
	v := &Validator{maxSize: m.maxSize, app: m.app, now: time.Now, principalClaim: m.PrincipalClaim, required: m.RequiredClaims}
	if v.principalClaim == "" {
		v.principalClaim = "sub"
	}
	if m.Lifetime != 0 || m.NBFOffset != nil || m.JTILength != 0 || m.IncludeIAT != nil || len(m.AllowOverrides) > 0 || len(m.AllowReserved) > 0 || m.TokenType != "" {
		return nil, sts.ConfigErrorf("", "lifetime, nbf_offset, jti_length, include_iat, token_type, allow_overrides and allow_reserved apply to issue steps only")
	}
	if err := checkAlgs("algorithms", m.Algorithms); err != nil {
		return nil, err
	}
	v.algs = slices.Clone(m.Algorithms)
	if m.Signing.Alg != "" {
		if err := checkAlgs("signing.alg", []string{m.Signing.Alg}); err != nil {
			return nil, err
		}
		if len(v.algs) > 0 && !slices.Contains(v.algs, m.Signing.Alg) {
			return nil, sts.ConfigErrorf("signing.alg", "%s is not in algorithms", m.Signing.Alg)
		}
		if len(v.algs) == 0 {
			v.algs = []string{m.Signing.Alg}
		}
	}
	issuers := m.Issuers
	sc := m.Signing
	shorthand := sc.Keystore != "" || sc.Certificate != "" || sc.SymmetricKey != nil || sc.JWKSURI != "" || sc.Discovery
	if shorthand && len(issuers) > 0 {
		return nil, sts.ConfigErrorf("signing", "use either signing (one issuer) or issuers, not both")
	}
	base := "issuers"
	if shorthand || (len(issuers) == 0 && len(m.RequestJWKSURIs) > 0) {
		ic := IssuerConfig{Iss: m.Iss, Keystore: sc.Keystore, Certificate: sc.Certificate, SymmetricKey: sc.SymmetricKey,
			JWKSURI: sc.JWKSURI, Discovery: sc.Discovery, Alg: sc.Alg}
		if sc.Label != "" {
			ic.Labels = []string{sc.Label}
		}
		issuers = []IssuerConfig{ic}
		base = "signing"
	} else if m.Iss != "" {
		return nil, sts.ConfigErrorf("iss", "with issuers, set iss on each issuer")
	}
	if len(issuers) == 0 {
		return nil, sts.ConfigErrorf("signing", "a validate step needs verification keys: signing (keystore, certificate, symmetric_key, jwks_uri or discovery) or issuers")
	}
	for i, ic := range issuers {
		p := base
		if base == "issuers" {
			p = base + "[" + strconv.Itoa(i) + "]"
		}
		ti, err := m.buildIssuer(ctx.Host, p, ic, v.algs, len(m.RequestJWKSURIs) > 0)
		if err != nil {
			return nil, err
		}
		v.issuers = append(v.issuers, ti)
	}
	if len(v.algs) == 0 {
		for _, ti := range v.issuers {
			for _, a := range ti.algs {
				if !slices.Contains(v.algs, a) {
					v.algs = append(v.algs, a)
				}
			}
		}
	}
	for i, u := range m.RequestJWKSURIs {
		if err := keys.CheckRemoteURL(u, m.app != nil && m.app.RemoteKeys.AllowHTTP); err != nil {
			return nil, sts.ConfigErrorf("request_jwks_uris["+strconv.Itoa(i)+"]", "%v", err)
		}
	}
	v.requestJWKS = m.RequestJWKSURIs

	switch m.Profile {
	case "", ProfilePlain:
	case ProfileAccessToken:
		v.typAccept = []string{"at+jwt"}
	case ProfileIDToken, ProfileAssertion:
		// RFC 9068 §4 and RFC 8725 §3.11: an access token must not be
		// accepted where an ID token or an assertion is expected.
		v.typReject = []string{"at+jwt"}
		if m.Profile == ProfileAssertion && m.IATWindow == 0 {
			v.iatWindow = 30 * time.Minute
		}
	default:
		return nil, sts.ConfigErrorf("profile", "must be plain, access_token, id_token or assertion")
	}
	if len(m.Typ) > 0 {
		v.typAccept = nil
		for _, t := range m.Typ {
			v.typAccept = append(v.typAccept, normTyp(t))
		}
	}
	v.validateExp = m.ValidateExp == nil || *m.ValidateExp
	v.leeway = 30 * time.Second
	if m.Leeway != nil {
		v.leeway = *m.Leeway
		if v.leeway < 0 || v.leeway > 5*time.Minute {
			return nil, sts.ConfigErrorf("leeway", "must be between 0 and 5m")
		}
	}
	if m.IATWindow < 0 || m.MaxLifetime < 0 {
		return nil, sts.ConfigErrorf("iat_window", "durations must not be negative")
	}
	if m.IATWindow > 0 {
		v.iatWindow = m.IATWindow
	}
	v.maxLifetime = m.MaxLifetime
	for i, a := range m.Aud {
		mt, err := newMatcher("aud["+strconv.Itoa(i)+"]", a)
		if err != nil {
			return nil, err
		}
		v.aud = append(v.aud, mt)
	}
	if m.Sub != "" {
		mt, err := newMatcher("sub", m.Sub)
		if err != nil {
			return nil, err
		}
		v.sub = mt
	}
	if m.Replay.Enabled {
		name := m.Replay.Store
		if name == "" {
			name = "store"
		}
		if ctx.Host == nil {
			return nil, sts.ConfigErrorf("replay", "replay detection needs the %s app", name)
		}
		r, err := sts.HostApp[store.Replays](ctx.Host, name)
		if err != nil {
			return nil, sts.ConfigErrorf("replay.store", "%v", err)
		}
		v.replay = r
		v.replayNS = m.Replay.Namespace
		if v.replayNS == "" {
			v.replayNS = "jwt:" + ctx.Chain + "/" + ctx.Step
		}
	}
	dec, err := m.provisionDecrypt(ctx.Host)
	if err != nil {
		return nil, err
	}
	v.dec = dec
	return v, nil
}

func (m *Module) buildIssuer(host sts.Host, p string, ic IssuerConfig, stepAlgs []string, requestJWKS bool) (*trustedIssuer, error) {
	ti := &trustedIssuer{static: map[string][]*keys.Key{}}
	if ic.Iss != "" {
		mt, err := newMatcher(p+".iss", ic.Iss)
		if err != nil {
			return nil, err
		}
		ti.iss = mt
	}
	if err := checkAlgs(p+".algorithms", ic.Algorithms); err != nil {
		return nil, err
	}
	ti.algs = slices.Clone(ic.Algorithms)
	for _, a := range ti.algs {
		if len(stepAlgs) > 0 && !slices.Contains(stepAlgs, a) {
			return nil, sts.ConfigErrorf(p+".algorithms", "%s is not in the step's algorithms", a)
		}
	}
	if len(ti.algs) == 0 {
		ti.algs = slices.Clone(stepAlgs)
	}
	if ic.Alg != "" {
		if err := checkAlgs(p+".alg", []string{ic.Alg}); err != nil {
			return nil, err
		}
	}
	sources := 0
	add := func(k *keys.Key) {
		if k.KID != "" {
			ti.static[k.KID] = append(ti.static[k.KID], k)
		}
		ti.static[""] = append(ti.static[""], k)
	}
	if ic.Keystore != "" {
		sources++
		if m.app == nil {
			return nil, sts.ConfigErrorf(p+".keystore", "no keystores app")
		}
		ks, ok := m.app.Keystore(ic.Keystore)
		if !ok {
			return nil, sts.ConfigErrorf(p+".keystore", "no keystore %q", ic.Keystore)
		}
		if len(ic.Labels) == 0 {
			for _, k := range ks.Keys() {
				if k.Use == keys.UseSig {
					add(k)
				}
			}
		}
		for i, l := range ic.Labels {
			k, ok := ks.Key(l)
			if !ok {
				return nil, sts.ConfigErrorf(p+".labels["+strconv.Itoa(i)+"]", "keystore %q has no key %q", ic.Keystore, l)
			}
			if k.Use != keys.UseSig {
				return nil, sts.ConfigErrorf(p+".labels["+strconv.Itoa(i)+"]", "key %q is an encryption key", l)
			}
			add(k)
		}
	}
	if ic.Certificate != "" {
		sources++
		path := ic.Certificate
		if host != nil {
			path = sts.ResolvePath(host, path)
		}
		lks, err := keys.LoadFile(path)
		if err != nil {
			return nil, sts.ConfigErrorf(p+".certificate", "%v", err)
		}
		for _, lk := range lks {
			pub := lk.Key
			if lk.Secret {
				return nil, sts.ConfigErrorf(p+".certificate", "%s holds private material; give the certificate or public key", path)
			}
			k, err := keys.NewKey(keys.KeyOptions{Label: lk.Label, Key: pub, Alg: first(ic.Alg, lk.Alg), KID: lk.KID, Certificates: lk.Certificates})
			if err != nil {
				return nil, sts.ConfigErrorf(p+".certificate", "%v", err)
			}
			add(k)
		}
	}
	if ic.SymmetricKey != nil {
		sources++
		k, err := readSecretKey(host, p+".symmetric_key", ic.SymmetricKey, ic.Alg, keys.UseSig)
		if err != nil {
			return nil, err
		}
		add(k)
	}
	if ic.JWKSURI != "" || ic.Discovery {
		sources++
		if m.app == nil {
			return nil, sts.ConfigErrorf(p+".jwks_uri", "no keystores app")
		}
		var err error
		if ic.Discovery {
			if ti.iss == nil || ti.iss.re != nil {
				return nil, sts.ConfigErrorf(p+".discovery", "discovery needs an exact iss")
			}
			if ic.JWKSURI != "" {
				return nil, sts.ConfigErrorf(p+".discovery", "use either jwks_uri or discovery")
			}
			ti.remote, err = m.app.RemoteDiscovery(ic.Iss)
		} else {
			ti.remote, err = m.app.RemoteJWKS(ic.JWKSURI)
		}
		if err != nil {
			return nil, sts.ConfigErrorf(p+".jwks_uri", "%v", err)
		}
		if len(ti.algs) == 0 {
			if ic.Alg != "" {
				ti.algs = []string{ic.Alg}
			} else {
				return nil, sts.ConfigErrorf(p+".algorithms", "remote keys need an algorithm allow-list (algorithms or signing.alg)")
			}
		}
	}
	if sources == 0 && !requestJWKS {
		return nil, sts.ConfigErrorf(p, "no verification keys (keystore, certificate, symmetric_key, jwks_uri or discovery)")
	}
	if sources > 1 {
		return nil, sts.ConfigErrorf(p, "give one key source per issuer")
	}
	if err := checkKeySet(ti.static[""]); err != nil {
		return nil, sts.ConfigErrorf(p, "%v", err)
	}
	// Each static key is bound to one algorithm; the issuer's allow-list
	// defaults to those algorithms and must cover them.
	for _, k := range ti.static[""] {
		if len(ic.Algorithms) == 0 && len(stepAlgs) == 0 {
			if !slices.Contains(ti.algs, k.Alg) {
				ti.algs = append(ti.algs, k.Alg)
			}
		}
	}
	if len(ti.algs) == 0 && requestJWKS {
		return nil, sts.ConfigErrorf("algorithms", "per-request JWKS URLs need an algorithm allow-list")
	}
	return ti, nil
}

// checkKeySet refuses an issuer's key set that would make verification
// ambiguous: HMAC secrets mixed with public keys (SECURITY §1.2), or two
// keys with the same kid and algorithm.
func checkKeySet(ks []*keys.Key) error {
	sym, asym := 0, 0
	seen := map[string]bool{}
	for _, k := range ks {
		if k.IsSymmetric() {
			sym++
		} else {
			asym++
		}
		if k.KID != "" {
			id := k.KID + "\x00" + k.Alg
			if seen[id] {
				return fmt.Errorf("two keys with kid %q for %s", k.KID, k.Alg)
			}
			seen[id] = true
		}
	}
	if sym > 0 && asym > 0 {
		return errors.New("HMAC secrets and public keys cannot verify for the same issuer")
	}
	return nil
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func normTyp(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	return strings.TrimPrefix(t, "application/")
}

// VerifyOptions carry per-request inputs.
type VerifyOptions struct {
	// JWKSURI is a per-request JWK Set (signing.jwksUri); honoured only
	// when the step allow-lists it.
	JWKSURI string
}

// Verify runs every check of SECURITY §1 on a compact token and returns the
// verified header and claims. Errors are *sts.Error (invalid_request, or
// temporarily_unavailable when keys or the replay store cannot be reached)
// whose cause wraps one of the Err* reasons.
func (v *Validator) Verify(ctx context.Context, token []byte, opts VerifyOptions) (*Result, error) {
	res, err := v.verify(ctx, token, opts)
	if err != nil {
		var se *sts.Error
		if errors.As(err, &se) {
			return nil, err
		}
		if errors.Is(err, errKeysUnavailable) {
			return nil, sts.ErrTemporarilyUnavailable.WithCause(fmt.Errorf("jwt: %w", err))
		}
		return nil, sts.ErrInvalidRequest.WithDescription("the token is invalid").WithCause(fmt.Errorf("jwt: %w", err))
	}
	return res, nil
}

func (v *Validator) verify(ctx context.Context, token []byte, opts VerifyOptions) (*Result, error) {
	c, err := splitCompact(token, v.maxSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	res := &Result{}
	if c.isJWE() {
		if v.dec == nil {
			return nil, fmt.Errorf("%w: no decryption keys configured", ErrEncryption)
		}
		inner, err := v.dec.decrypt(c)
		if err != nil {
			return nil, err
		}
		if c, err = splitCompact(inner, v.maxSize); err != nil {
			return nil, fmt.Errorf("%w: nested token: %v", ErrMalformed, err)
		}
		if c.isJWE() {
			return nil, fmt.Errorf("%w: nested JWE", ErrMalformed)
		}
		res.Encrypted = true
	} else if v.dec != nil && v.dec.required {
		return nil, ErrEncryptionReq
	}
	res.headerStr = string(c.header)
	hdr, alg, kid, err := checkHeader(res.headerStr, v.algs)
	if err != nil {
		return nil, err
	}
	if err := v.checkTyp(hdr["typ"]); err != nil {
		return nil, err
	}
	res.claimsStr = string(c.payload)
	claims, order, err := parseObjectString(res.claimsStr, true)
	if err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	iss, hasIss := "", false
	if x, has := claims["iss"]; has {
		if iss, hasIss = x.(string); !hasIss {
			return nil, fmt.Errorf("%w: iss is not a string", ErrMalformed)
		}
	}
	ti := v.findIssuer(iss, hasIss)
	if ti == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownIssuer, iss)
	}
	if !slices.Contains(ti.algs, alg) {
		return nil, fmt.Errorf("%w: %q for this issuer", ErrAlgNotAllowed, alg)
	}
	cands, err := v.candidates(ctx, ti, kid, alg, opts)
	if err != nil {
		return nil, err
	}
	if res.Key, err = verifySig(c, alg, cands); err != nil {
		return nil, err
	}
	if err := v.checkClaims(ctx, claims, res); err != nil {
		return nil, err
	}
	res.Header, res.Claims, res.ClaimOrder = hdr, claims, order
	res.HeaderJSON, res.ClaimsJSON = c.header, c.payload
	return res, nil
}

// checkHeader decodes a JWS protected header and applies the header rules
// of SECURITY §1.2-1.4: alg present, never "none", on the allow-list; no
// crit; kid, when present, a bounded string. jwk, jku, x5u and x5c are
// ignored: they never supply a key and never cause a fetch.
func checkHeader(header string, algs []string) (map[string]any, string, string, error) {
	hdr, _, err := parseObjectString(header, false)
	if err != nil {
		return nil, "", "", fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	alg, ok := hdr["alg"].(string)
	if !ok {
		return nil, "", "", fmt.Errorf("%w: alg missing or not a string", ErrMalformed)
	}
	if keys.IsNone(alg) {
		return nil, "", "", ErrAlgNone
	}
	if !slices.Contains(algs, alg) {
		return nil, "", "", fmt.Errorf("%w: %q", ErrAlgNotAllowed, alg)
	}
	if _, has := hdr["crit"]; has {
		return nil, "", "", ErrCrit
	}
	kid := ""
	if k, has := hdr["kid"]; has {
		s, ok := k.(string)
		if !ok || len(s) > maxKIDLength {
			return nil, "", "", fmt.Errorf("%w: kid must be a string of at most %d bytes", ErrMalformed, maxKIDLength)
		}
		kid = s
	}
	return hdr, alg, kid, nil
}

// verifySig checks the signature with each candidate key (all bound to
// alg) and returns the one that verified.
func verifySig(c *compact, alg string, cands []*keys.Key) (*keys.Key, error) {
	input := c.signingInput()
	for _, k := range cands {
		if k.VerifyBytes(alg, input, c.sig) == nil {
			return k, nil
		}
	}
	return nil, ErrSignature
}

func (v *Validator) checkTyp(t any) error {
	if t == nil {
		if len(v.typAccept) > 0 {
			return fmt.Errorf("%w: typ missing", ErrTyp)
		}
		return nil
	}
	s, ok := t.(string)
	if !ok {
		return fmt.Errorf("%w: typ is not a string", ErrTyp)
	}
	if len(v.typAccept) == 0 && len(v.typReject) == 0 {
		return nil
	}
	n := normTyp(s)
	if len(v.typAccept) > 0 && !slices.Contains(v.typAccept, n) {
		return fmt.Errorf("%w: %q", ErrTyp, s)
	}
	if slices.Contains(v.typReject, n) {
		return fmt.Errorf("%w: %q", ErrTyp, s)
	}
	return nil
}

func (v *Validator) findIssuer(iss string, has bool) *trustedIssuer {
	for _, ti := range v.issuers {
		if ti.iss == nil {
			return ti
		}
		if has && ti.iss.match(iss) {
			return ti
		}
	}
	return nil
}

// candidates returns the keys of the issuer that may verify the token:
// by kid when the token has one, otherwise every key bound to alg. Keys come
// only from configuration (SECURITY §1.3): jwk, jku, x5u and x5c headers are
// never read.
func (v *Validator) candidates(ctx context.Context, ti *trustedIssuer, kid, alg string, opts VerifyOptions) ([]*keys.Key, error) {
	remote := ti.remote
	if opts.JWKSURI != "" {
		if !slices.Contains(v.requestJWKS, opts.JWKSURI) || v.app == nil {
			return nil, ErrRequestJWKSURI
		}
		r, err := v.app.RemoteJWKS(opts.JWKSURI)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRequestJWKSURI, err)
		}
		remote = r
	}
	if remote != nil {
		ks, err := remote.Lookup(ctx, kid, alg, ti.algs)
		if errors.Is(err, keys.ErrStaleKeys) {
			return nil, fmt.Errorf("%w: %w", errKeysUnavailable, err)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoKey, err)
		}
		return ks, nil
	}
	// Usually every key under the kid is bound to alg: hand out the
	// configured slice itself (verifySig only reads it).
	all := ti.static[kid]
	out := all
	if slices.ContainsFunc(all, func(k *keys.Key) bool { return k.Alg != alg }) {
		out = nil
		for _, k := range all {
			if k.Alg == alg {
				out = append(out, k)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: kid %q alg %s", ErrNoKey, kid, alg)
	}
	return out, nil
}

// numericDate reads a NumericDate claim: it must be a JSON number
// (SECURITY §1.5), finite and not negative.
func numericDate(claims map[string]any, name string) (time.Time, bool, error) {
	x, ok := claims[name]
	if !ok {
		return time.Time{}, false, nil
	}
	n, isNum := x.(json.Number)
	if !isNum {
		return time.Time{}, true, fmt.Errorf("%w: %s", ErrNumericDate, name)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, true, fmt.Errorf("%w: %s out of range", ErrNumericDate, name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

func (v *Validator) checkClaims(ctx context.Context, claims map[string]any, res *Result) error {
	now := v.now()
	exp, hasExp, err := numericDate(claims, "exp")
	if err != nil {
		return err
	}
	nbf, hasNbf, err := numericDate(claims, "nbf")
	if err != nil {
		return err
	}
	iat, hasIat, err := numericDate(claims, "iat")
	if err != nil {
		return err
	}
	if v.validateExp {
		if !hasExp {
			return ErrMissingExp
		}
		if !now.Before(exp.Add(v.leeway)) {
			return ErrExpired
		}
	}
	if hasExp {
		res.ExpiresAt = exp
	}
	if hasNbf && now.Add(v.leeway).Before(nbf) {
		return ErrNotYetValid
	}
	if hasIat && now.Add(v.leeway).Before(iat) {
		return ErrIssuedInFuture
	}
	if v.iatWindow > 0 {
		if !hasIat {
			return fmt.Errorf("%w: iat", ErrMissingClaim)
		}
		if now.Sub(iat) > v.iatWindow+v.leeway {
			return ErrTooOld
		}
	}
	if v.maxLifetime > 0 {
		if !hasExp {
			return ErrMissingExp
		}
		start := now
		if hasIat {
			start = iat
		}
		if exp.Sub(start) > v.maxLifetime {
			return ErrLifetime
		}
	}
	if len(v.aud) > 0 && !v.audOK(claims["aud"]) {
		return ErrAudience
	}
	if v.sub != nil {
		s, ok := claims["sub"].(string)
		if !ok || !v.sub.match(s) {
			return ErrSubject
		}
	}
	for _, r := range v.required {
		if _, ok := claims[r]; !ok {
			return fmt.Errorf("%w: %s", ErrMissingClaim, r)
		}
	}
	if v.replay != nil {
		jti, ok := claims["jti"].(string)
		if !ok || jti == "" {
			return fmt.Errorf("%w: jti (replay detection)", ErrMissingClaim)
		}
		until := exp
		if !hasExp {
			until = now.Add(24 * time.Hour)
		}
		iss, _ := claims["iss"].(string)
		err := v.replay.UseOnce(ctx, v.replayNS, iss+"\x00"+jti, until.Add(v.leeway))
		if errors.Is(err, store.ErrAlreadyUsed) {
			return ErrReplay
		}
		if err != nil {
			// The store could not decide: refuse rather than skip the
			// check (SECURITY §5.2).
			return sts.ErrTemporarilyUnavailable.WithCause(fmt.Errorf("jwt: replay check: %w", err))
		}
	}
	return nil
}

func (v *Validator) audOK(a any) bool {
	match := func(s string) bool {
		for _, m := range v.aud {
			if m.match(s) {
				return true
			}
		}
		return false
	}
	switch x := a.(type) {
	case string:
		return match(x)
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok && match(s) {
				return true
			}
		}
	}
	return false
}

// ValidateToken implements sts.TokenValidator: it verifies the request's
// base token and fills the STSUU with its claims (type
// urn:com:ibm:JWT:claim), the claim_json and header context attributes
// (type urn:com:ibm:JWT) and the principal name.
func (m *Module) ValidateToken(ctx context.Context, c *sts.Call) error {
	if c.Request == nil || c.Request.Base == nil || len(c.Request.Base.Data) == 0 {
		return sts.ErrInvalidRequest.WithDescription("a token is required")
	}
	var opts VerifyOptions
	if u, ok := c.Request.Claims["signing.jwksUri"]; ok {
		s, _ := u.(string)
		if s == "" || len(m.val.requestJWKS) == 0 {
			return sts.ErrInvalidRequest.WithDescription("signing.jwksUri is not accepted").WithCause(ErrRequestJWKSURI)
		}
		opts.JWKSURI = s
	}
	res, err := m.val.Verify(ctx, c.Request.Base.Data, opts)
	if err != nil {
		if c.Logger != nil {
			c.Logger.Debug("token refused", "token", keys.Fingerprint(c.Request.Base.Data), "reason", err.Error())
		}
		return err
	}
	return m.val.fill(c.User, res)
}

// fill writes a verified token into the universal user.
func (v *Validator) fill(u *sts.STSUU, res *Result) error {
	n := len(res.ClaimOrder)
	// One backing array for every attribute written here (the claims, then
	// claim_json, subject_expires_at, header and the principal name) and
	// one for their single values: a 10-claim token costs two allocations
	// here, not thirty.
	attrs := make([]sts.Attribute, n+4)
	single := make([]any, n+4)
	fresh := len(u.Attributes) == 0
	if fresh {
		u.Attributes = make(sts.Attributes, 0, n)
	}
	for i, name := range res.ClaimOrder {
		val := res.Claims[name]
		a := &attrs[i]
		a.Name, a.Type = name, sts.TypeJWTClaim
		if arr, ok := val.([]any); ok && len(arr) > 1 {
			// A multi-element array becomes a multi-valued attribute, as
			// ISAM rules expect; arrays of 0 or 1 elements stay one array
			// value so that issuing writes them back as arrays.
			a.Values = arr
		} else {
			single[i] = val
			a.Values = single[i : i+1 : i+1]
		}
		if fresh {
			u.Attributes = append(u.Attributes, a)
		} else {
			u.Attributes.Set(a)
		}
	}
	one := func(i int, name, typ string, val any) *sts.Attribute {
		a := &attrs[i]
		a.Name, a.Type = name, typ
		single[i] = val
		a.Values = single[i : i+1 : i+1]
		return a
	}
	claimsStr, headerStr := res.claimsStr, res.headerStr
	if claimsStr == "" {
		claimsStr = string(res.ClaimsJSON)
	}
	if headerStr == "" {
		headerStr = string(res.HeaderJSON)
	}
	ctxAttrs := [3]*sts.Attribute{one(n, "claim_json", sts.TypeJWT, claimsStr)}
	nctx := 1
	if !res.ExpiresAt.IsZero() {
		// Issue steps cap the lifetime of what they issue from this token
		// at its remaining lifetime (SECURITY §2.7).
		ctxAttrs[nctx] = one(n+1, SubjectExpiresAt, TypeToken, json.Number(strconv.FormatInt(res.ExpiresAt.Unix(), 10)))
		nctx++
	}
	ctxAttrs[nctx] = one(n+2, "header", sts.TypeJWT, headerStr)
	nctx++
	if len(u.Context) == 0 {
		u.Context = make(sts.Attributes, 0, nctx)
		u.Context = append(u.Context, ctxAttrs[:nctx]...)
	} else {
		for _, a := range ctxAttrs[:nctx] {
			u.Context.Set(a)
		}
	}
	if p, ok := res.Claims[v.principalClaim]; ok {
		if name := sts.StringValue(p); name != "" {
			if len(u.Principal) == 0 {
				// What SetPrincipalName does for a user without
				// principal attributes, from the shared arrays.
				u.Principal = sts.Attributes{one(n+3, sts.PrincipalNameAttribute, sts.TypeAccessManager, name)}
			} else {
				u.SetPrincipalName(name)
			}
		}
	} else if v.principalClaim != "sub" {
		return sts.ErrInvalidRequest.WithDescription("the token is invalid").WithCause(fmt.Errorf("jwt: %w: %s", ErrMissingClaim, v.principalClaim))
	}
	return nil
}

var _ sts.TokenValidator = (*Module)(nil)

package jwt

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chainsts/chainsts/keys"
	"github.com/chainsts/chainsts/sts"
)

// overrideNames are the per-request signing properties (context attributes
// of type urn:com:ibm:JWT) a step may allow, with ISAM's names.
var overrideNames = []string{"signing.alg", "signing.db", "signing.cert", "signing.kid", "signing.symmetricKey"}

// issueState is an issue step's prepared configuration.
type issueState struct {
	key        *keys.Key
	keyHdr     string // precomputed base64url header for key without extras
	profile    string
	typ        string
	lifetime   time.Duration
	nbfOffset  *time.Duration
	jtiLen     int
	includeIAT bool
	iss, sub   string
	aud        any // nil, string or []any
	reserved   map[string]bool
	reject     bool
	overrides  map[string]bool
	tokenType  string
	enc        *encrypter
	app        *keys.App
	defaultKS  string
	extend     bool
	now        func() time.Time
}

func (m *Module) provisionIssue(host sts.Host) (*issueState, error) {
	if len(m.Issuers) > 0 || len(m.Algorithms) > 0 || len(m.Typ) > 0 || m.ValidateExp != nil || m.Leeway != nil ||
		m.IATWindow != 0 || m.MaxLifetime != 0 || len(m.RequiredClaims) > 0 || m.PrincipalClaim != "" || m.Replay.Enabled || len(m.RequestJWKSURIs) > 0 {
		return nil, sts.ConfigErrorf("", "issuers, algorithms, typ, validate_exp, leeway, iat_window, max_lifetime, required_claims, principal_claim, replay and request_jwks_uris apply to validate steps only")
	}
	if m.Signing.Certificate != "" || m.Signing.JWKSURI != "" || m.Signing.Discovery {
		return nil, sts.ConfigErrorf("signing", "certificate, jwks_uri and discovery are verification sources; an issue step signs with keystore/label/kid or symmetric_key")
	}
	st := &issueState{app: m.app, iss: m.Iss, sub: m.Sub, now: time.Now, lifetime: m.Lifetime, nbfOffset: m.NBFOffset,
		jtiLen: m.JTILength, includeIAT: m.IncludeIAT == nil || *m.IncludeIAT, tokenType: first(m.TokenType, sts.TokenTypeJWT),
		reserved: map[string]bool{}, overrides: map[string]bool{}, reject: m.ReservedClaims == "reject", defaultKS: m.Signing.Keystore, extend: m.ExtendLifetime}
	if st.lifetime == 0 {
		st.lifetime = time.Hour
	}
	if st.lifetime < 0 {
		return nil, sts.ConfigErrorf("lifetime", "must be positive")
	}
	if st.jtiLen == 0 {
		st.jtiLen = 32
	}
	if st.jtiLen < 16 || st.jtiLen > 256 {
		return nil, sts.ConfigErrorf("jti_length", "must be between 16 and 256")
	}
	for _, r := range m.AllowReserved {
		st.reserved[r] = true
	}
	for _, o := range m.AllowOverrides {
		st.overrides[o] = true
	}
	switch m.Profile {
	case "", ProfilePlain:
		st.profile, st.typ = ProfilePlain, "JWT"
	case ProfileAccessToken:
		st.profile, st.typ = ProfileAccessToken, "at+jwt"
		st.includeIAT = true
	case ProfileIDToken:
		st.profile, st.typ = ProfileIDToken, "JWT"
		st.includeIAT = true
	default:
		return nil, sts.ConfigErrorf("profile", "must be plain, access_token or id_token")
	}
	switch len(m.Aud) {
	case 0:
	case 1:
		st.aud = m.Aud[0]
	default:
		a := make([]any, len(m.Aud))
		for i, s := range m.Aud {
			a[i] = s
		}
		st.aud = a
	}
	k, err := m.signingKey(host)
	if err != nil {
		return nil, err
	}
	st.key = k
	st.keyHdr = encodeHeader(k, st.typ, nil)
	if st.enc, err = m.provisionEncrypt(host); err != nil {
		return nil, err
	}
	return st, nil
}

// signingKey resolves the configured signing key and fails the load when it
// cannot sign (SECURITY §4.3: no fallback key).
func (m *Module) signingKey(host sts.Host) (*keys.Key, error) {
	s := m.Signing
	if s.Alg != "" {
		if err := checkAlgs("signing.alg", []string{s.Alg}); err != nil {
			return nil, err
		}
	}
	var k *keys.Key
	switch {
	case s.SymmetricKey != nil:
		if s.Keystore != "" || s.Label != "" {
			return nil, sts.ConfigErrorf("signing", "use either symmetric_key or keystore/label")
		}
		var err error
		if k, err = readSecretKey(host, "signing.symmetric_key", s.SymmetricKey, first(s.Alg, s.SymmetricKey.Alg, "HS256"), keys.UseSig); err != nil {
			return nil, err
		}
	case s.Keystore != "":
		if m.app == nil {
			return nil, sts.ConfigErrorf("signing.keystore", "no keystores app")
		}
		ks, ok := m.app.Keystore(s.Keystore)
		if !ok {
			return nil, sts.ConfigErrorf("signing.keystore", "no keystore %q", s.Keystore)
		}
		var err error
		if k, err = pickKey(ks, s.Label, s.KID, s.Alg); err != nil {
			return nil, sts.ConfigErrorf("signing", "%v", err)
		}
	default:
		return nil, sts.ConfigErrorf("signing", "an issue step needs signing.keystore (with label, kid or alg) or signing.symmetric_key")
	}
	if !k.CanSign() {
		return nil, sts.ConfigErrorf("signing", "key %s cannot sign (public only, weak, or an encryption key)", k)
	}
	return k, nil
}

// pickKey selects a signing key in a keystore by label, else kid, else the
// first key for alg, else the first signing key. A key bound to another
// algorithm than alg is an error, never a fallback.
func pickKey(ks *keys.Keystore, label, kid, alg string) (*keys.Key, error) {
	var k *keys.Key
	switch {
	case label != "":
		var ok bool
		if k, ok = ks.Key(label); !ok {
			return nil, fmt.Errorf("keystore %q has no key %q", ks.Name, label)
		}
	case kid != "":
		for _, c := range ks.KeysByKID(kid) {
			if alg == "" || c.Alg == alg {
				k = c
				break
			}
		}
		if k == nil {
			return nil, fmt.Errorf("keystore %q has no key with kid %q", ks.Name, kid)
		}
	case alg != "":
		if k = ks.SigningKey(alg); k == nil {
			return nil, fmt.Errorf("keystore %q has no signing key for %s", ks.Name, alg)
		}
	default:
		for _, c := range ks.Keys() {
			if c.CanSign() {
				k = c
				break
			}
		}
		if k == nil {
			return nil, fmt.Errorf("keystore %q has no signing key", ks.Name)
		}
	}
	if alg != "" && k.Alg != alg {
		return nil, fmt.Errorf("key %s is bound to %s, not %s", k, k.Alg, alg)
	}
	if !k.CanSign() {
		return nil, fmt.Errorf("key %s cannot sign", k)
	}
	return k, nil
}

// encodeHeader returns the base64url protected header for a key: alg, kid
// (always for asymmetric keys; for secrets only when configured), typ, and
// any extra parameters.
func encodeHeader(k *keys.Key, typ string, extra map[string]any) string {
	h := make(map[string]any, 3+len(extra))
	for n, v := range extra {
		h[n] = v
	}
	h["alg"] = k.Alg
	if k.KID != "" {
		h["kid"] = k.KID
	}
	if typ != "" {
		h["typ"] = typ
	}
	b, _ := marshalJSON(h)
	return b64.EncodeToString(b)
}

func marshalJSON(v any) ([]byte, error) { return appendJSON(make([]byte, 0, 512), v) }

// claimValue turns an attribute into a claim: one value as itself, several
// as an array, each keeping its JSON type.
func claimValue(a *sts.Attribute) (any, bool) {
	switch len(a.Values) {
	case 0:
		return nil, false
	case 1:
		return xmlAsString(a.Values[0]), true
	}
	out := make([]any, len(a.Values))
	for i, v := range a.Values {
		out[i] = xmlAsString(v)
	}
	return out, true
}

func xmlAsString(v any) any {
	if x, ok := v.(sts.XML); ok {
		return string(x)
	}
	return v
}

// errReserved is the cause when reserved_claims: reject meets a reserved
// claim or header from the STSUU.
var errReserved = errors.New("reserved claim or header set by the chain without allow_reserved")

// IssueToken implements sts.TokenIssuer.
func (m *Module) IssueToken(ctx context.Context, c *sts.Call) error {
	tok, err := m.iss.issue(ctx, c)
	if err != nil {
		return err
	}
	c.Output = tok
	return nil
}

func (st *issueState) issue(ctx context.Context, c *sts.Call) (*sts.Token, error) {
	u := c.User
	claims := make(map[string]any, 16)
	if cj := u.Context.GetByNameAndType("claim_json", sts.TypeJWT); cj != nil && len(cj.Values) > 0 {
		var obj map[string]any
		switch x := cj.Values[0].(type) {
		case string:
			v, err := sts.ParseJSONValue([]byte(x))
			if err != nil {
				return nil, fmt.Errorf("jwt issue: claim_json: %w", err)
			}
			var ok bool
			if obj, ok = v.(map[string]any); !ok {
				return nil, errors.New("jwt issue: claim_json is not a JSON object")
			}
		case map[string]any:
			obj = x
		default:
			return nil, errors.New("jwt issue: claim_json is not a JSON object")
		}
		for n, v := range obj {
			claims[n] = v
		}
	}
	for _, a := range u.Attributes {
		if a.Type == sts.TypeJWTIssueClaim {
			if v, ok := claimValue(a); ok {
				claims[a.Name] = v
			}
		}
	}
	for _, r := range reservedClaims {
		if _, has := claims[r]; has && !st.reserved[r] {
			if st.reject {
				return nil, fmt.Errorf("jwt issue: %w: %s", errReserved, r)
			}
			delete(claims, r)
		}
	}
	for _, r := range []string{"exp", "iat", "nbf"} {
		if v, has := claims[r]; has {
			if _, ok := v.(json.Number); !ok {
				return nil, fmt.Errorf("jwt issue: %s must be a number", r)
			}
		}
	}
	var extraHdr map[string]any
	var hdrAlg, hdrKID string
	for _, a := range u.Context {
		if a.Type != sts.TypeJWTHeaderClaim {
			continue
		}
		v, ok := claimValue(a)
		if !ok {
			continue
		}
		switch {
		case slices.Contains(forbiddenHeaders, a.Name):
			if st.reject {
				return nil, fmt.Errorf("jwt issue: header %q can never be set from the STSUU", a.Name)
			}
			continue
		case slices.Contains(grantableHeaders, a.Name) && !st.reserved[a.Name]:
			if st.reject {
				return nil, fmt.Errorf("jwt issue: %w: header %s", errReserved, a.Name)
			}
			continue
		case a.Name == "alg":
			hdrAlg, _ = v.(string)
			continue
		case a.Name == "kid":
			hdrKID, _ = v.(string)
			continue
		}
		if extraHdr == nil {
			extraHdr = map[string]any{}
		}
		extraHdr[a.Name] = v
	}
	key, err := st.requestKey(u, hdrAlg, hdrKID)
	if err != nil {
		return nil, err
	}

	now := st.now()
	// Reserved claims the chain may not set were removed above, so a value
	// still present here was granted by allow_reserved.
	if _, has := claims["iss"]; !has && st.iss != "" {
		claims["iss"] = st.iss
	}
	if st.sub != "" {
		claims["sub"] = st.sub
	} else if _, has := claims["sub"]; !has {
		if p := u.PrincipalName(); p != "" {
			claims["sub"] = p
		}
	}
	if st.aud != nil {
		claims["aud"] = st.aud
	} else if c.Request != nil && len(c.Request.Audiences)+len(c.Request.Resources) > 0 {
		auds := append(slices.Clone(c.Request.Audiences), c.Request.Resources...)
		if len(auds) == 1 {
			claims["aud"] = auds[0]
		} else {
			a := make([]any, len(auds))
			for i, s := range auds {
				a[i] = s
			}
			claims["aud"] = a
		}
	}
	sec := func(t time.Time) json.Number { return json.Number(fmt.Sprint(t.Unix())) }
	if _, has := claims["iat"]; !has && st.includeIAT {
		claims["iat"] = sec(now)
	}
	exp := now.Add(st.lifetime)
	if v, has := claims["exp"]; has {
		// A granted exp (checked to be a number above) may be written as
		// 1.7e9 or with a fraction.
		f, err := strconv.ParseFloat(string(v.(json.Number)), 64)
		if err != nil {
			return nil, fmt.Errorf("jwt issue: exp: %w", err)
		}
		exp = time.Unix(int64(f), 0)
	} else {
		if se := u.Context.GetByNameAndType(SubjectExpiresAt, TypeToken); se != nil && !st.extend {
			if n, err := strconv.ParseInt(sts.StringValue(se.Value()), 10, 64); err == nil && time.Unix(n, 0).Before(exp) {
				exp = time.Unix(n, 0)
			}
			// A subject token accepted within the validation leeway after
			// its exp leaves no lifetime: issue nothing rather than a token
			// that is already expired (the opaque module does the same).
			if !exp.After(now) {
				return nil, sts.ErrInvalidRequest.WithDescription("the subject token has expired").
					WithCause(errors.New("jwt issue: no lifetime left before the subject token's expiry"))
			}
		}
		claims["exp"] = sec(exp)
	}
	if _, has := claims["nbf"]; !has && st.nbfOffset != nil {
		claims["nbf"] = sec(now.Add(-*st.nbfOffset))
	}
	if _, has := claims["jti"]; !has {
		jti, err := randomID(st.jtiLen)
		if err != nil {
			return nil, err
		}
		claims["jti"] = jti
	}
	scope := ""
	switch st.profile {
	case ProfileAccessToken:
		if _, has := claims["client_id"]; !has && c.Request != nil && c.Request.ClientID != "" {
			claims["client_id"] = c.Request.ClientID
		}
		switch s := claims["scope"].(type) {
		case []any:
			parts := make([]string, len(s))
			for i, e := range s {
				parts[i] = sts.StringValue(e)
			}
			scope = strings.Join(parts, " ")
		case string:
			scope = s
		case nil:
			if c.Request != nil {
				scope = strings.Join(c.Request.Scopes, " ")
			}
		default:
			return nil, errors.New("jwt issue: scope must be a string or a list of strings")
		}
		if scope != "" {
			claims["scope"] = scope
		} else {
			delete(claims, "scope")
		}
		if err := requireClaims(claims, "iss", "exp", "aud", "sub", "client_id", "iat", "jti"); err != nil {
			return nil, err
		}
	case ProfileIDToken:
		if err := requireClaims(claims, "iss", "sub", "aud", "exp", "iat"); err != nil {
			return nil, err
		}
	}

	payload, err := marshalJSON(claims)
	if err != nil {
		return nil, fmt.Errorf("jwt issue: claims: %w", err)
	}
	typ := st.typ
	if t, ok := extraHdr["typ"].(string); ok {
		typ = t
		delete(extraHdr, "typ")
	}
	hdr := st.keyHdr
	if key != st.key || len(extraHdr) > 0 || typ != st.typ {
		hdr = encodeHeader(key, typ, extraHdr)
	}
	buf := make([]byte, 0, len(hdr)+1+b64.EncodedLen(len(payload))+1+b64.EncodedLen(512))
	buf = append(buf, hdr...)
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, payload)
	sig, err := key.Sign(buf)
	if err != nil {
		// A signing failure is a server fault; no token, no fallback key.
		return nil, fmt.Errorf("jwt issue: sign with %s: %w", key, err)
	}
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, sig)
	if st.enc != nil {
		if buf, err = st.enc.encrypt(ctx, buf); err != nil {
			return nil, fmt.Errorf("jwt issue: encrypt: %w", err)
		}
	}
	return &sts.Token{Type: st.tokenType, Data: buf, ExpiresAt: exp, Scope: scope, IsAccessToken: st.profile == ProfileAccessToken}, nil
}

func requireClaims(claims map[string]any, names ...string) error {
	for _, n := range names {
		if v, ok := claims[n]; !ok || v == nil || v == "" {
			if n == "aud" {
				return sts.ErrInvalidTarget.WithDescription("no audience for the token").WithCause(errors.New("jwt issue: aud missing"))
			}
			return fmt.Errorf("jwt issue: profile requires claim %q", n)
		}
	}
	return nil
}

// requestKey applies the per-request signing overrides the step allows
// (ISAM's signing.* context attributes of type urn:com:ibm:JWT, and the
// alg/kid header claims where allow_reserved grants them). Overrides the
// step does not allow are ignored.
func (st *issueState) requestKey(u *sts.STSUU, hdrAlg, hdrKID string) (*keys.Key, error) {
	if len(st.overrides) == 0 && hdrAlg == "" && hdrKID == "" {
		return st.key, nil
	}
	get := func(name string) string {
		if !st.overrides[name] {
			return ""
		}
		if a := u.Context.GetByNameAndType(name, sts.TypeJWT); a != nil {
			return sts.StringValue(a.Value())
		}
		return ""
	}
	alg, db, label, kid, secret := first(get("signing.alg"), hdrAlg), get("signing.db"), get("signing.cert"), first(get("signing.kid"), hdrKID), get("signing.symmetricKey")
	if alg == "" && db == "" && label == "" && kid == "" && secret == "" {
		return st.key, nil
	}
	if alg != "" {
		if keys.IsNone(alg) {
			return nil, errors.New(`jwt issue: alg "none" is never used`)
		}
		if _, ok := keys.LookupAlgorithm(alg); !ok {
			return nil, fmt.Errorf("jwt issue: unknown signing.alg %q", alg)
		}
	}
	if secret != "" {
		k, err := keys.NewKey(keys.KeyOptions{Label: "signing.symmetricKey", Key: []byte(secret), Alg: first(alg, "HS256")})
		if err != nil {
			return nil, fmt.Errorf("jwt issue: signing.symmetricKey: %w", err)
		}
		k.KID = ""
		return k, nil
	}
	ksName := first(db, st.key.Store, st.defaultKS)
	if st.app == nil {
		return nil, errors.New("jwt issue: no keystores app for the signing override")
	}
	ks, ok := st.app.Keystore(ksName)
	if !ok {
		return nil, fmt.Errorf("jwt issue: signing.db: no keystore %q", ksName)
	}
	if label == "" && kid == "" && alg == "" {
		return st.key, nil
	}
	if label == "" && kid == "" && alg == st.key.Alg && ks.Name == st.key.Store {
		return st.key, nil
	}
	k, err := pickKey(ks, label, kid, alg)
	if err != nil {
		return nil, fmt.Errorf("jwt issue: signing override: %w", err)
	}
	return k, nil
}

// randomID returns n random base64url characters.
func randomID(n int) (string, error) {
	b := make([]byte, (n*6+7)/8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return b64.EncodeToString(b)[:n], nil
}

var _ sts.TokenIssuer = (*Module)(nil)

package clients

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/chainsts/chainsts/keys"
	"github.com/chainsts/chainsts/store"
	"github.com/chainsts/chainsts/sts"
)

// JWT assertions (RFC 7523): the client assertions of private_key_jwt
// (§2.2) and the assertions of the JWT bearer grant (§2.1) are checked by
// the same code, following SECURITY §1: raw-token checks before parsing,
// the algorithm from configuration, keys bound to one algorithm and found
// by kid among the keys configured for the issuer, no key from the header,
// crit refused, typ checked, exp required, lifetime and iat window bounded,
// jti recorded once.

// AssertionKeys finds the keys that may verify an assertion: those bound
// to alg and, when the header names one, with that kid.
type AssertionKeys interface {
	Lookup(ctx context.Context, kid, alg string) ([]*keys.Key, error)
}

// StaticKeys is a fixed key set (a configured JWKS, a certificate, keys
// from a keystore).
type StaticKeys []*keys.Key

// Lookup implements AssertionKeys. A token without kid is tried against
// every key bound to alg.
func (s StaticKeys) Lookup(_ context.Context, kid, alg string) ([]*keys.Key, error) {
	var out []*keys.Key
	for _, k := range s {
		if k.Alg == alg && k.Use == keys.UseSig && (kid == "" || k.KID == kid) {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, keys.ErrKeyNotFound
	}
	return out, nil
}

// RemoteKeys is a remote JWK Set (jwks_uri) with the algorithms keys
// without their own "alg" may be bound to.
type RemoteKeys struct {
	Set     *keys.RemoteSet
	Allowed []string
}

// Lookup implements AssertionKeys.
func (r RemoteKeys) Lookup(ctx context.Context, kid, alg string) ([]*keys.Key, error) {
	return r.Set.Lookup(ctx, kid, alg, r.Allowed)
}

// AssertionPolicy says what an acceptable assertion looks like.
type AssertionPolicy struct {
	// Issuer is the required iss (the client id for client assertions, the
	// trusted issuer for bearer grants).
	Issuer string
	// Subject, when set, is the required sub (client assertions: the
	// client id). SubjectAllowed, when set, decides other subjects.
	Subject        string
	SubjectAllowed func(sub string) bool
	// Audiences are the values that identify this server; the assertion's
	// aud must contain at least one of them.
	Audiences []string
	// Algorithms is the allow-list of JWS algorithms.
	Algorithms []string
	// Keys finds verification keys.
	Keys AssertionKeys
	// MaxLifetime bounds exp - iat (exp - now when there is no iat).
	MaxLifetime time.Duration
	// IATWindow is how old iat may be (default 30 minutes); RequireIAT
	// refuses assertions without iat.
	IATWindow  time.Duration
	RequireIAT bool
	// Leeway is the allowed clock skew for exp, nbf and iat (default 30s).
	Leeway time.Duration
	// Replays records the jti once; ReplayNamespace separates client
	// assertions from bearer assertions. A nil Replays skips the check and
	// must only be used where replay is harmless.
	Replays         store.Replays
	ReplayNamespace string
	// MaxSize bounds the compact token (default 16 KiB).
	MaxSize int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Assertion is a verified assertion.
type Assertion struct {
	Header    map[string]any
	Claims    map[string]any
	Issuer    string
	Subject   string
	Audience  []string
	JTI       string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// Raw is the compact token as received.
	Raw string
}

// AssertionError is why an assertion was refused. Reason is for the log;
// callers answer with a generic description (invalid_client for client
// assertions, invalid_grant for bearer assertions).
type AssertionError struct{ Reason string }

func (e *AssertionError) Error() string { return "assertion refused: " + e.Reason }

func refuse(format string, args ...any) error {
	return &AssertionError{Reason: fmt.Sprintf(format, args...)}
}

// assertionTypes are the typ values an assertion may carry: none, the
// generic JWT ones, and the explicit client-authentication type. Access
// tokens (at+jwt) and other typed tokens are refused (SECURITY §1.4).
var assertionTypes = []string{"", "jwt", "application/jwt", "client-authentication+jwt", "application/client-authentication+jwt"}

// PeekIssuer returns the unverified iss and sub of a compact JWS, to pick
// the policy that will verify it. Nothing it returns is trusted.
func PeekIssuer(raw string, maxSize int) (iss, sub string, err error) {
	c, err := splitJWS(raw, maxSize)
	if err != nil {
		return "", "", err
	}
	claims, err := decodeObject(c.payload)
	if err != nil {
		return "", "", refuse("claims: %v", err)
	}
	iss, _ = claims["iss"].(string)
	sub, _ = claims["sub"].(string)
	return iss, sub, nil
}

// Verify checks raw against the policy and, when everything else holds,
// records its jti. The error is an *AssertionError for an unacceptable
// assertion, keys.ErrStaleKeys or a store error when the server cannot
// decide (callers answer 503 for those).
func (p *AssertionPolicy) Verify(ctx context.Context, raw string) (*Assertion, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	leeway := p.Leeway
	if leeway == 0 {
		leeway = 30 * time.Second
	}
	window := p.IATWindow
	if window == 0 {
		window = 30 * time.Minute
	}
	c, err := splitJWS(raw, p.MaxSize)
	if err != nil {
		return nil, err
	}
	hdr, err := decodeObject(c.header)
	if err != nil {
		return nil, refuse("header: %v", err)
	}
	alg, _ := hdr["alg"].(string)
	if alg == "" || keys.IsNone(alg) || !slices.Contains(p.Algorithms, alg) {
		return nil, refuse("algorithm %q not allowed", alg)
	}
	if _, ok := hdr["crit"]; ok {
		return nil, refuse("crit header present")
	}
	typ, _ := hdr["typ"].(string)
	if !slices.Contains(assertionTypes, strings.ToLower(typ)) {
		return nil, refuse("typ %q is not an assertion type", typ)
	}
	kid, _ := hdr["kid"].(string)
	if _, isStr := hdr["kid"].(string); hdr["kid"] != nil && !isStr {
		return nil, refuse("kid is not a string")
	}
	if p.Keys == nil {
		return nil, refuse("no keys configured")
	}
	cands, err := p.Keys.Lookup(ctx, kid, alg)
	if err != nil {
		if errors.Is(err, keys.ErrStaleKeys) {
			return nil, err
		}
		return nil, refuse("no key for kid %q alg %s: %v", kid, alg, err)
	}
	verified := false
	for _, k := range cands {
		if k.Verify(alg, c.signingInput, c.sig) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, refuse("signature does not verify")
	}

	claims, err := decodeObject(c.payload)
	if err != nil {
		return nil, refuse("claims: %v", err)
	}
	a := &Assertion{Header: hdr, Claims: claims, Raw: raw}
	var ok bool
	if a.Issuer, ok = claims["iss"].(string); !ok || a.Issuer == "" || a.Issuer != p.Issuer {
		return nil, refuse("iss %v is not %q", claims["iss"], p.Issuer)
	}
	if a.Subject, ok = claims["sub"].(string); !ok || a.Subject == "" {
		return nil, refuse("sub missing")
	}
	if p.Subject != "" && a.Subject != p.Subject {
		return nil, refuse("sub %q is not %q", a.Subject, p.Subject)
	}
	if p.SubjectAllowed != nil && !p.SubjectAllowed(a.Subject) {
		return nil, refuse("sub %q not allowed for issuer %q", a.Subject, p.Issuer)
	}
	switch v := claims["aud"].(type) {
	case string:
		a.Audience = []string{v}
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, refuse("aud member is not a string")
			}
			a.Audience = append(a.Audience, s)
		}
	default:
		return nil, refuse("aud missing")
	}
	if !slices.ContainsFunc(a.Audience, func(s string) bool { return slices.Contains(p.Audiences, s) }) {
		return nil, refuse("aud %v does not identify this server", a.Audience)
	}
	t := now()
	exp, has, err := numericDate(claims, "exp")
	if err != nil || !has {
		return nil, refuse("exp missing or not a number")
	}
	a.ExpiresAt = exp
	if !t.Before(exp.Add(leeway)) {
		return nil, refuse("expired")
	}
	if nbf, has, err := numericDate(claims, "nbf"); err != nil {
		return nil, refuse("nbf not a number")
	} else if has && t.Add(leeway).Before(nbf) {
		return nil, refuse("not yet valid")
	}
	iat, hasIAT, err := numericDate(claims, "iat")
	if err != nil {
		return nil, refuse("iat not a number")
	}
	if hasIAT {
		a.IssuedAt = iat
		if iat.After(t.Add(leeway)) {
			return nil, refuse("iat in the future")
		}
		if t.Sub(iat) > window+leeway {
			return nil, refuse("iat older than the %s window", window)
		}
	} else if p.RequireIAT {
		return nil, refuse("iat missing")
	}
	if p.MaxLifetime > 0 {
		from := t
		if hasIAT {
			from = iat
		}
		if exp.Sub(from) > p.MaxLifetime+leeway {
			return nil, refuse("lifetime %s exceeds %s", exp.Sub(from), p.MaxLifetime)
		}
	}
	if _, isID := claims["nonce"]; isID {
		return nil, refuse("an ID token is not an assertion")
	}
	if p.Replays != nil {
		jti, _ := claims["jti"].(string)
		if jti == "" {
			return nil, refuse("jti missing")
		}
		a.JTI = jti
		// The record lives until the assertion could no longer be
		// accepted, leeway included.
		ns := p.ReplayNamespace + ":" + p.Issuer
		if err := p.Replays.UseOnce(ctx, ns, jti, exp.Add(leeway)); err != nil {
			if errors.Is(err, store.ErrAlreadyUsed) {
				return nil, refuse("jti %q already used", jti)
			}
			return nil, err
		}
	} else {
		a.JTI, _ = claims["jti"].(string)
	}
	return a, nil
}

// AssertionFailure maps a Verify error to the caller-facing error: an
// unacceptable assertion becomes base (invalid_client or invalid_grant)
// with the reason as hidden cause; a server that cannot decide (stale
// keys, store outage) answers 503 temporarily_unavailable.
func AssertionFailure(err error, base *sts.Error) error {
	var ae *AssertionError
	if errors.As(err, &ae) {
		return base.WithCause(err)
	}
	return sts.ErrTemporarilyUnavailable.WithCause(err)
}

type jws struct {
	header, payload, sig []byte
	signingInput         string
}

var b64 = base64.RawURLEncoding.Strict()

// splitJWS applies SECURITY §1.1 to a compact JWS: size cap, base64url
// characters and dots only, exactly three parts, canonical encoding.
func splitJWS(raw string, maxSize int) (*jws, error) {
	if maxSize <= 0 {
		maxSize = 16 << 10
	}
	if raw == "" {
		return nil, refuse("empty")
	}
	if len(raw) > maxSize {
		return nil, refuse("larger than %d bytes", maxSize)
	}
	for i := 0; i < len(raw); i++ {
		ch := raw[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') {
			return nil, refuse("character outside base64url")
		}
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, refuse("%d parts, want a 3-part JWS", len(parts))
	}
	var dec [3][]byte
	for i, p := range parts {
		b, err := b64.DecodeString(p)
		if err != nil {
			return nil, refuse("part %d is not canonical base64url", i+1)
		}
		dec[i] = b
	}
	return &jws{header: dec[0], payload: dec[1], sig: dec[2], signingInput: parts[0] + "." + parts[1]}, nil
}

// decodeObject decodes one JSON object, numbers kept as json.Number,
// refusing duplicate members at the top level and trailing data.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	out := map[string]any{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k := kt.(string)
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("duplicate member %q", k)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("data after the JSON object")
	}
	return out, nil
}

// numericDate reads a NumericDate claim; a string or other type is an
// error (SECURITY §1.5: numeric dates must be numbers).
func numericDate(claims map[string]any, name string) (time.Time, bool, error) {
	v, ok := claims[name]
	if !ok {
		return time.Time{}, false, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, true, fmt.Errorf("%s is not a number", name)
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return time.Time{}, true, fmt.Errorf("%s out of range", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

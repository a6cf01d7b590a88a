package opaque

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chainsts/chainsts/store"
	"github.com/chainsts/chainsts/sts"
)

func init() { sts.RegisterModule(Module{}) }

// Context attribute names and type shared with the other token modules and
// the token endpoint.
const (
	// TypeToken is the context attribute type of token metadata chainsts
	// passes between steps.
	TypeToken = "urn:chainsts:token"
	// AttrSubjectExpiresAt is the validated input token's expiry (Unix
	// seconds); issue steps never issue past it unless configured to.
	AttrSubjectExpiresAt = "subject_expires_at"
	// AttrClientID, AttrScope, AttrIssuedAt name the validated opaque
	// token's client, scope and issue time in the context section.
	AttrClientID = "token_client_id"
	AttrScope    = "token_scope"
	AttrIssuedAt = "token_issued_at"
)

// Defaults.
const (
	DefaultLifetime    = time.Hour
	DefaultHandleBytes = 32
	MinHandleBytes     = 32
	// MaxHandleLength bounds what validate accepts before hashing.
	MaxHandleLength = 512
)

// Module is one configured `opaque` step.
type Module struct {
	// Lifetime is how long an issued handle is valid (default 1h).
	Lifetime time.Duration `yaml:"lifetime"`
	// HandleBytes is the number of random bytes in a handle (default and
	// minimum 32, i.e. 256 bits).
	HandleBytes int `yaml:"handle_bytes"`
	// Prefix is prepended to issued handles (e.g. "cst_") so that secret
	// scanners can recognize them.
	Prefix string `yaml:"prefix"`
	// TokenType is the type URI of issued handles (default
	// urn:ietf:params:oauth:token-type:access_token).
	TokenType string `yaml:"token_type"`
	// ExtendLifetime lets an issued handle outlive the validated input
	// token (context attribute subject_expires_at); off by default, so a
	// token exchange never extends a subject token's life.
	ExtendLifetime bool `yaml:"extend_lifetime"`

	st  store.Store
	now func() time.Time
}

// STSModule implements sts.Module.
func (Module) STSModule() sts.ModuleInfo {
	return sts.ModuleInfo{
		Name:        "opaque",
		Description: "reference tokens: random handles kept in the store with their STSUU",
		New:         func() sts.Module { return new(Module) },
	}
}

// Provision implements sts.Provisioner: it reaches the store app.
func (m *Module) Provision(ctx sts.ProvisionContext) error {
	if m.Lifetime == 0 {
		m.Lifetime = DefaultLifetime
	}
	if m.HandleBytes == 0 {
		m.HandleBytes = DefaultHandleBytes
	}
	if m.TokenType == "" {
		m.TokenType = sts.TokenTypeAccessToken
	}
	m.now = time.Now
	st, err := sts.HostApp[store.Store](ctx.Host, "store")
	if err != nil {
		return fmt.Errorf("opaque: %w", err)
	}
	m.st = st
	return nil
}

// Validate implements sts.Validator.
func (m *Module) Validate() error {
	if m.Lifetime < 0 {
		return sts.ConfigErrorf("lifetime", "must be positive")
	}
	if m.HandleBytes < MinHandleBytes {
		return sts.ConfigErrorf("handle_bytes", "must be at least %d (256 bits)", MinHandleBytes)
	}
	if m.HandleBytes > 128 {
		return sts.ConfigErrorf("handle_bytes", "must be at most 128")
	}
	if strings.ContainsFunc(m.Prefix, func(r rune) bool { return !isHandleRune(r) }) {
		return sts.ConfigErrorf("prefix", "may only contain letters, digits, '-' and '_'")
	}
	return nil
}

// record is what the store keeps with a handle.
type record struct {
	V        int             `json:"v"`
	STSUU    json.RawMessage `json:"stsuu"`
	Scope    string          `json:"scope,omitempty"`
	Audience []string        `json:"aud,omitempty"`
}

// IssueToken implements sts.TokenIssuer: it stores c.User under a new
// handle and sets c.Output to the handle. A store failure fails the step
// with 503 temporarily_unavailable and nothing is issued.
func (m *Module) IssueToken(ctx context.Context, c *sts.Call) error {
	now := m.now()
	exp := now.Add(m.Lifetime)
	if !m.ExtendLifetime {
		if limit, ok := SubjectExpiry(c.User); ok && limit.Before(exp) {
			exp = limit
		}
	}
	if !exp.After(now) {
		return sts.ErrInvalidRequest.WithDescription("the subject token has expired").
			WithCause(errors.New("opaque issue: no lifetime left before the subject token's expiry"))
	}
	return Issue(ctx, m.st, c, IssueOptions{ExpiresAt: exp, TokenType: m.TokenType, HandleBytes: m.HandleBytes, Prefix: m.Prefix, Now: now})
}

// IssueOptions shape one issued handle.
type IssueOptions struct {
	ExpiresAt   time.Time
	TokenType   string
	HandleBytes int
	Prefix      string
	Now         time.Time
}

// Issue stores c.User under a new handle and sets c.Output to it. The
// token endpoint uses it to hand out opaque access tokens to clients that
// asked for them (access_token_format: opaque) whatever the chain issued.
func Issue(ctx context.Context, st store.Store, c *sts.Call, o IssueOptions) error {
	if o.HandleBytes < MinHandleBytes {
		o.HandleBytes = DefaultHandleBytes
	}
	if o.TokenType == "" {
		o.TokenType = sts.TokenTypeAccessToken
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	raw := make([]byte, o.HandleBytes)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("opaque issue: random handle: %w", err)
	}
	handle := o.Prefix + base64.RawURLEncoding.EncodeToString(raw)

	u := c.User.Clone()
	u.RST = nil // the issuing request's elements are not the token's
	scope := Scope(c)
	aud := append(append([]string(nil), c.Request.Audiences...), c.Request.Resources...)
	data, err := json.Marshal(record{V: 1, STSUU: u.JSON(), Scope: scope, Audience: aud})
	if err != nil {
		return fmt.Errorf("opaque issue: encoding: %w", err)
	}
	rec := &store.TokenRecord{
		ID:        store.HashHandle(handle),
		ClientID:  c.Request.ClientID,
		Subject:   c.User.PrincipalName(),
		TokenType: o.TokenType,
		Data:      data,
		IssuedAt:  o.Now,
		ExpiresAt: o.ExpiresAt,
	}
	if err := st.PutToken(ctx, rec); err != nil {
		return store.Unavailable(fmt.Errorf("opaque issue: storing token: %w", err))
	}
	c.Output = &sts.Token{
		Type:          o.TokenType,
		Data:          []byte(handle),
		ExpiresAt:     o.ExpiresAt,
		Scope:         scope,
		IsAccessToken: o.TokenType == sts.TokenTypeAccessToken,
	}
	return nil
}

// Scope returns the scope an issued token carries: the STSUU attribute
// "scope" of type urn:ibm:jwt:claim when a rule set one, otherwise the
// request's (already narrowed) scopes.
func Scope(c *sts.Call) string {
	if a := c.User.Attributes.GetByNameAndType("scope", sts.TypeJWTIssueClaim); a != nil {
		var parts []string
		for _, v := range a.StringValues() {
			parts = append(parts, strings.Fields(v)...)
		}
		return strings.Join(parts, " ")
	}
	return strings.Join(c.Request.Scopes, " ")
}

// Lookup returns the record stored for a handle: the universal user it
// was issued from and its metadata. It is the one place that turns a
// presented handle into state; the validate step and the introspection
// endpoint both use it. An unknown, expired or malformed handle is
// store.ErrNotFound; other errors are store failures.
func Lookup(ctx context.Context, st store.Store, handle string) (*Token, error) {
	if handle == "" || len(handle) > MaxHandleLength || strings.ContainsFunc(handle, func(r rune) bool { return !isHandleRune(r) }) {
		return nil, store.ErrNotFound
	}
	rec, err := st.GetToken(ctx, store.HashHandle(handle))
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(rec.Data, &r); err != nil || r.V != 1 {
		return nil, fmt.Errorf("opaque: stored token %s is corrupt: %v", rec.ID[:8], err)
	}
	u, err := sts.ParseJSON(r.STSUU)
	if err != nil {
		return nil, fmt.Errorf("opaque: stored token %s: %w", rec.ID[:8], err)
	}
	return &Token{Record: rec, User: u, Scope: r.Scope, Audience: r.Audience}, nil
}

// Token is a looked-up opaque token.
type Token struct {
	Record   *store.TokenRecord
	User     *sts.STSUU
	Scope    string
	Audience []string
}

// ValidateToken implements sts.TokenValidator: the base token is a handle;
// an unknown or expired one is invalid_token, a store failure 503.
func (m *Module) ValidateToken(ctx context.Context, c *sts.Call) error {
	if c.Request.Base == nil {
		return sts.ErrInvalidRequest.WithDescription("no token to validate")
	}
	tok, err := Lookup(ctx, m.st, string(c.Request.Base.Data))
	if errors.Is(err, store.ErrNotFound) {
		return sts.ErrInvalidToken.WithCause(fmt.Errorf("opaque validate: unknown or expired handle %s", Fingerprint(string(c.Request.Base.Data))))
	}
	if err != nil {
		return store.Unavailable(err)
	}
	rst := c.User.RST
	*c.User = *tok.User
	c.User.RST = rst
	ctxAttrs := []*sts.Attribute{
		sts.NewAttribute(AttrSubjectExpiresAt, TypeToken, tok.Record.ExpiresAt.Unix()),
		sts.NewAttribute(AttrIssuedAt, TypeToken, tok.Record.IssuedAt.Unix()),
		sts.NewAttribute(AttrClientID, TypeToken, tok.Record.ClientID),
		sts.NewAttribute(AttrScope, TypeToken, tok.Scope),
	}
	for _, a := range ctxAttrs {
		c.User.Context.Set(a)
	}
	return nil
}

// SubjectExpiry returns the validated input token's expiry recorded in the
// context section (subject_expires_at), if any.
func SubjectExpiry(u *sts.STSUU) (time.Time, bool) {
	a := u.Context.GetByNameAndType(AttrSubjectExpiresAt, TypeToken)
	if a == nil {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(sts.StringValue(a.Value()), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// Fingerprint names a handle in logs without revealing it: the first 12
// characters of its stored hash.
func Fingerprint(handle string) string { return "opaque:" + store.HashHandle(handle)[:12] }

func isHandleRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}

// Interface guards.
var (
	_ sts.TokenIssuer    = (*Module)(nil)
	_ sts.TokenValidator = (*Module)(nil)
	_ sts.Provisioner    = (*Module)(nil)
	_ sts.Validator      = (*Module)(nil)
)

package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chainsts/chainsts/clients"
	"github.com/chainsts/chainsts/modules/opaque"
	"github.com/chainsts/chainsts/sts"
)

// grant is what the token endpoint verified about a request, handed to
// the chain's `oauth` steps through the context (never through the
// request, which other entry points fill from their callers).
type grant struct {
	grantType string
	client    *clients.Client
	// requested are the scopes the client asked for; restrict are the
	// allow-lists that apply (client, trusted issuer), each nil when
	// unrestricted.
	requested []string
	restrict  [][]string
	assertion *clients.Assertion
	actor     *actor

	// Set by the map step.
	policyApplied bool
	actApplied    bool
	granted       []string
	subjectExp    time.Time
}

// actor is a validated actor token's identity.
type actor struct {
	sub, iss string
	act      any
}

type grantKey struct{}

func withGrant(ctx context.Context, g *grant) context.Context {
	return context.WithValue(ctx, grantKey{}, g)
}

func grantFrom(ctx context.Context) *grant {
	g, _ := ctx.Value(grantKey{}).(*grant)
	return g
}

func init() { sts.RegisterModule(Module{}) }

// Module is the `oauth` module type (see the package documentation and
// README.md).
type Module struct {
	// AllowDelegation lets any validated actor act for the subject; by
	// default the subject token's may_act claim must name the actor.
	AllowDelegation bool `yaml:"allow_delegation"`
}

// STSModule implements sts.Module.
func (Module) STSModule() sts.ModuleInfo {
	return sts.ModuleInfo{
		Name:        "oauth",
		Description: "brings the token endpoint's verified grant into a chain (principal, scope narrowing, act)",
		New:         func() sts.Module { return new(Module) },
	}
}

var errNoGrant = errors.New("the oauth step only runs in chains called by the token endpoint")

// ValidateToken implements sts.TokenValidator for grants without a subject
// token: client_credentials (the principal is the client) and the JWT
// bearer grant (the principal is the verified assertion's sub, its claims
// become attributes as a jwt validate step would write them).
func (m *Module) ValidateToken(ctx context.Context, c *sts.Call) error {
	g := grantFrom(ctx)
	if g == nil {
		return sts.ErrInvalidRequest.WithCause(errNoGrant)
	}
	u := c.User
	switch g.grantType {
	case GrantClientCredentials:
		u.SetPrincipalName(g.client.ID)
		u.Attributes.Set(sts.NewAttribute("client_id", sts.TypeJWTClaim, g.client.ID))
	case GrantJWTBearer:
		a := g.assertion
		u.SetPrincipalName(a.Subject)
		for _, name := range sortedKeys(a.Claims) {
			v := a.Claims[name]
			var attr *sts.Attribute
			var err error
			if arr, ok := v.([]any); ok {
				attr, err = sts.NewAttributeChecked(name, sts.TypeJWTClaim, arr...)
			} else {
				attr, err = sts.NewAttributeChecked(name, sts.TypeJWTClaim, v)
			}
			if err != nil {
				return sts.ErrInvalidGrant.WithCause(err)
			}
			u.Attributes.Set(attr)
		}
		payload, _ := json.Marshal(a.Claims)
		header, _ := json.Marshal(a.Header)
		u.Context.Set(sts.NewAttribute("claim_json", sts.TypeJWT, string(payload)))
		u.Context.Set(sts.NewAttribute("header", sts.TypeJWT, string(header)))
		if g.client == nil {
			// Without client authentication the assertion's issuer stands
			// for the client (RFC 7523 §3.1 makes authentication
			// optional; RFC 9068 still needs a client_id).
			u.Attributes.Set(sts.NewAttribute("client_id", sts.TypeJWTIssueClaim, a.Issuer))
		}
	default:
		return fmt.Errorf("oauth validate: grant %s has a subject token; validate it with a token module (jwt, opaque)", g.grantType)
	}
	setRequestContext(u, g)
	return nil
}

// setRequestContext writes the ISAM OAuth context attributes rules read
// (ISAM-COMPAT §1.3, §4).
func setRequestContext(u *sts.STSUU, g *grant) {
	u.Context.Set(sts.NewAttribute("request_type", sts.TypeOAuthRequest, "access_token"))
	u.Context.Set(sts.NewAttribute("grant_type", sts.TypeOAuthRequest, g.grantType))
	if g.client != nil {
		u.Context.Set(sts.NewAttribute("client_id", sts.TypeOAuthRequest, g.client.ID))
	}
	u.Context.Set(sts.NewAttribute("scope", sts.TypeOAuthRequest, strings.Join(g.requested, " ")))
}

// Map implements sts.Mapper: the token endpoint's policy on the validated
// subject. It grants the scope (the request's, which must lie within every
// allow-list and the subject token's own scope; or, when none was
// requested, what those allow), records the subject token's expiry for
// the issue step, and for delegation sets act (RFC 8693 §4.1) when the
// subject's may_act names the actor or the step allows delegation.
func (m *Module) Map(ctx context.Context, c *sts.Call) error {
	g := grantFrom(ctx)
	if g == nil {
		return sts.ErrInvalidRequest.WithCause(errNoGrant)
	}
	u := c.User
	restrict := slices.Clone(g.restrict)
	if g.grantType == GrantTokenExchange {
		if s, ok := subjectScope(u); ok {
			restrict = append(restrict, s)
		}
		if exp, ok := subjectExpiry(u); ok {
			g.subjectExp = exp
			u.Context.Set(sts.NewAttribute(opaque.AttrSubjectExpiresAt, opaque.TypeToken, exp.Unix()))
		}
	}
	granted, err := grantScope(g.requested, restrict)
	if err != nil {
		return err
	}
	g.granted = granted
	u.Attributes.Remove("scope", sts.TypeJWTIssueClaim)
	if len(granted) > 0 {
		u.Attributes.Set(sts.NewAttribute("scope", sts.TypeJWTIssueClaim, strings.Join(granted, " ")))
	}
	if g.actor != nil {
		if !m.AllowDelegation && !mayAct(u, g.actor) {
			return sts.ErrInvalidRequest.WithDescription("the actor token is not acceptable").
				WithCause(fmt.Errorf("subject's may_act does not name actor %q", g.actor.sub))
		}
		act := map[string]any{"sub": g.actor.sub}
		if g.actor.iss != "" {
			act["iss"] = g.actor.iss
		}
		// A subject that already carries act keeps its chain of actors
		// nested under the new one (RFC 8693 §4.1).
		if prior := claim(u, "act"); prior != nil {
			act["act"] = prior
		}
		u.Attributes.Set(sts.NewAttribute("act", sts.TypeJWTIssueClaim, act))
		g.actApplied = true
	}
	setRequestContext(u, g)
	g.policyApplied = true
	return nil
}

// grantScope returns the scope to grant: the requested scopes, each of
// which must be allowed by every allow-list (invalid_scope otherwise); or,
// with nothing requested, the intersection of the allow-lists (nothing
// when there are none).
func grantScope(requested []string, restrict [][]string) ([]string, error) {
	if len(requested) > 0 {
		for _, s := range requested {
			for _, allow := range restrict {
				if !slices.Contains(allow, s) {
					return nil, sts.ErrInvalidScope.WithCause(fmt.Errorf("scope %q is not allowed", s))
				}
			}
		}
		return requested, nil
	}
	if len(restrict) == 0 {
		return nil, nil
	}
	var out []string
	for _, s := range restrict[0] {
		ok := true
		for _, allow := range restrict[1:] {
			if !slices.Contains(allow, s) {
				ok = false
				break
			}
		}
		if ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// claim returns a validated token's claim from the STSUU (attribute of
// type urn:com:ibm:JWT:claim), or nil.
func claim(u *sts.STSUU, name string) any {
	a := u.Attributes.GetByNameAndType(name, sts.TypeJWTClaim)
	if a == nil || len(a.Values) == 0 {
		return nil
	}
	if len(a.Values) == 1 {
		return a.Values[0]
	}
	return a.Values
}

// subjectScope reads the subject token's scope: the scope claim of a
// validated JWT, or the scope an opaque token was issued with.
func subjectScope(u *sts.STSUU) ([]string, bool) {
	if a := u.Context.GetByNameAndType(opaque.AttrScope, opaque.TypeToken); a != nil {
		return strings.Fields(sts.StringValue(a.Value())), true
	}
	a := u.Attributes.GetByNameAndType("scope", sts.TypeJWTClaim)
	if a == nil {
		return nil, false
	}
	var out []string
	for _, v := range a.Values {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				out = append(out, strings.Fields(sts.StringValue(e))...)
			}
		default:
			out = append(out, strings.Fields(sts.StringValue(x))...)
		}
	}
	return out, true
}

// subjectExpiry reads the subject token's expiry: the context attribute a
// validate step recorded, or the exp claim of a validated JWT.
func subjectExpiry(u *sts.STSUU) (time.Time, bool) {
	if t, ok := opaque.SubjectExpiry(u); ok {
		return t, true
	}
	v := claim(u, "exp")
	if v == nil {
		return time.Time{}, false
	}
	n, err := strconv.ParseFloat(sts.StringValue(v), 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(n), 0), true
}

// mayAct reports whether the subject's may_act claim (RFC 8693 §4.4) names
// the actor: its sub must equal the actor's, and its iss, when present, the
// actor's issuer.
func mayAct(u *sts.STSUU, a *actor) bool {
	m, ok := claim(u, "may_act").(map[string]any)
	if !ok {
		return false
	}
	sub, _ := m["sub"].(string)
	if sub == "" || sub != a.sub {
		return false
	}
	if iss, has := m["iss"]; has {
		s, _ := iss.(string)
		return s == a.iss
	}
	return true
}

// Interface guards.
var (
	_ sts.TokenValidator = (*Module)(nil)
	_ sts.Mapper         = (*Module)(nil)
)

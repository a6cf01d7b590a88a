package mapmod

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/chainsts/chainsts/mappingrules"
	"github.com/chainsts/chainsts/sts"
)

func init() { sts.RegisterModule(Module{}) }

// ReservedClaims are the JWT claims and headers a rule may not set unless
// the step grants them (SECURITY §3.4), plus the signing.* context
// parameters that choose the issuing key.
var ReservedClaims = []string{"iss", "exp", "iat", "nbf", "jti", "cnf", "act", "alg", "kid", "typ",
	"signing.alg", "signing.db", "signing.cert", "signing.kid", "signing.symmetricKey"}

var reservedHeaders = map[string]bool{"alg": true, "kid": true, "typ": true}

// Module runs one mapping rule (mode map).
type Module struct {
	// Rule names a rule of the rules app (resolved as importMappingRule
	// does).
	Rule string `yaml:"rule"`
	// Source is an inline rule instead of a named one.
	Source string `yaml:"source"`
	// Timeout overrides the rule set's per-evaluation deadline.
	Timeout time.Duration `yaml:"timeout"`
	// Limits override the rule set's limits for this step.
	Limits mappingrules.Limits `yaml:"limits"`
	// AllowReservedClaims lists the reserved claims and headers (see
	// ReservedClaims) the rule may set or change.
	AllowReservedClaims []string `yaml:"allow_reserved_claims"`

	rule    *mappingrules.Rule
	allowed map[string]bool
}

// STSModule implements sts.Module.
func (Module) STSModule() sts.ModuleInfo {
	return sts.ModuleInfo{
		Name:        "map",
		Description: "runs a JavaScript mapping rule (ISAM rule API) over the universal user",
		New:         func() sts.Module { return new(Module) },
	}
}

// Provision resolves or compiles the rule.
func (m *Module) Provision(ctx sts.ProvisionContext) error {
	if (m.Rule == "") == (m.Source == "") {
		return sts.ConfigErrorf("rule", "set exactly one of rule and source")
	}
	app, err := sts.HostApp[*mappingrules.App](ctx.Host, "rules")
	if err != nil {
		return sts.ConfigErrorf("rule", "%v", err)
	}
	if m.Rule != "" {
		r, err := app.Set().Rule(m.Rule)
		if err != nil {
			return sts.ConfigErrorf("rule", "%v", err)
		}
		m.rule = r
	} else {
		name := "inline"
		if ctx.Chain != "" {
			name = ctx.Chain + "/" + ctx.Step
		}
		r, err := app.Set().Compile(name, m.Source)
		if err != nil {
			return sts.ConfigErrorf("source", "%v", err)
		}
		m.rule = r
	}
	m.allowed = map[string]bool{}
	for _, c := range m.AllowReservedClaims {
		m.allowed[c] = true
	}
	return nil
}

// Validate checks the grants name reserved claims.
func (m *Module) Validate() error {
	for i, c := range m.AllowReservedClaims {
		if !slices.Contains(ReservedClaims, c) {
			return sts.ConfigErrorf(fmt.Sprintf("allow_reserved_claims[%d]", i), "%q is not a reserved claim (one of %s)", c, strings.Join(ReservedClaims, ", "))
		}
	}
	if m.Timeout < 0 {
		return sts.ConfigErrorf("timeout", "must not be negative")
	}
	return nil
}

// Map runs the rule. An STS exception the rule throws fails the chain with
// the error it carries (its message is the description, as ISAM returns
// it); any other rule error is a server fault naming the rule, line and
// column in the log.
func (m *Module) Map(ctx context.Context, c *sts.Call) error {
	before := reservedState(c.User, nil)
	res, err := m.rule.Evaluate(ctx, mappingrules.Input{User: c.User, Call: c, Timeout: m.Timeout, Limits: m.Limits})
	if err != nil {
		var exc *mappingrules.STSException
		if errors.As(err, &exc) {
			return exc.Err.WithCause(err)
		}
		return fmt.Errorf("map: %w", err)
	}
	// Adding or changing a reserved claim needs a grant; dropping one only
	// narrows the token and is always allowed.
	after := reservedState(c.User, before)
	var changed []string
	for k, v := range after {
		if k == claimJSONKey || before[k] == v {
			continue
		}
		name := k[strings.IndexByte(k, 0)+1:]
		if !m.allowed[name] {
			changed = append(changed, name)
		}
	}
	if len(changed) > 0 {
		sort.Strings(changed)
		changed = slices.Compact(changed)
		return fmt.Errorf("map: rule %q set reserved claims %s (grant them with allow_reserved_claims)", m.rule.Name, strings.Join(changed, ", "))
	}
	if res.Token != nil {
		c.Output = res.Token
	}
	return nil
}

// reservedState captures the reserved claims, headers and signing
// parameters an issue step would use, as comparable strings keyed by
// "<source>\x00<claim>" (source attr, header, signing or json). A
// claim_json value identical to the one in prev is not parsed again.
func reservedState(u *sts.STSUU, prev map[string]string) map[string]string {
	out := map[string]string{}
	for _, a := range u.Attributes {
		if a.Type == sts.TypeJWTIssueClaim && slices.Contains(ReservedClaims, a.Name) && !reservedHeaders[a.Name] {
			out["attr\x00"+a.Name] = strings.Join(a.StringValues(), "\x00")
		}
	}
	for _, a := range u.Context {
		switch {
		case a.Type == sts.TypeJWTHeaderClaim && reservedHeaders[a.Name]:
			out["header\x00"+a.Name] = strings.Join(a.StringValues(), "\x00")
		case a.Type == sts.TypeJWT && strings.HasPrefix(a.Name, "signing.") && slices.Contains(ReservedClaims, a.Name):
			out["signing\x00"+a.Name] = strings.Join(a.StringValues(), "\x00")
		case a.Type == sts.TypeJWT && a.Name == "claim_json":
			raw := strings.Join(a.StringValues(), "\x00")
			out[claimJSONKey] = raw
			if prev != nil && prev[claimJSONKey] == raw {
				for k, v := range prev {
					if strings.HasPrefix(k, "json\x00") {
						out[k] = v
					}
				}
				continue
			}
			for _, v := range a.Values {
				obj, ok := claimJSON(v)
				if !ok {
					continue
				}
				for k, cv := range obj {
					if slices.Contains(ReservedClaims, k) && !reservedHeaders[k] {
						out["json\x00"+k] += sts.StringValue(cv) + "\x00"
					}
				}
			}
		}
	}
	return out
}

// claimJSONKey holds claim_json's raw text in a reserved state; it is not
// a claim name (claims cannot contain a NUL).
const claimJSONKey = "\x00claim_json"

func claimJSON(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case string:
		p, err := sts.ParseJSONValue([]byte(x))
		if err != nil {
			return nil, false
		}
		obj, ok := p.(map[string]any)
		return obj, ok
	}
	return nil, false
}

var (
	_ sts.Mapper      = (*Module)(nil)
	_ sts.Provisioner = (*Module)(nil)
	_ sts.Validator   = (*Module)(nil)
)

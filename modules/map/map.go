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
	var before, after reservedSnapshot
	before.take(c.User)
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
	after.take(c.User)
	var changed []string
	check := func(before, after []reservedEntry) {
		for _, e := range after {
			if v, ok := lookupEntry(before, e.src, e.name); ok && v == e.val {
				continue
			}
			if !m.allowed[e.name] {
				changed = append(changed, e.name)
			}
		}
	}
	check(before.entries, after.entries)
	// A claim_json the rule left alone (the common case) cannot have gained
	// a reserved claim, so it is not parsed at all; otherwise only its
	// reserved members are decoded, on both sides.
	if !sameClaimJSON(before.claimJSON, after.claimJSON) {
		check(jsonReserved(before.claimJSON), jsonReserved(after.claimJSON))
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

var (
	_ sts.Mapper      = (*Module)(nil)
	_ sts.Provisioner = (*Module)(nil)
	_ sts.Validator   = (*Module)(nil)
)

package chains

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chainsts/chainsts/sts"
)

// Test doubles: module types and apps registered only in this package's
// tests, to drive the engine without the real modules.

// events records lifecycle calls of the test doubles, by label.
var events = struct {
	sync.Mutex
	provisioned map[string]int
	cleaned     map[string]int
}{provisioned: map[string]int{}, cleaned: map[string]int{}}

func resetEvents() {
	events.Lock()
	defer events.Unlock()
	events.provisioned = map[string]int{}
	events.cleaned = map[string]int{}
}

func countEvent(m map[string]int, label string) {
	events.Lock()
	defer events.Unlock()
	m[label]++
}

func eventCount(kind, label string) int {
	events.Lock()
	defer events.Unlock()
	if kind == "cleaned" {
		return events.cleaned[label]
	}
	return events.provisioned[label]
}

// nested is a nested configuration struct, to test deep merging.
type nested struct {
	A int    `yaml:"a"`
	B string `yaml:"b"`
}

// nestedCall asks a step to run another chain in process.
type nestedCall struct {
	RequestType string `yaml:"request_type"`
	AppliesTo   string `yaml:"applies_to"`
}

// recorder implements every mode. Each mode appends its label to the
// attribute "steps" so tests can see what ran, in which order.
type recorder struct {
	Label   string            `yaml:"label"`
	Fail    string            `yaml:"fail"`     // an OAuth error code, or "fault" for a plain error
	Sleep   time.Duration     `yaml:"sleep"`    // simulated work
	Opts    nested            `yaml:"opts"`     // nested struct
	Tags    map[string]string `yaml:"tags"`     // a map (replaced, not merged)
	Call    *nestedCall       `yaml:"call"`     // run another chain
	BadPath string            `yaml:"bad_path"` // Validate fails with a ConfigError at this path
	NeedApp string            `yaml:"need_app"` // Provision asks for this app
	Panic   bool              `yaml:"panic"`

	provisioned bool
	app         any
}

func (recorder) STSModule() sts.ModuleInfo {
	return sts.ModuleInfo{Name: "recorder", Description: "test double", New: func() sts.Module { return new(recorder) }}
}

func (r *recorder) Provision(ctx sts.ProvisionContext) error {
	if r.NeedApp != "" {
		a, err := ctx.Host.App(r.NeedApp)
		if err != nil {
			return err
		}
		r.app = a
	}
	r.provisioned = true
	countEvent(events.provisioned, r.Label)
	return nil
}

func (r *recorder) Validate() error {
	if r.BadPath != "" {
		return sts.ConfigErrorf(r.BadPath, "is not acceptable")
	}
	return nil
}

func (r *recorder) Cleanup() error {
	countEvent(events.cleaned, r.Label)
	return nil
}

func (r *recorder) do(ctx context.Context, c *sts.Call) error {
	if !r.provisioned {
		return errors.New("not provisioned")
	}
	if r.Panic {
		panic("recorder told to panic")
	}
	if r.Sleep > 0 {
		select {
		case <-time.After(r.Sleep):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.User.Attributes.Add(sts.NewAttribute("steps", "test", r.Label))
	if r.Opts.A != 0 || r.Opts.B != "" {
		c.User.Attributes.Set(sts.NewAttribute("opts", "test", fmt.Sprintf("%d/%s", r.Opts.A, r.Opts.B)))
	}
	for k, v := range r.Tags {
		c.User.Attributes.Set(sts.NewAttribute("tag."+k, "test", v))
	}
	if r.Call != nil {
		resp, err := c.Runner.Run(ctx, &sts.Request{Type: r.Call.RequestType, AppliesTo: r.Call.AppliesTo, Depth: c.Request.Depth + 1})
		if err != nil {
			return err
		}
		c.User.Attributes.Add(sts.NewAttribute("nested", "test", resp.Chain))
	}
	switch r.Fail {
	case "":
		return nil
	case "fault":
		return errors.New("recorder fault")
	default:
		return (&sts.Error{Code: r.Fail, Status: 400, Description: "recorder says no"})
	}
}

func (r *recorder) ValidateToken(ctx context.Context, c *sts.Call) error { return r.do(ctx, c) }
func (r *recorder) Map(ctx context.Context, c *sts.Call) error           { return r.do(ctx, c) }
func (r *recorder) Exchange(ctx context.Context, c *sts.Call) error      { return r.do(ctx, c) }
func (r *recorder) Authorize(ctx context.Context, c *sts.Call) error     { return r.do(ctx, c) }
func (r *recorder) IssueToken(ctx context.Context, c *sts.Call) error {
	if err := r.do(ctx, c); err != nil {
		return err
	}
	c.Output = &sts.Token{Type: "urn:test", Data: []byte("issued-by-" + r.Label)}
	return nil
}

var (
	_ sts.TokenValidator = (*recorder)(nil)
	_ sts.Mapper         = (*recorder)(nil)
	_ sts.TokenIssuer    = (*recorder)(nil)
	_ sts.Exchanger      = (*recorder)(nil)
	_ sts.Authorizer     = (*recorder)(nil)
	_ sts.Provisioner    = (*recorder)(nil)
	_ sts.Validator      = (*recorder)(nil)
	_ sts.CleanerUpper   = (*recorder)(nil)
)

// mapOnly implements only the map mode.
type mapOnly struct {
	Value string `yaml:"value"`
}

func (mapOnly) STSModule() sts.ModuleInfo {
	return sts.ModuleInfo{Name: "maponly", New: func() sts.Module { return new(mapOnly) }}
}

func (m *mapOnly) Map(_ context.Context, c *sts.Call) error {
	c.User.Attributes.Set(sts.NewAttribute("maponly", "test", m.Value))
	return nil
}

// fakeApp is an app with a section, a dependency and readiness.
type fakeApp struct {
	Name    string `yaml:"name"`
	Depends string `yaml:"depends"`
	Unready bool   `yaml:"unready"`
	Fail    string `yaml:"fail"` // a key path to fail Validate with

	label string
}

func (a *fakeApp) Provision(ctx sts.ProvisionContext) error {
	if a.Depends != "" {
		if _, err := ctx.Host.App(a.Depends); err != nil {
			return err
		}
	}
	countEvent(events.provisioned, a.label)
	return nil
}

func (a *fakeApp) Validate() error {
	if a.Fail != "" {
		return sts.ConfigErrorf(a.Fail, "is wrong")
	}
	return nil
}

func (a *fakeApp) Cleanup() error {
	countEvent(events.cleaned, a.label)
	return nil
}

func (a *fakeApp) Ready() error {
	if a.Unready {
		return errors.New("not ready yet")
	}
	return nil
}

func init() {
	sts.RegisterModule(recorder{})
	sts.RegisterModule(mapOnly{})
	for _, name := range []string{"alpha", "beta", "gamma"} {
		sts.RegisterApp(sts.AppInfo{Name: name, New: func() any { return &fakeApp{label: "app:" + name} }})
	}
	// delta's defaults are invalid: it only loads with a section.
	sts.RegisterApp(sts.AppInfo{Name: "delta", New: func() any { return &fakeApp{label: "app:delta", Fail: "name"} }})
}

package sts

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// Mode is what a module does in one step of a chain (PRODUCT §2.3).
type Mode string

// The modes.
const (
	ModeValidate  Mode = "validate"
	ModeMap       Mode = "map"
	ModeIssue     Mode = "issue"
	ModeExchange  Mode = "exchange"
	ModeAuthorize Mode = "authorize"
)

// AllModes lists the modes in a stable order.
var AllModes = []Mode{ModeValidate, ModeMap, ModeIssue, ModeExchange, ModeAuthorize}

// Call is the state of one chain execution as modules see it. The chain
// runner creates it, fills the STSUU's RequestSecurityToken section from the
// request, and hands it to each step in turn.
type Call struct {
	// Request is the request being served. Modules must not modify it.
	Request *Request
	// User is the chain's universal user; validate and map steps fill and
	// change it.
	User *STSUU
	// Output is the token produced by an issue (or exchange) step. Map steps
	// after the issue step see it and may replace it (the ISAM post-token
	// pattern).
	Output *Token
	// Chain and Step name the running chain and step, for errors and logs.
	Chain string
	Step  string
	// Runner runs another chain in process (LocalSTSClient). Requests made
	// through it must set Depth to Request.Depth+1.
	Runner ChainRunner
	// Logger carries the request id, chain and step.
	Logger hclog.Logger
}

// TokenValidator is implemented by modules with a validate mode. The chain
// runner calls ValidateToken with the request's base token in
// c.Request.Base; the module verifies it and fills c.User. An *Error with
// invalid_request (or invalid_grant, invalid_token as the entry point needs)
// means the token is unacceptable; any other error is a server fault.
type TokenValidator interface {
	ValidateToken(ctx context.Context, c *Call) error
}

// Mapper is implemented by modules with a map mode: Map transforms c.User
// (and, after an issue step, may read or replace c.Output). An *Error denies
// the request with that code; other errors are server faults.
type Mapper interface {
	Map(ctx context.Context, c *Call) error
}

// TokenIssuer is implemented by modules with an issue mode: IssueToken
// produces c.Output from c.User. Failing to sign is a server fault; an
// *Error (e.g. invalid_target) is the caller's.
type TokenIssuer interface {
	IssueToken(ctx context.Context, c *Call) error
}

// Exchanger is implemented by modules that validate and issue in one step.
type Exchanger interface {
	Exchange(ctx context.Context, c *Call) error
}

// Authorizer is implemented by modules with an authorize mode: Authorize
// returns nil to allow and an *Error derived from ErrAccessDenied (or
// another code) to deny.
type Authorizer interface {
	Authorize(ctx context.Context, c *Call) error
}

// ChainRunner runs the chain selected by a request. The chains runtime
// implements it; modules reach it through Call.Runner.
type ChainRunner interface {
	Run(ctx context.Context, req *Request) (*Response, error)
}

// Module is implemented by every module type. STSModule returns the
// registration information; it is called on a zero value and must not
// depend on configuration.
type Module interface {
	STSModule() ModuleInfo
}

// ModuleInfo describes a module type.
type ModuleInfo struct {
	// Name is the module type's short name as used in configuration
	// ("jwt", "stsuu", "map").
	Name string
	// Description is one line for `chainsts list-modules`.
	Description string
	// New returns a new, unconfigured instance. The config loader decodes the
	// step's configuration strictly into it (YAML tags), then calls the
	// lifecycle methods below.
	New func() Module
}

// Modes returns the modes the module type implements, found from the
// interfaces its instances satisfy.
func (mi ModuleInfo) Modes() []Mode {
	return ModesOf(mi.New())
}

// ModesOf returns the modes a module instance implements.
func ModesOf(m Module) []Mode {
	var out []Mode
	if _, ok := m.(TokenValidator); ok {
		out = append(out, ModeValidate)
	}
	if _, ok := m.(Mapper); ok {
		out = append(out, ModeMap)
	}
	if _, ok := m.(TokenIssuer); ok {
		out = append(out, ModeIssue)
	}
	if _, ok := m.(Exchanger); ok {
		out = append(out, ModeExchange)
	}
	if _, ok := m.(Authorizer); ok {
		out = append(out, ModeAuthorize)
	}
	return out
}

// Lifecycle interfaces, each optional. The config loader calls, for every
// module instance and app: decode configuration, Provision, Validate; on
// reload or shutdown (and after a failed load, for whatever was provisioned,
// even partially) Cleanup.

// Provisioner prepares a configured instance: parse keys, compile rules,
// build regexps, open connections. Expensive work belongs here, never on
// the request path.
type Provisioner interface {
	Provision(ctx ProvisionContext) error
}

// Validator checks a provisioned instance's configuration for consistency.
// Return *ConfigError values so the loader can point at the bad key.
type Validator interface {
	Validate() error
}

// CleanerUpper releases what Provision acquired. It is called even when
// Provision failed part way.
type CleanerUpper interface {
	Cleanup() error
}

// ReadinessChecker reports whether a component can serve (keys loaded, store
// reachable); /readyz aggregates it.
type ReadinessChecker interface {
	Ready() error
}

// ProvisionContext is what a module or app receives in Provision.
type ProvisionContext struct {
	// Context is cancelled when the load is abandoned.
	Context context.Context
	// Logger is named after the component.
	Logger hclog.Logger
	// Host gives access to apps and paths.
	Host Host
	// Chain, Step and Mode say where a module instance is used; empty for
	// apps and for named module instances checked on their own.
	Chain string
	Step  string
	Mode  Mode
}

// Host is the runtime as seen by components during provisioning.
type Host interface {
	// App returns the app registered under name, provisioning it on first
	// use (with its configuration section, or its defaults when the config
	// has none). An app that depends on another calls App from Provision.
	App(name string) (any, error)
	// ConfigDir is the directory of the configuration, for relative paths.
	ConfigDir() string
	// DataDir is the data directory (keys, sqlite file), created on demand.
	DataDir() string
}

// ResolvePath makes a configured path absolute relative to the config
// directory.
func ResolvePath(h Host, p string) string {
	if p == "" || p[0] == '/' || h == nil {
		return p
	}
	return h.ConfigDir() + "/" + p
}

var (
	registryMu sync.RWMutex
	modules    = map[string]ModuleInfo{}
	apps       = map[string]AppInfo{}
)

// RegisterModule registers a module type. Call it from the module package's
// init function. It panics on a duplicate or malformed registration, which
// is a programming error.
func RegisterModule(m Module) {
	info := m.STSModule()
	if info.Name == "" || info.New == nil {
		panic("sts: module registration needs a name and New")
	}
	if len(ModesOf(info.New())) == 0 {
		panic(fmt.Sprintf("sts: module %q implements no mode", info.Name))
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := modules[info.Name]; dup {
		panic(fmt.Sprintf("sts: module %q registered twice", info.Name))
	}
	modules[info.Name] = info
}

// GetModule returns the registered module type with the name.
func GetModule(name string) (ModuleInfo, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	mi, ok := modules[name]
	return mi, ok
}

// Modules returns the registered module types sorted by name.
func Modules() []ModuleInfo {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]ModuleInfo, 0, len(modules))
	for _, mi := range modules {
		out = append(out, mi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// AppInfo describes an app: a process-wide component configured by a
// top-level section of the configuration (keystores, store, rules, oauth...)
// and shared by the modules of one runtime.
type AppInfo struct {
	// Name is the top-level configuration key.
	Name string
	// Description is one line for documentation.
	Description string
	// New returns an instance with its defaults; the section is decoded
	// strictly into it. Apps implement the lifecycle interfaces as modules
	// do.
	New func() any
}

// RegisterApp registers an app. Call it from the package's init function.
func RegisterApp(info AppInfo) {
	if info.Name == "" || info.New == nil {
		panic("sts: app registration needs a name and New")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := apps[info.Name]; dup {
		panic(fmt.Sprintf("sts: app %q registered twice", info.Name))
	}
	apps[info.Name] = info
}

// GetApp returns the registered app with the name.
func GetApp(name string) (AppInfo, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	a, ok := apps[name]
	return a, ok
}

// Apps returns the registered apps sorted by name.
func Apps() []AppInfo {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]AppInfo, 0, len(apps))
	for _, a := range apps {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// HostApp is a typed helper around Host.App.
func HostApp[T any](h Host, name string) (T, error) {
	var zero T
	a, err := h.App(name)
	if err != nil {
		return zero, err
	}
	t, ok := a.(T)
	if !ok {
		return zero, fmt.Errorf("app %q is %T, not %T", name, a, zero)
	}
	return t, nil
}

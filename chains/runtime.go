package chains

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

// ErrDepthExceeded is returned (wrapped) when chains call chains more deeply
// than Options.MaxDepth allows, which means a configuration loop. It is a
// server fault: callers see server_error.
var ErrDepthExceeded = errors.New("chains call each other too deeply")

// errRetired is the cause when a request reaches a runtime that has been
// closed.
var errRetired = errors.New("the configuration runtime has been closed")

// TypeRSTClaim is the type of the request claims (Request.Claims) that a
// chain copies into the STSUU's RequestSecurityToken section, one attribute
// per claim.
const TypeRSTClaim = "urn:chainsts:rst:claim"

// Observer receives the outcome of every step and chain a runtime runs, for
// metrics. Implementations must be safe for concurrent use and fast: they
// run on the request path.
type Observer interface {
	// ObserveStep is called after each step with its duration and error.
	ObserveStep(chain, step, module string, mode sts.Mode, d time.Duration, err error)
	// ObserveChain is called once per chain run with the total duration
	// and the error that stopped the chain, if any.
	ObserveChain(chain string, d time.Duration, err error)
}

// BoundObserver is an Observer that prepares, once per loaded
// configuration, what it records for each chain and step, so that the
// request path does no per-call label lookups (a Prometheus vector hashes
// every label value on each WithLabelValues). A runtime whose Observer
// implements it calls the bound functions instead of ObserveStep and
// ObserveChain; they must be safe for concurrent use.
type BoundObserver interface {
	Observer
	// BindStep returns what ObserveStep(chain, step, module, mode, d, err)
	// would do.
	BindStep(chain, step, module string, mode sts.Mode) func(d time.Duration, err error)
	// BindChain returns what ObserveChain(chain, d, err) would do.
	BindChain(chain string) func(d time.Duration, err error)
}

// Runtime is one fully provisioned configuration: apps, module instances,
// compiled chains and lookup tables. It is immutable once loaded and safe
// for concurrent use; a reload builds a new one.
type Runtime struct {
	host     *host
	chains   []*chain // configuration order
	index    *index
	warnings []Problem
	maxDepth int
	observer Observer
	logger   hclog.Logger

	// refs counts the owner's reference plus in-flight requests; the
	// runtime is cleaned up when it drops to zero.
	refs       atomic.Int64
	closeOnce  sync.Once
	done       chan struct{}
	cleanupErr error
}

// chain is a compiled chain.
type chain struct {
	name  string
	info  ChainInfo
	col   int
	path  string
	steps []*step
	match *matcher

	// Prepared at load: the logger arguments and the bound observer.
	logArgs []any
	observe func(time.Duration, error)
}

// step is one step of a compiled chain with its own module instance.
type step struct {
	id     string
	module string // as configured: an instance name or a module type
	typ    string
	mode   sts.Mode
	inst   sts.Module
	run    func(context.Context, *sts.Call) error

	// Prepared at load: the logger arguments and the bound observer.
	logArgs []any
	observe func(time.Duration, error)
}

// prepare fills what the request path of every chain needs from the
// configuration alone, so a request does not rebuild it.
func (rt *Runtime) prepare() {
	bo, _ := rt.observer.(BoundObserver)
	for _, c := range rt.chains {
		c.logArgs = []any{"chain", c.name}
		if bo != nil {
			c.observe = bo.BindChain(c.name)
		}
		for _, s := range c.steps {
			s.logArgs = []any{"step", s.id}
			if bo != nil {
				s.observe = bo.BindStep(c.name, s.id, s.module, s.mode)
			}
		}
	}
}

// Run selects the chain for the request and runs it (sts.ChainRunner). No
// matching chain is sts.ErrNoChain naming the lookup key. When a step fails,
// the error names the chain, step and module and wraps the step's error (an
// *sts.Error stays reachable with errors.As); the returned Response then
// still holds the trace of the steps that ran.
func (rt *Runtime) Run(ctx context.Context, req *sts.Request) (*sts.Response, error) {
	if req == nil {
		return nil, sts.ErrInvalidRequest.WithDescription("empty request")
	}
	if !rt.acquire() {
		return nil, sts.ErrTemporarilyUnavailable.WithCause(errRetired)
	}
	defer rt.release()
	if req.Depth > rt.maxDepth {
		return nil, fmt.Errorf("%w: depth %d is over the limit of %d", ErrDepthExceeded, req.Depth, rt.maxDepth)
	}
	key := req.Key()
	key.RequestType = sts.NormalizeRequestType(key.RequestType)
	c := rt.index.lookup(&key)
	if c == nil {
		return nil, sts.ErrNoChain.WithDescription("no chain matches the request (%s)", key.String())
	}
	return rt.runChain(ctx, c, req)
}

// Lookup returns the name of the chain a request would run, or false.
func (rt *Runtime) Lookup(req *sts.Request) (string, bool) {
	key := req.Key()
	key.RequestType = sts.NormalizeRequestType(key.RequestType)
	if c := rt.index.lookup(&key); c != nil {
		return c.name, true
	}
	return "", false
}

func (rt *Runtime) runChain(ctx context.Context, c *chain, req *sts.Request) (*sts.Response, error) {
	start := time.Now()
	user := sts.NewSTSUU()
	if err := fillRST(user, req); err != nil {
		return nil, err
	}
	// The loggers are built only if a step writes at an enabled level.
	log := lazyWith(rt.logger, c.logArgs)
	if req.ID != "" {
		log = lazyWith(log, []any{"request_id", req.ID})
	}
	call := &sts.Call{Request: req, User: user, Chain: c.name, Runner: rt}
	resp := &sts.Response{Chain: c.name, Trace: make([]sts.TraceStep, 0, len(c.steps))}
	var runErr error
	// With a trace, each step's snapshot is the next step's "before".
	var prev *sts.STSUU
	if req.Trace {
		prev = user.Clone()
	}
	for _, s := range c.steps {
		if err := ctx.Err(); err != nil {
			runErr = fmt.Errorf("chain %q before step %q (%s %s): %w", c.name, s.id, s.module, s.mode, err)
			break
		}
		call.Step = s.id
		call.Logger = lazyWith(log, s.logArgs)
		t0 := time.Now()
		err := safeStep(ctx, s, call)
		d := time.Since(t0)
		ts := sts.TraceStep{Step: s.id, Module: s.module, Mode: s.mode, Duration: d}
		if req.Trace {
			ts.After = call.User.Clone()
			ts.Changes = sts.Diff(prev, ts.After)
			prev = ts.After
		}
		if err != nil {
			ts.Error = err.Error()
		}
		resp.Trace = append(resp.Trace, ts)
		if s.observe != nil {
			s.observe(d, err)
		} else if rt.observer != nil {
			rt.observer.ObserveStep(c.name, s.id, s.module, s.mode, d, err)
		}
		if err != nil {
			runErr = fmt.Errorf("chain %q step %q (%s %s): %w", c.name, s.id, s.module, s.mode, err)
			break
		}
	}
	resp.User = call.User
	if runErr == nil {
		resp.Token = call.Output
	}
	if c.observe != nil {
		c.observe(time.Since(start), runErr)
	} else if rt.observer != nil {
		rt.observer.ObserveChain(c.name, time.Since(start), runErr)
	}
	return resp, runErr
}

// safeStep runs one step, turning a panic in a module into a server fault
// for this request rather than a crashed process.
func safeStep(ctx context.Context, s *step, call *sts.Call) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("module panicked: %v", r)
		}
	}()
	return s.run(ctx, call)
}

// fillRST copies the request's own elements into the RequestSecurityToken
// section, as ISAM does (see docs/chains.md).
func fillRST(u *sts.STSUU, req *sts.Request) error {
	// The five plain elements share one array of attributes and one of
	// values (each attribute's slice capped to its own value, so growing
	// one never writes into the next): two allocations instead of two per
	// element, on every chain run.
	var (
		attrs = new([5]sts.Attribute)
		vals  = new([5]any)
		n     int
	)
	u.RST = slices.Grow(u.RST, 5)
	add := func(name, typ, v string) {
		if v != "" {
			vals[n] = v
			attrs[n] = sts.Attribute{Name: name, Type: typ, Values: vals[n : n+1 : n+1]}
			u.RST = append(u.RST, &attrs[n])
			n++
		}
	}
	add("RequestType", sts.TypeRST, req.Type)
	add("Issuer", sts.TypeRST, req.Issuer)
	add("AppliesTo", sts.TypeRST, req.AppliesTo)
	add("AppliesTo_ServiceName", sts.TypeAddressing, req.AppliesToServiceName)
	add("TokenType", sts.TypeRST, req.TokenType)
	if req.ClaimsXML != "" {
		u.RST = append(u.RST, &sts.Attribute{Name: "Claims", Type: sts.TypeRST, Values: []any{sts.XML(req.ClaimsXML)}})
	}
	if len(req.Claims) > 0 {
		names := make([]string, 0, len(req.Claims))
		for k := range req.Claims {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			a, err := sts.NewAttributeChecked(k, TypeRSTClaim, req.Claims[k])
			if err != nil {
				return sts.ErrInvalidRequest.WithDescription("claim %q has an unsupported value", k).WithCause(err)
			}
			u.RST = append(u.RST, a)
		}
	}
	return nil
}

// App returns an app of this runtime, provisioning it with its defaults
// when the configuration has no section for it and nothing asked for it
// yet.
func (rt *Runtime) App(name string) (any, error) {
	return rt.host.App(name)
}

// Apps returns the names of the apps this runtime has provisioned
// successfully (every configured section, and those pulled in by modules or
// App since), in the order they were provisioned. It provisions nothing.
func (rt *Runtime) Apps() []string {
	rt.host.mu.Lock()
	defer rt.host.mu.Unlock()
	return append([]string(nil), rt.host.appOrder...)
}

// Chains describes the loaded chains in configuration order.
func (rt *Runtime) Chains() []ChainInfo {
	out := make([]ChainInfo, len(rt.chains))
	for i, c := range rt.chains {
		out[i] = c.info
	}
	return out
}

// Warnings returns the problems that did not stop the configuration from
// loading (shadowed chains), in file order.
func (rt *Runtime) Warnings() []Problem {
	return append([]Problem(nil), rt.warnings...)
}

// Ready reports whether every app and module instance that can tell is
// ready to serve; it joins the errors of those that are not.
func (rt *Runtime) Ready() error {
	rt.host.mu.Lock()
	checks := append([]readiness(nil), rt.host.ready...)
	rt.host.mu.Unlock()
	var errs []error
	for _, c := range checks {
		if err := safeCall(c.r.Ready); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.what, err))
		}
	}
	return errors.Join(errs...)
}

// ConfigDir is the directory the configuration was read from.
func (rt *Runtime) ConfigDir() string { return rt.host.ConfigDir() }

// Close retires the runtime: it stops accepting requests, waits for the
// requests in flight to finish, and cleans up every app and module
// instance. It returns the cleanup errors. Calling it again returns the
// same result.
func (rt *Runtime) Close() error {
	rt.closeOnce.Do(rt.release)
	<-rt.done
	return rt.cleanupErr
}

func (rt *Runtime) acquire() bool {
	for {
		n := rt.refs.Load()
		if n <= 0 {
			return false
		}
		if rt.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (rt *Runtime) release() {
	if rt.refs.Add(-1) == 0 {
		rt.cleanupErr = rt.host.cleanup()
		close(rt.done)
	}
}

package mappingrules

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

// ErrTimeout is the cause of a rule error when the evaluation ran past its
// deadline.
var ErrTimeout = errors.New("mapping rule deadline exceeded")

// Rule is one compiled rule of a rule set.
type Rule struct {
	// Name is the rule's name (its file's base name, its key under files
	// or inline).
	Name string
	// Origin is the file the rule came from, or "inline".
	Origin string
	*compiledRule
	set *RuleSet
}

// RuleSet is a directory and configuration of rules compiled together,
// with the pool of runtimes that evaluates them.
type RuleSet struct {
	cfg    Config
	logger hclog.Logger
	rules  map[string]*Rule
	cache  Cache

	mu      sync.Mutex
	idle    []*vmRT
	running int
	wake    chan struct{}
	closed  bool
}

// NewRuleSet loads and compiles every rule the configuration names. dir
// paths are resolved against baseDir. A syntax error is a *RuleError naming
// the rule, line and column. cache backs IDMappingExtCache; nil means an
// in-memory cache.
func NewRuleSet(cfg Config, baseDir string, cache Cache, logger hclog.Logger) (*RuleSet, error) {
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	if cache == nil {
		cache = NewMemoryCache()
	}
	s := &RuleSet{cfg: cfg, logger: logger, rules: map[string]*Rule{}, cache: cache, wake: make(chan struct{}, 1)}
	add := func(name, origin, src string) error {
		if cur, dup := s.rules[name]; dup {
			return fmt.Errorf("rule %q defined twice (%s and %s)", name, cur.Origin, origin)
		}
		c, err := compileRule(name, src)
		if err != nil {
			if origin != "inline" {
				return fmt.Errorf("%s: %w", origin, err)
			}
			return err
		}
		s.rules[name] = &Rule{Name: name, Origin: origin, compiledRule: c, set: s}
		return nil
	}
	dir := cfg.Dir
	if dir != "" && !filepath.IsAbs(dir) {
		dir = filepath.Join(baseDir, dir)
	}
	mapped := map[string]bool{}
	for _, name := range sortedMapKeys(cfg.Files) {
		p := cfg.Files[name]
		if !filepath.IsAbs(p) {
			if dir == "" {
				p = filepath.Join(baseDir, p)
			} else {
				p = filepath.Join(dir, p)
			}
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, &sts.ConfigError{Path: "files." + name, Err: err}
		}
		mapped[filepath.Clean(p)] = true
		if err := add(name, p, string(src)); err != nil {
			return nil, &sts.ConfigError{Path: "files." + name, Err: err}
		}
	}
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, &sts.ConfigError{Path: "dir", Err: err}
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".js") {
				continue
			}
			p := filepath.Join(dir, e.Name())
			if mapped[filepath.Clean(p)] {
				continue
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return nil, &sts.ConfigError{Path: "dir", Err: err}
			}
			if err := add(strings.TrimSuffix(e.Name(), ".js"), p, string(src)); err != nil {
				return nil, &sts.ConfigError{Path: "dir", Err: err}
			}
		}
	}
	for _, name := range sortedMapKeys(cfg.Inline) {
		if err := add(name, "inline", cfg.Inline[name]); err != nil {
			return nil, &sts.ConfigError{Path: "inline." + name, Err: err}
		}
	}
	return s, nil
}

func sortedMapKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Config returns the rule set's configuration with defaults applied.
func (s *RuleSet) Config() Config { return s.cfg }

// Names returns the names of the rules, sorted.
func (s *RuleSet) Names() []string {
	out := make([]string, 0, len(s.rules))
	for n := range s.rules {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Rule resolves a rule name: first exactly (a files key, an inline key or a
// file's base name), then case-insensitively against every rule name, with
// an optional ".js" suffix ignored. An ambiguous case-insensitive match is
// an error.
func (s *RuleSet) Rule(name string) (*Rule, error) {
	if r, ok := s.rules[name]; ok {
		return r, nil
	}
	want := strings.ToLower(strings.TrimSuffix(name, ".js"))
	var found []*Rule
	for n, r := range s.rules {
		if strings.ToLower(n) == want {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("no mapping rule named %q", name)
	}
	names := make([]string, len(found))
	for i, r := range found {
		names[i] = r.Name
	}
	sort.Strings(names)
	return nil, fmt.Errorf("mapping rule name %q is ambiguous: %s", name, strings.Join(names, ", "))
}

// Compile compiles a rule that is not part of the set's names (a map
// step's inline source); it can import the set's rules.
func (s *RuleSet) Compile(name, src string) (*Rule, error) {
	c, err := compileRule(name, src)
	if err != nil {
		return nil, err
	}
	return &Rule{Name: name, Origin: "inline", compiledRule: c, set: s}, nil
}

// Close releases the pooled runtimes.
func (s *RuleSet) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.idle = nil
	return nil
}

type nestedKey struct{}

// acquire returns a runtime, waiting while PoolSize evaluations run. A
// nested evaluation (a rule's LocalSTSClient call running a chain with
// another rule) never waits: its caller holds a runtime, and waiting could
// deadlock the pool.
func (s *RuleSet) acquire(ctx context.Context) (*vmRT, error) {
	nested := ctx.Value(nestedKey{}) != nil
	for {
		s.mu.Lock()
		if s.running < s.cfg.PoolSize || nested {
			s.running++
			var rt *vmRT
			if n := len(s.idle); n > 0 && !s.cfg.FreshRuntimes {
				rt = s.idle[n-1]
				s.idle = s.idle[:n-1]
			}
			s.mu.Unlock()
			if rt != nil {
				return rt, nil
			}
			rt, err := newVMRT(s)
			if err != nil {
				s.release(nil)
			}
			return rt, err
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// release returns a runtime to the pool; nil (or a closed set, or a full
// pool) drops it.
func (s *RuleSet) release(rt *vmRT) {
	s.mu.Lock()
	s.running--
	if rt != nil && !s.closed && !s.cfg.FreshRuntimes && len(s.idle) < s.cfg.PoolSize {
		s.idle = append(s.idle, rt)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Input is what one evaluation works on.
type Input struct {
	// User is the universal user the rule sees as stsuu and edits in place.
	User *sts.STSUU
	// Call is the chain call, when the rule runs in a chain: its Request
	// (stsrequest, the request id in traces), Output (stsresponse), Runner
	// (LocalSTSClient) and Logger.
	Call *sts.Call
	// Timeout overrides the rule set's timeout when positive.
	Timeout time.Duration
	// Limits overrides the rule set's limits (zero fields keep them).
	Limits Limits
	// Logger receives traceString output; defaults to Call.Logger, then the
	// rule set's logger.
	Logger hclog.Logger
}

// Result reports what an evaluation did beyond editing the user.
type Result struct {
	// Token is the token the rule set through
	// stsresponse...setRequestedSecurityToken, or nil.
	Token *sts.Token
}

// Evaluate runs the rule over in.User. Errors are *RuleError values naming
// the rule, line and column; an STS exception the rule threw unwraps to the
// *sts.Error it carries (errors.As).
func (r *Rule) Evaluate(ctx context.Context, in Input) (*Result, error) {
	s := r.set
	if in.User == nil {
		return nil, fmt.Errorf("rule %q: no universal user", r.Name)
	}
	lim := s.cfg.Limits
	if in.Limits != (Limits{}) {
		lim = mergeLimits(lim, in.Limits)
	}
	timeout := s.cfg.Timeout
	if in.Timeout > 0 {
		timeout = in.Timeout
	}
	// Waiting for a runtime counts against the request's deadline only; the
	// rule's own timeout starts when it starts.
	rt, err := s.acquire(ctx)
	if err != nil {
		return nil, &RuleError{Rule: r.Name, Message: "no runtime available: " + err.Error(), Cause: err}
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	logger := in.Logger
	if logger == nil && in.Call != nil && in.Call.Logger != nil {
		logger = in.Call.Logger
	}
	if logger == nil {
		logger = s.logger
	}
	// The evaluation's state lives in the runtime, which runs one
	// evaluation at a time: no allocation per evaluation.
	ev := &rt.ev
	*ev = evalState{parent: ctx, deadline: deadline, set: s, rule: r, user: in.User, call: in.Call, limits: lim, logger: logger, stack: ev.stack[:0]}
	res, reusable, err := rt.run(ev, deadline)
	if ev.cancel != nil {
		ev.cancel()
	}
	// Drop the request's objects; a pooled runtime keeps only the stack's
	// backing array.
	*ev = evalState{stack: ev.stack[:0]}
	if reusable {
		s.release(rt)
	} else {
		s.release(nil)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func mergeLimits(base, over Limits) Limits {
	if over.MaxValueBytes > 0 {
		base.MaxValueBytes = over.MaxValueBytes
	}
	if over.MaxValues > 0 {
		base.MaxValues = over.MaxValues
	}
	if over.MaxAttributes > 0 {
		base.MaxAttributes = over.MaxAttributes
	}
	if over.MaxStringBytes > 0 {
		base.MaxStringBytes = over.MaxStringBytes
	}
	if over.MaxOutputBytes > 0 {
		base.MaxOutputBytes = over.MaxOutputBytes
	}
	return base
}

// evalState is one evaluation as the API natives see it.
type evalState struct {
	// parent is the caller's context; ctx, made on first use, adds the
	// evaluation's deadline and marks calls made from inside a rule.
	parent   context.Context
	deadline time.Time
	ctx      context.Context
	cancel   context.CancelFunc
	set      *RuleSet
	rule     *Rule
	user     *sts.STSUU
	call     *sts.Call
	limits   Limits
	logger   hclog.Logger
	stack    []string
	imported map[string]bool
	token    *sts.Token
}

func (ev *evalState) cache() Cache { return ev.set.cache }

// context is the context for work a rule starts (cache, LocalSTSClient):
// the caller's, bounded by the evaluation's deadline, and marked as nested
// so a chain it runs never waits for this rule set's pool.
func (ev *evalState) context() context.Context {
	if ev.ctx == nil {
		ev.ctx, ev.cancel = context.WithDeadline(context.WithValue(ev.parent, nestedKey{}, true), ev.deadline)
	}
	return ev.ctx
}

func (ev *evalState) currentRule() string {
	if n := len(ev.stack); n > 0 {
		return ev.stack[n-1]
	}
	return ev.rule.Name
}

func (ev *evalState) requestID() string {
	if ev.call != nil && ev.call.Request != nil {
		return ev.call.Request.ID
	}
	return ""
}

// run evaluates on this runtime. The runtime's base global object (the
// built-ins and the API, all frozen) becomes the prototype of a new global
// object for this evaluation only: declarations, assignments and imports
// land on it and are dropped with it.
func (rt *vmRT) run(ev *evalState, deadline time.Time) (res *Result, reusable bool, err error) {
	reusable = true
	vm := rt.vm
	// The global object is a Go map (globalObj) whose prototype is the
	// frozen base: emptying the map and restoring the prototype returns it
	// to its initial state, and nothing else can be attached to it (goja
	// refuses symbol keys, accessors, non-configurable properties and
	// preventExtensions on it).
	if rt.global == nil {
		rt.globalVals = &globalObj{vals: make(map[string]goja.Value, 32)}
		rt.global = vm.NewDynamicObject(rt.globalVals)
	}
	g := rt.global
	_ = g.SetPrototype(rt.base)
	vals := rt.globalVals.vals
	defer clear(vals)
	userObj := rt.wrapUser(ev.user)
	vals["globalThis"] = g
	vals["stsuu"] = userObj
	vals["stsrequest"] = rt.requestValue(ev)
	vals["stsresponse"] = rt.response
	run := rt.ruleFunc(ev.rule.compiledRule)
	if run == nil {
		rt.declareGlobals(ev.rule.globals)
		prog := ev.rule.prog
		run = func() error {
			_, err := vm.RunProgram(prog)
			return err
		}
	}
	vm.SetGlobalObject(g)
	rt.cur = ev
	ev.stack = append(ev.stack[:0], ev.rule.Name)

	rt.armDeadline(time.Until(deadline))
	// A cancelled request (not a deadline, which the timer covers) stops
	// the rule too.
	stopCtx := func() bool { return true }
	if parent := ev.parent; parent.Done() != nil {
		// The callback may still run after stopCtx reports it started,
		// when Evaluate already resets the reused ev: it must not read ev.
		stopCtx = context.AfterFunc(parent, func() {
			if cerr := parent.Err(); cerr != nil && !errors.Is(cerr, context.DeadlineExceeded) {
				vm.Interrupt(cerr)
			}
		})
	}
	crashed, runErr := runGuarded(run)
	// A thrown object becomes its message through its own toString, a
	// message getter or a Proxy trap: rule code, which must still run
	// under the deadline.
	thrown := ""
	if runErr != nil && !crashed {
		thrown, runErr = rt.thrownText(runErr)
	}
	// When the cancellation callback has started it may still interrupt
	// the runtime after ClearInterrupt: such a runtime is not reused.
	ctxQuiet := stopCtx()
	rt.disarmDeadline()
	vm.ClearInterrupt()
	vm.SetGlobalObject(rt.base)
	rt.cur = nil
	defer rt.forgetHosts()
	defer func() { rt.user = uuHandle{} }()
	reusable = ctxQuiet && !crashed && rt.symbolFor <= maxSymbolFor
	if runErr != nil {
		var intr *goja.InterruptedError
		var so *goja.StackOverflowError
		if errors.As(runErr, &intr) || errors.As(runErr, &so) {
			reusable = false
		}
		return nil, reusable, rt.ruleError(ev, runErr, thrown)
	}
	// A rule that redeclares stsuu (var stsuu = new STSUniversalUser())
	// and fills it means that user: adopt it.
	if cur := g.Get("stsuu"); cur != userObj {
		h, ok := rt.payload(cur).(*uuHandle)
		if !ok {
			return nil, reusable, &RuleError{Rule: ev.rule.Name, Message: "the rule replaced the global stsuu with something that is not an STSUniversalUser"}
		}
		if h.u != ev.user {
			*ev.user = *h.u.Clone()
		}
	}
	if n := sizeOf(ev.user); n > ev.limits.MaxOutputBytes {
		return nil, reusable, &RuleError{Rule: ev.rule.Name, Message: fmt.Sprintf("the universal user grew to %d bytes, over the limit of %d (limits.max_output_bytes)", n, ev.limits.MaxOutputBytes)}
	}
	return &Result{Token: ev.token}, reusable, nil
}

// declareGlobals creates a rule's top-level names on the evaluation's
// global object, keeping any it already has (var x; does not reset x).
// goja would otherwise bind them as non-configurable properties, which the
// global object refuses.
func (rt *vmRT) declareGlobals(names []string) {
	vals := rt.globalVals.vals
	for _, name := range names {
		if _, ok := vals[name]; !ok {
			vals[name] = goja.Undefined()
		}
	}
}

// setGlobal defines a name on the evaluation's global object (importClass,
// importPackage), even one the frozen base defines.
func (rt *vmRT) setGlobal(name string, v goja.Value) {
	rt.globalVals.vals[name] = v
}

// globalObj is the global object of evaluations: a map of the names a rule
// defines, on top of the frozen base.
type globalObj struct {
	vals map[string]goja.Value
}

var _ goja.DynamicObject = (*globalObj)(nil)

// Get, Set, Has, Delete and Keys implement goja.DynamicObject over the map.
func (g *globalObj) Get(k string) goja.Value { return g.vals[k] }

func (g *globalObj) Set(k string, v goja.Value) bool {
	g.vals[k] = v
	return true
}

func (g *globalObj) Has(k string) bool {
	_, ok := g.vals[k]
	return ok
}

func (g *globalObj) Delete(k string) bool {
	delete(g.vals, k)
	return true
}

func (g *globalObj) Keys() []string {
	out := make([]string, 0, len(g.vals))
	for k := range g.vals {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// requestValue is stsrequest, or null outside a chain call.
func (rt *vmRT) requestValue(ev *evalState) goja.Value {
	if ev.call == nil || ev.call.Request == nil {
		return goja.Null()
	}
	return rt.request
}

// runGuarded runs a rule, turning a panic that is not a JavaScript
// exception (a fault in the API code) into an error, so one rule cannot take
// the server down; the runtime is then not reused.
func runGuarded(run func() error) (crashed bool, err error) {
	defer func() {
		if x := recover(); x != nil {
			crashed, err = true, fmt.Errorf("internal error in the rule API: %v", x)
		}
	}()
	return false, run()
}

// maxSymbolFor is how many Symbol.for calls a runtime takes before it is
// retired: rules hardly use the symbol registry, which outlives the
// evaluation, so a runtime that filled it is rebuilt rather than kept.
const maxSymbolFor = 1024

// maxRuleFuncs bounds a runtime's table of rule functions (a rule set has
// as many rules as its configuration names, plus the map steps' inline
// rules; the bound only matters if rules were compiled without end).
const maxRuleFuncs = 1024

// ruleFunc returns the function that runs a rule in function form on this
// runtime, made on first use, or nil for a rule that runs as a script.
// The function object is frozen: no evaluation can attach anything to it.
// Each call gets a new frame, so nothing of one evaluation's variables
// survives into the next.
func (rt *vmRT) ruleFunc(c *compiledRule) func() error {
	if c.main == nil {
		return nil
	}
	f, ok := rt.funcs[c]
	if !ok {
		v, err := rt.vm.RunProgram(c.main)
		if err != nil {
			return nil
		}
		if len(c.params) > 0 {
			// The globals the rule only reads have the same values in every
			// evaluation on this runtime (see paramGlobals): the rule
			// function captures them once.
			args := make([]goja.Value, len(c.params))
			for i, p := range c.params {
				if p == "stsuu" {
					args[i] = rt.userObj
				} else {
					args[i] = rt.base.Get(p)
				}
				if args[i] == nil {
					return nil
				}
			}
			outer, isFunc := goja.AssertFunction(v)
			if !isFunc {
				return nil
			}
			if v, err = outer(goja.Undefined(), args...); err != nil {
				return nil
			}
		}
		call, isFunc := goja.AssertFunction(v)
		if !isFunc {
			return nil
		}
		if _, err := rt.freezeFn(goja.Undefined(), v); err != nil {
			return nil
		}
		if len(rt.funcs) >= maxRuleFuncs {
			clear(rt.funcs)
		}
		f = func() error {
			_, err := call(goja.Undefined())
			return err
		}
		rt.funcs[c] = f
	}
	return f
}

// thrownText returns the text of the value a rule threw, converted while
// the deadline still runs, and err, or the interruption or stack overflow
// that stopped the conversion instead (the runtime is then not reused).
// A conversion that throws gives a fixed text. The conversion is a call
// into the runtime like the rule's own, so promise jobs it queues run now,
// in this evaluation, and not at the end of the next one.
func (rt *vmRT) thrownText(err error) (string, error) {
	var exc *goja.Exception
	if !errors.As(err, &exc) {
		return "", err
	}
	v := exc.Value()
	if o, ok := v.(*goja.Object); !ok || rt.errs[o] != nil {
		return "", err
	}
	text, cerr := rt.toString(goja.Undefined(), v)
	if cerr != nil {
		var intr *goja.InterruptedError
		var so *goja.StackOverflowError
		if errors.As(cerr, &intr) || errors.As(cerr, &so) {
			return "", cerr
		}
		return "the thrown value could not be converted to text", err
	}
	return text.String(), err
}

// ruleError turns a goja error into a *RuleError positioned in the rule
// that was running; thrown is the thrown value's text (thrownText), or
// empty to convert a primitive or API error here.
func (rt *vmRT) ruleError(ev *evalState, err error, thrown string) error {
	re := &RuleError{Rule: ev.rule.Name}
	var stack []goja.StackFrame
	var intr *goja.InterruptedError
	var so *goja.StackOverflowError
	var exc *goja.Exception
	switch {
	case errors.As(err, &intr):
		stack = intr.Stack()
		cause, _ := intr.Value().(error)
		if cause == nil {
			cause = ErrTimeout
		}
		re.Cause = cause
		if errors.Is(cause, ErrTimeout) {
			re.Message = fmt.Sprintf("deadline exceeded (%s)", rt.set.cfg.Timeout)
			// The request's own deadline, not the rule's timeout, ran out:
			// keep context.DeadlineExceeded in the chain so the caller gets
			// temporarily_unavailable rather than a server error.
			if d, ok := ev.parent.Deadline(); ok && !time.Now().Before(d) {
				re.Message = "the request deadline passed while the rule ran"
				re.Cause = fmt.Errorf("%w: %w", ErrTimeout, context.DeadlineExceeded)
			}
		} else {
			re.Message = "cancelled: " + cause.Error()
		}
	case errors.As(err, &so):
		stack = so.Stack()
		re.Message = fmt.Sprintf("call stack exceeded %d frames (max_call_stack)", rt.set.cfg.MaxCallStack)
	case errors.As(err, &exc):
		stack = exc.Stack()
		re.Message = thrown
		if _, isObj := exc.Value().(*goja.Object); !isObj {
			re.Message = exc.Value().String()
		}
		if o, ok := exc.Value().(*goja.Object); ok {
			re.Cause = rt.errs[o]
		}
		if re.Cause != nil {
			// A Go error thrown by the API: its own text, without goja's
			// "GoError:" prefix.
			re.Message = re.Cause.Error()
		}
	default:
		re.Message = err.Error()
		re.Cause = err
	}
	for _, f := range stack {
		name := f.SrcName()
		if name == "" || strings.HasPrefix(name, "chainsts:") {
			continue
		}
		p := f.Position()
		if p.Line == 0 {
			continue
		}
		re.Rule, re.Line, re.Column = name, p.Line, p.Column
		break
	}
	return re
}

// Warm builds one runtime and puts it in the pool: it proves at load time
// that the API and the lockdown build, and saves the first request the
// cost. The other pool slots are filled in the background, so a burst of
// requests right after a load or reload does not build runtimes on the
// request path (a runtime takes milliseconds to build).
func (s *RuleSet) Warm() error {
	rt, err := newVMRT(s)
	if err != nil {
		return err
	}
	if s.cfg.FreshRuntimes {
		return nil
	}
	s.mu.Lock()
	s.idle = append(s.idle, rt)
	s.mu.Unlock()
	go s.fill()
	return nil
}

func (s *RuleSet) fill() {
	for {
		s.mu.Lock()
		full := s.closed || len(s.idle)+s.running >= s.cfg.PoolSize
		s.mu.Unlock()
		if full {
			return
		}
		rt, err := newVMRT(s)
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed || len(s.idle)+s.running >= s.cfg.PoolSize {
			s.mu.Unlock()
			return
		}
		s.idle = append(s.idle, rt)
		s.mu.Unlock()
		s.signal()
	}
}

func (s *RuleSet) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

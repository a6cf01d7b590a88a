package chains

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

// errAppFailed marks errors returned by Host.App for an app whose own
// problems were already reported, so a module failing because of it does
// not repeat them.
var errAppFailed = errors.New("app failed to load")

type appFailure struct {
	name string
	err  error
}

func (e *appFailure) Error() string { return fmt.Sprintf("app %q: %v", e.name, e.err) }
func (e *appFailure) Unwrap() []error {
	return []error{errAppFailed, e.err}
}

type appState struct {
	name  string
	value any
	err   error
	busy  bool
	done  bool
}

// cleaner is a provisioned component to clean up when its runtime retires.
type cleaner struct {
	what string
	c    sts.CleanerUpper
}

// host is one runtime's view of apps and paths (sts.Host). Apps are
// provisioned on first use and cached; provisioning runs under mu, inside a
// session.
type host struct {
	ctx      context.Context
	dir      string
	dataDir  string
	dataOnce sync.Once
	logger   hclog.Logger
	sections map[string]located

	mu       sync.Mutex
	apps     map[string]*appState
	stack    []string
	appOrder []string // successfully provisioned apps, in order
	cleaners []cleaner
	ready    []readiness
	closed   bool // cleaned up: no more apps
	// ps receives problems while the configuration loads; nil afterwards,
	// when App only returns errors.
	ps *problemSet
}

type readiness struct {
	what string
	r    sts.ReadinessChecker
}

// session is the sts.Host handed to components while they provision. The
// host lock is held for the whole session, so a component's nested
// Host.App calls must not take it again; a component that keeps the Host
// and calls it later goes through the lock like anyone else.
type session struct {
	h    *host
	done atomic.Bool
}

func (s *session) App(name string) (any, error) {
	if s.done.Load() {
		return s.h.App(name)
	}
	return s.h.provisionApp(name, s)
}

func (s *session) ConfigDir() string { return s.h.ConfigDir() }
func (s *session) DataDir() string   { return s.h.DataDir() }

var _ sts.Host = (*session)(nil)
var _ sts.Host = (*host)(nil)

// App returns the app, provisioning it (with its defaults when the
// configuration has no section) on first use.
func (h *host) App(name string) (any, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errRetired
	}
	s := &session{h: h}
	defer s.done.Store(true)
	return h.provisionApp(name, s)
}

// ConfigDir is the directory holding the configuration.
func (h *host) ConfigDir() string { return h.dir }

// DataDir is the data directory, created with mode 0700 on first use.
func (h *host) DataDir() string {
	h.dataOnce.Do(func() {
		if err := os.MkdirAll(h.dataDir, 0o700); err != nil {
			h.logger.Error("cannot create data directory", "dir", h.dataDir, "error", err)
		}
	})
	return h.dataDir
}

// provisionApp provisions or returns an app; the caller holds h.mu.
func (h *host) provisionApp(name string, s *session) (any, error) {
	if st, ok := h.apps[name]; ok {
		if st.busy {
			cycle := append(append([]string{}, h.stack[indexOf(h.stack, name):]...), name)
			return nil, fmt.Errorf("apps depend on each other in a cycle: %s", strings.Join(cycle, " -> "))
		}
		if st.done {
			return st.value, st.err
		}
	}
	info, ok := sts.GetApp(name)
	if !ok {
		return nil, fmt.Errorf("unknown app %q", name)
	}
	st := &appState{name: name, busy: true}
	h.apps[name] = st
	h.stack = append(h.stack, name)
	defer func() {
		h.stack = h.stack[:len(h.stack)-1]
		st.busy, st.done = false, true
	}()

	v := info.New()
	sec, hasSection := h.sections[name]
	what := fmt.Sprintf("section %s", name)
	ps := h.ps
	if ps == nil {
		ps = &problemSet{}
	}
	if hasSection {
		if !decodeStrict(v, sec, ps, what) {
			st.err = &appFailure{name: name, err: errors.New("invalid configuration")}
			if h.ps == nil {
				st.err = &appFailure{name: name, err: errors.New(ps.sorted()[0].String())}
			}
			return nil, st.err
		}
	}
	pctx := sts.ProvisionContext{Context: h.ctx, Logger: h.logger.Named(name), Host: s}
	if err := h.lifecycle(v, pctx, []located{sec}, sec, what, hasSection); err != nil {
		if !hasSection {
			// Nothing in the configuration to point at: the component
			// that asked for the app reports the error at its own
			// position. %v, not %w: a key path in the app's error must
			// not be taken for one in the component's configuration.
			st.err = fmt.Errorf("app %q (defaults, no section): %v", name, err)
			return nil, st.err
		}
		st.err = &appFailure{name: name, err: err}
		return nil, st.err
	}
	st.value = v
	h.appOrder = append(h.appOrder, name)
	return v, nil
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return 0
}

// lifecycle provisions and validates a decoded component, reporting errors
// at the position of the offending key: cfgs are the configuration sources
// in precedence order (a step's own config, then its named instance's
// defaults); fallback is where to report when no key is named. The
// component is recorded for cleanup even when provisioning fails part way.
func (h *host) lifecycle(v any, pctx sts.ProvisionContext, cfgs []located, fallback located, what string, report bool) error {
	var err error
	if p, ok := v.(sts.Provisioner); ok {
		err = safeCall(func() error { return p.Provision(pctx) })
	}
	if c, ok := v.(sts.CleanerUpper); ok {
		h.cleaners = append(h.cleaners, cleaner{what: what, c: c})
	}
	if err == nil {
		if val, ok := v.(sts.Validator); ok {
			err = safeCall(val.Validate)
		}
	}
	if err != nil {
		if report {
			h.report(err, cfgs, fallback, what)
		}
		return err
	}
	if r, ok := v.(sts.ReadinessChecker); ok {
		h.ready = append(h.ready, readiness{what: what, r: r})
	}
	return nil
}

// report turns a component's error into a problem at the best position.
func (h *host) report(err error, cfgs []located, fallback located, what string) {
	if h.ps == nil || errors.Is(err, errAppFailed) {
		return
	}
	var ce *sts.ConfigError
	if errors.As(err, &ce) && ce.Path != "" {
		for _, c := range cfgs {
			if isNull(c.node) {
				continue
			}
			if n, p, ok := nodeAtPath(c.node, c.path, ce.Path); ok {
				h.ps.add(SeverityError, c.file, n, p, "%s: %v", what, err)
				return
			}
		}
		// The key is not written anywhere (a missing required key):
		// point at the deepest part of the path that exists.
		for _, c := range cfgs {
			if !isNull(c.node) {
				n, p, _ := nodeAtPath(c.node, c.path, ce.Path)
				h.ps.add(SeverityError, c.file, n, p, "%s: %v", what, err)
				return
			}
		}
	}
	h.ps.add(SeverityError, fallback.file, fallback.node, fallback.path, "%s: %v", what, err)
}

// safeCall runs a component's lifecycle method, turning a panic into an
// error so that one faulty module cannot crash `chainsts check`.
func safeCall(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

// cleanup releases every component in reverse order of provisioning.
func (h *host) cleanup() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for i := len(h.cleaners) - 1; i >= 0; i-- {
		c := h.cleaners[i]
		if err := safeCall(c.c.Cleanup); err != nil {
			h.logger.Error("cleanup failed", "component", c.what, "error", err)
			errs = append(errs, fmt.Errorf("%s: %w", c.what, err))
		}
	}
	h.cleaners = nil
	h.closed = true
	return errors.Join(errs...)
}

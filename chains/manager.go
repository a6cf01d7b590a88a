package chains

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

// errManagerClosed is the cause when a request reaches a closed Manager.
var errManagerClosed = errors.New("the configuration manager is closed")

// Manager holds the current Runtime of a configuration path and replaces it
// on Reload. Requests take the current runtime once and finish on it even
// if a reload swaps in another; a retired runtime is cleaned up when its
// last request is done.
type Manager struct {
	path string
	opts Options
	log  hclog.Logger

	cur     atomic.Pointer[Runtime]
	mu      sync.Mutex // serializes Reload and Close
	closed  bool
	retired sync.WaitGroup
}

// NewManager loads the configuration at path; the error is a *ConfigErrors
// when the configuration has problems.
func NewManager(ctx context.Context, path string, opts Options) (*Manager, error) {
	rt, err := Load(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	m := &Manager{path: path, opts: opts, log: log}
	m.cur.Store(rt)
	return m, nil
}

// Current returns the current runtime, or nil once the manager is closed.
// The runtime stays usable while a reload retires it only for calls that
// hold it: use Acquire (or Manager.Run) to keep it for a whole request.
func (m *Manager) Current() *Runtime {
	return m.cur.Load()
}

// Acquire returns the current runtime, held until release is called: a
// reload in the meantime does not clean it up under the caller. It returns
// nil (and a no-op release) once the manager is closed.
func (m *Manager) Acquire() (rt *Runtime, release func()) {
	for {
		rt := m.cur.Load()
		if rt == nil {
			return nil, func() {}
		}
		// A runtime that cannot be acquired has been retired, which
		// happens only after the pointer moved on: load it again.
		if rt.acquire() {
			return rt, rt.release
		}
	}
}

// Run runs a request on the current runtime.
func (m *Manager) Run(ctx context.Context, req *sts.Request) (*sts.Response, error) {
	rt, release := m.Acquire()
	defer release()
	if rt == nil {
		return nil, sts.ErrTemporarilyUnavailable.WithCause(errManagerClosed)
	}
	return rt.Run(ctx, req)
}

// Reload builds a whole new runtime from the configuration path and swaps
// it in. On error (a *ConfigErrors for configuration problems) the current
// runtime keeps serving. The old runtime is cleaned up in the background
// once its in-flight requests finish.
func (m *Manager) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errManagerClosed
	}
	rt, err := Load(ctx, m.path, m.opts)
	if err != nil {
		m.log.Error("reload failed; the previous configuration keeps serving", "error", err)
		return err
	}
	for _, w := range rt.Warnings() {
		m.log.Warn("configuration warning", "problem", w.String())
	}
	old := m.cur.Swap(rt)
	m.retired.Add(1)
	go func() {
		defer m.retired.Done()
		if err := old.Close(); err != nil {
			m.log.Error("cleanup of the previous configuration failed", "error", err)
		}
	}()
	m.log.Info("configuration reloaded", "chains", len(rt.chains))
	return nil
}

// Close retires the current runtime, waits for every request in flight and
// every retired runtime's cleanup, and returns the cleanup errors.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	var err error
	if old := m.cur.Swap(nil); old != nil {
		err = old.Close()
	}
	m.retired.Wait()
	return err
}

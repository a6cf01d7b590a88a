package server

import (
	"context"

	"github.com/chainsts/chainsts/chains"
)

// FromManager serves the runtimes of a chains.Manager.
func FromManager(m *chains.Manager) Runtimes { return managerRuntimes{m} }

type managerRuntimes struct{ m *chains.Manager }

func (a managerRuntimes) Acquire() (Runtime, func()) {
	rt, release := a.m.Acquire()
	if rt == nil {
		// A nil *chains.Runtime must not become a non-nil interface.
		return nil, release
	}
	return rt, release
}

func (a managerRuntimes) Reload(ctx context.Context) error { return a.m.Reload(ctx) }

// Interface guards.
var (
	_ Runtime              = (*chains.Runtime)(nil)
	_ chains.BoundObserver = (*Metrics)(nil)
)

package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

// OpenFunc opens a backend. dsn is the driver-specific location (a file
// path for sqlite, a name for memory, a connection string for postgres).
type OpenFunc func(ctx context.Context, dsn string) (Store, error)

var (
	driversMu sync.RWMutex
	drivers   = map[string]OpenFunc{}
)

// RegisterDriver makes a backend available to the store app under name.
// Backend packages call it from init; the binary imports them for effect.
func RegisterDriver(name string, open OpenFunc) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if _, dup := drivers[name]; dup {
		panic(fmt.Sprintf("store: driver %q registered twice", name))
	}
	drivers[name] = open
}

// Drivers returns the registered driver names, sorted.
func Drivers() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	out := make([]string, 0, len(drivers))
	for n := range drivers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Open opens a backend by driver name without sharing (tools and tests).
func Open(ctx context.Context, driver, dsn string) (Store, error) {
	driversMu.RLock()
	open, ok := drivers[driver]
	driversMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("store: unknown driver %q (registered: %v)", driver, Drivers())
	}
	return open(ctx, dsn)
}

// shared keeps one open backend per (driver, dsn) for the whole process, so
// a configuration reload, which provisions a new store app before the old
// runtime is retired, reuses the connection (and, for the memory driver,
// the state) instead of opening a second one.
type shared struct {
	st       Store
	refs     int
	stop     chan struct{}
	interval time.Duration
}

var (
	sharedMu sync.Mutex
	opened   = map[string]*shared{}
)

// App is the "store" app: configuration section `store:`. It embeds the
// open Store, so components reach it with
// sts.HostApp[store.Store](host, "store").
type App struct {
	// Driver is the backend: sqlite (default) or memory (tests only), or
	// any driver registered later (postgres).
	Driver string `yaml:"driver"`
	// Path is the sqlite file (relative paths are resolved against the data
	// directory; default chainsts.db), the memory store's name, or the
	// connection string of a network backend.
	Path string `yaml:"path"`
	// CleanupInterval is how often expired records are deleted (default
	// 1m; "0s" disables the background cleanup).
	CleanupInterval *time.Duration `yaml:"cleanup_interval"`

	Store `yaml:"-"`
	key   string
	log   hclog.Logger
}

func init() {
	sts.RegisterApp(sts.AppInfo{
		Name:        "store",
		Description: "state: replay records, opaque tokens, revocations, rule cache, run-time clients",
		New:         func() any { return &App{Driver: "sqlite"} },
	})
}

// Provision opens (or shares) the configured backend and starts the
// background cleanup.
func (a *App) Provision(ctx sts.ProvisionContext) error {
	a.log = ctx.Logger
	if a.log == nil {
		a.log = hclog.NewNullLogger()
	}
	if a.Driver == "" {
		a.Driver = "sqlite"
	}
	driversMu.RLock()
	_, ok := drivers[a.Driver]
	driversMu.RUnlock()
	if !ok {
		return sts.ConfigErrorf("driver", "unknown store driver %q (available: %v)", a.Driver, Drivers())
	}
	dsn := a.Path
	switch a.Driver {
	case "sqlite":
		if dsn == "" {
			dsn = "chainsts.db"
		}
		if !filepath.IsAbs(dsn) && ctx.Host != nil {
			dsn = filepath.Join(ctx.Host.DataDir(), dsn)
		}
	case "memory":
		if dsn == "" {
			dsn = "default"
		}
	}
	interval := time.Minute
	if a.CleanupInterval != nil {
		interval = *a.CleanupInterval
		if interval < 0 {
			return sts.ConfigErrorf("cleanup_interval", "must not be negative")
		}
	}
	a.key = a.Driver + "\x00" + dsn

	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sh, ok := opened[a.key]; ok {
		sh.refs++
		a.Store = sh.st
		return nil
	}
	pctx := ctx.Context
	if pctx == nil {
		pctx = context.Background()
	}
	st, err := Open(pctx, a.Driver, dsn)
	if err != nil {
		return &sts.ConfigError{Path: "path", Err: err}
	}
	sh := &shared{st: st, refs: 1, stop: make(chan struct{}), interval: interval}
	opened[a.key] = sh
	a.Store = st
	if interval > 0 {
		go cleanupLoop(sh, a.log)
	}
	return nil
}

func cleanupLoop(sh *shared, log hclog.Logger) {
	t := time.NewTicker(sh.interval)
	defer t.Stop()
	for {
		select {
		case <-sh.stop:
			return
		case now := <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			n, err := sh.st.DeleteExpired(ctx, now)
			cancel()
			if err != nil {
				log.Warn("store cleanup failed", "error", err)
			} else if n > 0 {
				log.Debug("store cleanup", "deleted", n)
			}
		}
	}
}

// Ready reports whether the backend answers.
func (a *App) Ready() error {
	if a.Store == nil {
		return errors.New("store: not open")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return a.Ping(ctx)
}

// Cleanup releases this runtime's reference; the backend is closed when the
// last runtime using it is retired.
func (a *App) Cleanup() error {
	if a.Store == nil {
		return nil
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	sh, ok := opened[a.key]
	a.Store = nil
	if !ok {
		return nil
	}
	sh.refs--
	if sh.refs > 0 {
		return nil
	}
	delete(opened, a.key)
	close(sh.stop)
	return sh.st.Close()
}

// Interface guards.
var (
	_ sts.Provisioner      = (*App)(nil)
	_ sts.CleanerUpper     = (*App)(nil)
	_ sts.ReadinessChecker = (*App)(nil)
	_ Store                = (*App)(nil)
)

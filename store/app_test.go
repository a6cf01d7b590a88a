package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chainsts/chainsts/store"
	_ "github.com/chainsts/chainsts/store/memory"
	_ "github.com/chainsts/chainsts/store/sqlite"
	"github.com/chainsts/chainsts/sts"
)

type host struct{ dir string }

func (h host) App(string) (any, error) { return nil, errors.New("no apps") }
func (h host) ConfigDir() string       { return h.dir }
func (h host) DataDir() string         { return filepath.Join(h.dir, "data") }

func newApp(t *testing.T) *store.App {
	t.Helper()
	info, ok := sts.GetApp("store")
	if !ok {
		t.Fatal("store app not registered")
	}
	return info.New().(*store.App)
}

func TestAppDefaultsToSQLiteInDataDir(t *testing.T) {
	dir := t.TempDir()
	a := newApp(t)
	if err := a.Provision(sts.ProvisionContext{Context: context.Background(), Host: host{dir}}); err != nil {
		t.Fatal(err)
	}
	defer a.Cleanup()
	if err := a.Ready(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "chainsts.db")); err != nil {
		t.Fatalf("sqlite file not in the data directory: %v", err)
	}
}

// TestAppSharesAcrossReload provisions the app twice, as a reload does
// before retiring the old runtime, and checks both see one state and the
// backend stays open until the last reference is released.
func TestAppSharesAcrossReload(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	zero := time.Duration(0)
	a1, a2 := newApp(t), newApp(t)
	for _, a := range []*store.App{a1, a2} {
		a.CleanupInterval = &zero
		if err := a.Provision(sts.ProvisionContext{Context: ctx, Host: host{dir}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a1.UseOnce(ctx, "ns", "j", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := a1.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if err := a2.UseOnce(ctx, "ns", "j", time.Now().Add(time.Minute)); !errors.Is(err, store.ErrAlreadyUsed) {
		t.Fatalf("second runtime does not see the first one's record: %v", err)
	}
	if err := a2.Cleanup(); err != nil {
		t.Fatal(err)
	}
}

func TestAppConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(a *store.App)
		path string
	}{
		{"unknown driver", func(a *store.App) { a.Driver = "mongo" }, "driver"},
		{"negative interval", func(a *store.App) { d := -time.Second; a.CleanupInterval = &d }, "cleanup_interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t)
			tc.set(a)
			err := a.Provision(sts.ProvisionContext{Context: context.Background(), Host: host{t.TempDir()}})
			var ce *sts.ConfigError
			if !errors.As(err, &ce) || ce.Path != tc.path {
				t.Fatalf("got %v, want a config error at %q", err, tc.path)
			}
		})
	}
}

func TestAppCleanupRemovesExpired(t *testing.T) {
	ctx := context.Background()
	a := newApp(t)
	a.Driver, a.Path = "memory", t.Name()
	d := 20 * time.Millisecond
	a.CleanupInterval = &d
	if err := a.Provision(sts.ProvisionContext{Context: ctx, Host: host{t.TempDir()}}); err != nil {
		t.Fatal(err)
	}
	defer a.Cleanup()
	if err := a.UseOnce(ctx, "ns", "j", time.Now().Add(10*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	// The record is expired after 10ms; the background loop (every 20ms)
	// must remove it, so a manual sweep afterwards finds nothing.
	time.Sleep(200 * time.Millisecond)
	n, err := a.DeleteExpired(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("background cleanup left %d expired records", n)
	}
}

func TestUnavailable(t *testing.T) {
	if err := store.Unavailable(store.ErrNotFound); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("sentinel changed: %v", err)
	}
	err := store.Unavailable(errors.New("disk I/O error"))
	var se *sts.Error
	if !errors.As(err, &se) || se.Code != "temporarily_unavailable" || se.Status != 503 {
		t.Fatalf("got %v, want 503 temporarily_unavailable", err)
	}
}

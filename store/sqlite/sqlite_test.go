package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chainsts/chainsts/store"
	"github.com/chainsts/chainsts/store/sqlite"
	"github.com/chainsts/chainsts/store/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "s.db"))
	})
}

// TestReopenKeepsState checks the file is the state: records written before
// a close are there after a reopen, and migrations are not reapplied.
func TestReopenKeepsState(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data", "chainsts.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UseOnce(ctx, "ns", "j", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, path)
	if err := s2.UseOnce(ctx, "ns", "j", time.Now().Add(time.Hour)); !errors.Is(err, store.ErrAlreadyUsed) {
		t.Fatalf("replay record lost on reopen: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("database file mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestUseOnceAcrossHandles opens the file twice, as two processes sharing it
// would, and races single-use inserts through both.
func TestUseOnceAcrossHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	stores := []*sqlite.Store{open(t, path), open(t, path)}
	var wins, fails atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := stores[i%2].UseOnce(ctx, "ns", "shared", time.Now().Add(time.Minute))
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, store.ErrAlreadyUsed):
				fails.Add(1)
				t.Errorf("use once: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d wins across two handles, want 1", wins.Load())
	}
}

package chains

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chainsts/chainsts/sts"
)

func versionConfig(label string) string {
	return `
chains:
  - name: versioned
    steps:
      - { id: s, module: recorder, mode: issue, config: { label: ` + label + ` } }
    lookup: { request_type: issue }
`
}

func issued(t *testing.T, m *Manager) string {
	t.Helper()
	resp, err := m.Run(context.Background(), &sts.Request{Type: "issue"})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return string(resp.Token.Data)
}

func TestReloadKeepsOldRuntimeOnBrokenConfig(t *testing.T) {
	resetEvents()
	path := writeFile(t, versionConfig("v1"))
	m, err := NewManager(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := issued(t, m); got != "issued-by-v1" {
		t.Fatalf("got %q", got)
	}

	// A broken configuration: the old chains keep serving, the problems
	// come back, and nothing of the failed load is left provisioned.
	broken := versionConfig("v2") + "    bogus: true\n"
	if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	err = m.Reload(context.Background())
	var ce *ConfigErrors
	if !errors.As(err, &ce) || len(ce.Problems) == 0 || !strings.Contains(ce.Error(), `unknown key "bogus"`) {
		t.Fatalf("Reload error = %v, want ConfigErrors about bogus", err)
	}
	if got := issued(t, m); got != "issued-by-v1" {
		t.Errorf("after a failed reload got %q, want the old chain", got)
	}
	if eventCount("cleaned", "v1") != 0 {
		t.Error("the serving runtime must not be cleaned up by a failed reload")
	}

	// A good configuration replaces it, and the old instances are
	// cleaned up.
	if err := os.WriteFile(path, []byte(versionConfig("v3")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := issued(t, m); got != "issued-by-v3" {
		t.Errorf("after reload got %q", got)
	}
	waitFor(t, func() bool { return eventCount("cleaned", "v1") == 1 })
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if eventCount("cleaned", "v3") != 1 {
		t.Errorf("Close must clean up the current runtime")
	}
	if _, err := m.Run(context.Background(), &sts.Request{Type: "issue"}); sts.AsError(err).Code != "temporarily_unavailable" {
		t.Errorf("Run after Close = %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestInFlightRequestsFinishOnOldRuntime(t *testing.T) {
	resetEvents()
	path := writeFile(t, `
chains:
  - name: slow
    steps:
      - { id: s, module: recorder, mode: map, config: { label: old-slow, sleep: 150ms } }
      - { id: o, module: recorder, mode: issue, config: { label: old } }
`)
	m, err := NewManager(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	done := make(chan string)
	go func() {
		resp, err := m.Run(context.Background(), &sts.Request{Type: "issue"})
		if err != nil {
			done <- err.Error()
			return
		}
		done <- string(resp.Token.Data)
	}()
	// Let the request start, then reload under it.
	waitFor(t, func() bool { return m.Current().refs.Load() > 1 })
	if err := os.WriteFile(path, []byte(versionConfig("new")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if eventCount("cleaned", "old") != 0 {
		t.Error("old runtime cleaned up while a request was still running on it")
	}
	if got := <-done; got != "issued-by-old" {
		t.Errorf("in-flight request got %q, want it to finish on the old chain", got)
	}
	waitFor(t, func() bool {
		return eventCount("cleaned", "old") == 1 && eventCount("cleaned", "old-slow") == 1
	})
}

// TestConcurrentRunAndReload runs requests from several goroutines while
// the configuration is reloaded repeatedly; run it with -race. Every
// request must succeed on one consistent configuration.
func TestConcurrentRunAndReload(t *testing.T) {
	resetEvents()
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte(versionConfig("r0")), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var runs atomic.Int64
	errs := make(chan error, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				resp, err := m.Run(context.Background(), &sts.Request{Type: "issue"})
				if err != nil {
					errs <- err
					return
				}
				if !strings.HasPrefix(string(resp.Token.Data), "issued-by-r") {
					errs <- errors.New("unexpected token " + string(resp.Token.Data))
					return
				}
				runs.Add(1)
			}
		}()
	}
	const reloads = 20
	for i := 1; i <= reloads; i++ {
		if err := os.WriteFile(path, []byte(versionConfig("r"+itoa(i))), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := m.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= reloads; i++ {
		if n := eventCount("cleaned", "r"+itoa(i)); n != 1 {
			t.Errorf("runtime r%d cleaned up %d times, want 1", i, n)
		}
	}
	if runs.Load() == 0 {
		t.Error("no request ran")
	}
}

func TestFailedLoadCleansUpWhatItProvisioned(t *testing.T) {
	resetEvents()
	_, err := Load(context.Background(), writeFile(t, `
alpha: { name: a }
chains:
  - name: good
    steps: [ { id: s, module: recorder, mode: map, config: { label: good-step } } ]
  - name: bad
    steps: [ { id: s, module: recorder, mode: map, config: { label: bad-step, bad_path: label } } ]
`), Options{})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, l := range []string{"good-step", "bad-step", "app:alpha"} {
		if eventCount("cleaned", l) != 1 {
			t.Errorf("%s cleaned %d times after the failed load, want 1", l, eventCount("cleaned", l))
		}
	}
}

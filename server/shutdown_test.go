package server

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/chains"
	"github.com/chainsts/chainsts/sts"
)

// testSlow serves GET /slow, which answers after a pause and closes
// slowStarted when it starts.
type testSlow struct{}

func (a *testSlow) HTTPRoutes() map[string]http.Handler {
	return map[string]http.Handler{"GET /slow": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(slowStarted)
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "finished")
	})}
}

var slowStarted chan struct{}

func init() {
	sts.RegisterApp(sts.AppInfo{Name: "testslow", New: func() any { return new(testSlow) }})
}

// TestShutdownFinishesInFlight checks the order of a graceful shutdown:
// readiness false at once, the request in flight answered, then Serve
// returns.
func TestShutdownFinishesInFlight(t *testing.T) {
	slowStarted = make(chan struct{})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("server: { listen: 127.0.0.1:0, admin_listen: \"off\" }\ntestslow: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	log := hclog.New(&hclog.LoggerOptions{Output: io.Discard})
	m, err := chains.NewManager(t.Context(), cfg, chains.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	srv, err := New(Options{Runtimes: FromManager(m), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	if srv.AdminAddr() != nil {
		t.Fatal("admin listener on although off")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + srv.PublicAddr().String() + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-slowStarted
	cancel()
	time.Sleep(50 * time.Millisecond)
	if err := srv.Ready(); err == nil {
		t.Error("ready while shutting down")
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned before the request finished: %v", err)
	default:
	}
	r := <-got
	if r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request: %q %v", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

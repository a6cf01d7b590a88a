package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// staleServer serves a JWK Set, answers 503 while down, and holds each
// response while gate is set until gate is closed.
type staleServer struct {
	*httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	down bool
	gate chan struct{}
	set  map[string]any
}

func newStaleServer(t *testing.T, ks ...*Key) *staleServer {
	t.Helper()
	s := &staleServer{set: map[string]any{"keys": []any{}}}
	for _, k := range ks {
		j, err := k.PublicJWK()
		if err != nil {
			t.Fatal(err)
		}
		s.set["keys"] = append(s.set["keys"].([]any), j)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		down, gate := s.down, s.gate
		s.mu.Unlock()
		if gate != nil {
			<-gate
		}
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(s.set)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *staleServer) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *staleServer) hold() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate = make(chan struct{})
	return s.gate
}

func (s *staleServer) wantHits(t *testing.T, want int64, when string) {
	t.Helper()
	if n := s.hits.Load(); n != want {
		t.Fatalf("fetches %s = %d, want %d", when, n, want)
	}
}

// manualClock is the remote sets' clock, moved by the test only.
type manualClock struct{ ns atomic.Int64 }

func (c *manualClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *manualClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// remoteApp provisions a keystores app whose remote sets (background
// refresh every hour: it never runs during a test) use a manual clock.
func remoteApp(t *testing.T) (*App, *manualClock) {
	t.Helper()
	a, err := provision(t, t.TempDir(), "remote: {refresh_interval: 1h, unknown_kid_cooldown: 1m, max_stale: 1h}\n")
	if err != nil {
		t.Fatal(err)
	}
	clk := new(manualClock)
	clk.ns.Store(time.Now().UnixNano())
	a.SetClock(clk.now)
	return a, clk
}

func ecKey(t *testing.T, kid string) *Key {
	t.Helper()
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKey(KeyOptions{Key: pk, Alg: "ES256", KID: kid})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Lookups that find the keys stale while an on-demand refetch is in flight
// wait for it and use its result: one fetch, nobody refused.
func TestRemoteStaleRefetchCoalesced(t *testing.T) {
	srv := newStaleServer(t, ecKey(t, "k1"))
	a, clk := remoteApp(t)
	rs, err := a.RemoteJWKS(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	algs := []string{"ES256"}
	if _, err := rs.Lookup(t.Context(), "k1", "ES256", algs); err != nil {
		t.Fatal(err)
	}
	srv.wantHits(t, 1, "after start")

	clk.advance(time.Hour + time.Nanosecond)
	gate := srv.hold()
	const n = 8
	errs := make(chan error, n+1)
	go func() {
		_, err := rs.Lookup(t.Context(), "k1", "ES256", algs)
		errs <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for srv.hits.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the on-demand refetch")
		}
		time.Sleep(time.Millisecond)
	}
	for range n {
		go func() {
			_, err := rs.Lookup(t.Context(), "k1", "ES256", algs)
			errs <- err
		}()
	}
	// Give the later lookups time to reach the in-flight fetch: one that
	// arrives after it ended finds fresh keys, so the outcome checked
	// below does not depend on this delay, only which path is exercised.
	time.Sleep(50 * time.Millisecond)
	close(gate)
	for range n + 1 {
		if err := <-errs; err != nil {
			t.Errorf("lookup of stale keys during the refetch: %v", err)
		}
	}
	srv.wantHits(t, 2, "for concurrent lookups of stale keys")
}

// A set whose first fetch failed has no keys: a lookup without kid, and a
// recipient key lookup once keys are stale, refetch on demand (once per
// cooldown) instead of waiting for the background refresh.
func TestRemoteStaleRefetchNoKIDAndEncryption(t *testing.T) {
	sig := ecKey(t, "")
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewKey(KeyOptions{Key: rk, Alg: "RSA-OAEP-256", Use: UseEnc, KID: "rcpt"})
	if err != nil {
		t.Fatal(err)
	}
	srv := newStaleServer(t, sig, enc)
	srv.setDown(true)
	a, clk := remoteApp(t)
	rs, err := a.RemoteJWKS(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	srv.wantHits(t, 1, "after the failed start")
	algs := []string{"ES256"}
	stale := func(err error, when string) {
		t.Helper()
		if !errors.Is(err, ErrStaleKeys) {
			t.Fatalf("%s: err = %v, want %v", when, err, ErrStaleKeys)
		}
	}

	_, err = rs.Lookup(t.Context(), "", "ES256", algs)
	stale(err, "never fetched, upstream down")
	srv.wantHits(t, 2, "for the first lookup")
	srv.setDown(false)
	_, err = rs.Lookup(t.Context(), "", "ES256", algs)
	stale(err, "never fetched, inside the cooldown")
	srv.wantHits(t, 2, "inside the cooldown")
	clk.advance(time.Minute)
	if ks, err := rs.Lookup(t.Context(), "", "ES256", algs); err != nil || len(ks) != 1 {
		t.Fatalf("lookup after the cooldown = %v, %v; want the published key", ks, err)
	}
	srv.wantHits(t, 3, "after the cooldown")

	if _, err := rs.EncryptionKey(t.Context(), "RSA-OAEP-256", "rcpt"); err != nil {
		t.Fatal(err)
	}
	srv.setDown(true)
	clk.advance(time.Hour + time.Nanosecond)
	_, err = rs.EncryptionKey(t.Context(), "RSA-OAEP-256", "rcpt")
	stale(err, "recipient key, stale, upstream down")
	srv.wantHits(t, 4, "for the stale recipient key")
	srv.setDown(false)
	clk.advance(time.Minute)
	if k, err := rs.EncryptionKey(t.Context(), "RSA-OAEP-256", "rcpt"); err != nil || k.KID != "rcpt" {
		t.Fatalf("recipient key after the cooldown = %v, %v", k, err)
	}
	srv.wantHits(t, 5, "for the recipient key after the cooldown")
}

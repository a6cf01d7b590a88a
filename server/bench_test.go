package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/chains"
	"github.com/chainsts/chainsts/clients"
	"github.com/chainsts/chainsts/clients/secrets"
)

// BenchmarkNativeAPI measures what the server adds around a chain: request
// id, runtime acquisition, client authentication with a generated secret
// (keyed hash), JSON decoding and encoding, logging at info (to a discarded
// writer) and metrics, over a two-step chain of the test module that does
// almost nothing. Run: go test -run '^$' -bench NativeAPI ./server
func BenchmarkNativeAPI(b *testing.B) {
	dir := b.TempDir()
	key := secrets.NewKey()
	if err := secrets.WriteKeyFile(filepath.Join(dir, "hash.key"), key); err != nil {
		b.Fatal(err)
	}
	cfg := `
server: { listen: 127.0.0.1:0, admin_listen: "off" }
clients:
  hash_key: "@hash.key"
  static:
    - { id: bench, secret: "` + clients.KeyedHash(key, "bench-secret") + `" }
chains:
  - name: echo
    steps:
      - { id: in, module: testecho, mode: validate }
      - { id: out, module: testecho, mode: issue }
    lookup: { request_type: validate, applies_to: http://appliesto/test }
`
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	log := hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Info})
	metrics := NewMetrics("bench", "")
	m, err := chains.NewManager(b.Context(), p, chains.Options{Logger: log, Observer: metrics})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	srv, err := New(Options{Runtimes: FromManager(m), Logger: log, Metrics: metrics})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, APIPath, strings.NewReader(okBody))
			req.Header.Set("Content-Type", "application/json")
			req.SetBasicAuth("bench", "bench-secret")
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}

package oauth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/chains"
	"github.com/chainsts/chainsts/clients"
	_ "github.com/chainsts/chainsts/mappingrules"
	_ "github.com/chainsts/chainsts/modules/map"
	"github.com/chainsts/chainsts/server"
)

// BenchmarkTokenExchangeLoopback is the hot path of PRODUCT §12 as
// scripts/bench.d/oauth-exchange.sh runs it (ES256 subject token in, ES256
// access token out, one mapping rule, client_secret_basic with a bcrypt
// hash behind the positive cache, logging at info to a discarded writer,
// metrics on), through a real loopback listener and HTTP client, so that
// a CPU or allocation profile shows the server's whole stack:
//
//	go test -run '^$' -bench TokenExchangeLoopback -cpuprofile cpu.out ./oauth
//	go tool pprof -focus 'net/http.\(\*conn\).serve' cpu.out
//
// The client runs in the same process; the profile's server side is the
// part under net/http.(*conn).serve.
func BenchmarkTokenExchangeLoopback(b *testing.B) {
	dir := b.TempDir()
	partner := newECKey(b, "partner-1")
	if err := os.WriteFile(filepath.Join(dir, "partner.pem"), partner.publicPEM(b), 0o600); err != nil {
		b.Fatal(err)
	}
	hash, err := clients.HashSecret(clients.Bcrypt, secret, clients.HashOptions{BcryptCost: 4})
	if err != nil {
		b.Fatal(err)
	}
	cfg := `
data_dir: data
server: {admin_listen: "off"}
store: {driver: memory}
logging: {level: info}
keystores:
  stores:
    internal: {dev: true, public: true}
    partner: {files: [partner.pem], keys: {partner: {alg: ES256, kid: partner-1}}}
clients:
  static:
    - {id: bench, secret: '` + hash + `', scopes: [read, write], audiences: [` + apiAud + `]}
oauth:
  issuer: ` + issuer + `
  rate_limit: {disabled: true}
rules:
  inline:
    department: |
      stsuu.addAttribute(new Attribute("department", "urn:ibm:jwt:claim", "engineering"));
chains:
  - name: exchange
    steps:
      - {id: in, module: jwt, mode: validate, config: {issuers: [{iss: ` + partnerIss + `, keystore: partner}], aud: [` + issuer + `], algorithms: [ES256]}}
      - {id: policy, module: oauth, mode: map}
      - {id: rule, module: map, mode: map, config: {rule: department, timeout: 2s}}
      - {id: out, module: jwt, mode: issue, config: {profile: access_token, iss: ` + issuer + `, signing: {keystore: internal, alg: ES256}, lifetime: 5m}}
    lookup: {request_type: exchange, token_type: ` + tokenTypeJW + `, applies_to: ` + apiAud + `}
`
	path := filepath.Join(dir, "chainsts.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	log := hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Info})
	metrics := server.NewMetrics("bench", "")
	mgr, err := chains.NewManager(context.Background(), path, chains.Options{Logger: log, Observer: metrics})
	if err != nil {
		b.Fatal(err)
	}
	defer mgr.Close()
	s, err := server.New(server.Options{Runtimes: server.FromManager(mgr), Logger: log, Metrics: metrics})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()

	now := time.Now().Unix()
	subject := partner.sign(b, nil, map[string]any{
		"iss": partnerIss, "sub": "alice", "aud": issuer, "iat": now, "exp": now + 7200,
		"jti": "load-subject", "scope": "read write", "email": "alice@example.com", "groups": []string{"staff", "dev"},
	})
	f := exchangeForm(subject)
	f.Set("scope", "read")
	body := f.Encode()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post := func() {
		req, _ := http.NewRequest("POST", srv.URL+"/oauth2/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("bench", secret)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%d %s", resp.StatusCode, out)
		}
	}
	post() // fills the client secret cache and the rule's runtime pool
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			post()
		}
	})
}

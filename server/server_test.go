package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/bcrypt"

	"github.com/chainsts/chainsts/chains"
	"github.com/chainsts/chainsts/sts"
)

// testEcho is a module for these tests: validate takes the token as the
// principal name, issue writes "issued:<name>". Tokens "deny" and "boom"
// make validate fail as the caller's fault and as a server fault.
type testEcho struct {
	Prefix string `yaml:"prefix"`
}

func (testEcho) STSModule() sts.ModuleInfo {
	return sts.ModuleInfo{Name: "testecho", Description: "test module", New: func() sts.Module { return new(testEcho) }}
}

func (m *testEcho) ValidateToken(ctx context.Context, c *sts.Call) error {
	if c.Request.Base == nil {
		return sts.ErrInvalidRequest.WithDescription("a token is required")
	}
	switch tok := string(c.Request.Base.Data); tok {
	case "deny":
		return sts.ErrInvalidRequest.WithDescription("the token is not acceptable").WithCause(errors.New("secret detail"))
	case "boom":
		return errors.New("internal detail that must not leak")
	case "slow":
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
	default:
		c.User.SetPrincipalName(tok)
	}
	return nil
}

func (m *testEcho) IssueToken(_ context.Context, c *sts.Call) error {
	c.Output = &sts.Token{Type: "urn:test", Data: []byte(m.Prefix + "issued:" + c.User.PrincipalName())}
	return nil
}

// testRoutes is an app contributing a route whose answer comes from its
// configuration, to see that routes follow reloads.
type testRoutes struct {
	Greeting string `yaml:"greeting"`
}

func (a *testRoutes) HTTPRoutes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /hello": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %t", a.Greeting, RequestID(r.Context()) != "")
		}),
	}
}

func init() {
	sts.RegisterModule(testEcho{})
	sts.RegisterApp(sts.AppInfo{Name: "testroutes", New: func() any { return new(testRoutes) }})
}

var _ RouteProvider = (*testRoutes)(nil)

func hash(t *testing.T, s string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(s), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

type fixture struct {
	t       *testing.T
	dir     string
	cfgPath string
	mgr     *chains.Manager
	srv     *Server
	http    *httptest.Server
	metrics *Metrics
	logs    *syncBuffer
}

// syncBuffer collects log output written from server goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testConfig(t *testing.T, extraServer, greeting, prefix string) string {
	return fmt.Sprintf(`
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  limits: { max_body_bytes: 4096, max_token_bytes: 100 }
%s
clients:
  static:
    - { id: debugger, secret: %q, debug: true }
    - { id: plain, secret: %q }
testroutes:
  greeting: %s
chains:
  - name: echo
    steps:
      - { id: in, module: testecho, mode: validate }
      - { id: out, module: testecho, mode: issue, config: { prefix: %q } }
    lookup: { request_type: validate, applies_to: http://appliesto/test }
`, extraServer, hash(t, "debug-secret"), hash(t, "plain secret+%"), greeting, prefix)
}

func newFixture(t *testing.T, extraServer string) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, cfgPath: filepath.Join(dir, "chainsts.yaml")}
	f.write(testConfig(t, extraServer, "hello", ""))
	f.metrics = NewMetrics("test", "abc")
	f.logs = &syncBuffer{}
	log := hclog.New(&hclog.LoggerOptions{Output: f.logs, Level: hclog.Debug})
	m, err := chains.NewManager(t.Context(), f.cfgPath, chains.Options{Logger: log, Observer: f.metrics})
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	f.mgr = m
	t.Cleanup(func() { m.Close() })
	srv, err := New(Options{Runtimes: FromManager(m), Logger: log, Metrics: f.metrics})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	f.http = httptest.NewServer(srv)
	t.Cleanup(f.http.Close)
	return f
}

func (f *fixture) write(cfg string) {
	f.t.Helper()
	if err := os.WriteFile(f.cfgPath, []byte(cfg), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

type call struct {
	path        string
	body        string
	contentType string
	user, pass  string
	rawAuth     string
	requestID   string
}

func (f *fixture) do(c call) (*http.Response, map[string]any) {
	f.t.Helper()
	if c.path == "" {
		c.path = APIPath
	}
	req, err := http.NewRequest(http.MethodPost, f.http.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		f.t.Fatal(err)
	}
	if c.contentType == "" {
		c.contentType = "application/json"
	}
	req.Header.Set("Content-Type", c.contentType)
	if c.user != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.user)+":"+url.QueryEscape(c.pass))))
	}
	if c.rawAuth != "" {
		req.Header.Set("Authorization", c.rawAuth)
	}
	if c.requestID != "" {
		req.Header.Set(RequestIDHeader, c.requestID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &body); err != nil {
			f.t.Fatalf("response is not JSON: %q", b)
		}
	}
	return resp, body
}

const okBody = `{"request_type":"validate","applies_to":"http://appliesto/test","token":"alice"}`

func TestAPI(t *testing.T) {
	f := newFixture(t, "")
	big := strings.Repeat("x", 200)
	tests := []struct {
		name       string
		call       call
		wantStatus int
		want       map[string]any
	}{
		{name: "ok", call: call{body: okBody, user: "plain", pass: "plain secret+%"}, wantStatus: 200,
			want: map[string]any{"token": "issued:alice", "token_type": "urn:test"}},
		{name: "WS-Trust request type", call: call{body: `{"request_type":"http://docs.oasis-open.org/ws-sx/ws-trust/200512/Validate","applies_to":"http://appliesto/test","token":"bob"}`, user: "plain", pass: "plain secret+%"}, wantStatus: 200,
			want: map[string]any{"token": "issued:bob", "token_type": "urn:test"}},
		{name: "no credentials", call: call{body: okBody}, wantStatus: 401,
			want: map[string]any{"error": "invalid_client", "error_description": "client authentication failed"}},
		{name: "wrong secret", call: call{body: okBody, user: "plain", pass: "nope"}, wantStatus: 401,
			want: map[string]any{"error": "invalid_client", "error_description": "client authentication failed"}},
		{name: "unknown client", call: call{body: okBody, user: "ghost", pass: "nope"}, wantStatus: 401,
			want: map[string]any{"error": "invalid_client", "error_description": "client authentication failed"}},
		{name: "credentials in query", call: call{path: APIPath + "?client_secret=x", body: okBody, user: "plain", pass: "plain secret+%"}, wantStatus: 400,
			want: map[string]any{"error": "invalid_request", "error_description": "client credentials must not be sent in the URL query"}},
		{name: "debug output for a debug client", call: call{body: `{"request_type":"validate","applies_to":"http://appliesto/test","token":"alice","include":["stsuu"]}`, user: "debugger", pass: "debug-secret"}, wantStatus: 200},
		{name: "debug output refused", call: call{body: `{"request_type":"validate","applies_to":"http://appliesto/test","token":"alice","include":["trace"]}`, user: "plain", pass: "plain secret+%"}, wantStatus: 403,
			want: map[string]any{"error": "access_denied", "error_description": "this client may not request debug output"}},
		{name: "unknown include", call: call{body: `{"request_type":"validate","token":"a","include":["keys"]}`, user: "debugger", pass: "debug-secret"}, wantStatus: 400,
			want: map[string]any{"error": "invalid_request", "error_description": `include accepts "stsuu" and "trace"`}},
		{name: "not JSON", call: call{body: `{"request_type":`, user: "plain", pass: "plain secret+%"}, wantStatus: 400,
			want: map[string]any{"error": "invalid_request", "error_description": "the request body is not valid: truncated JSON"}},
		{name: "unknown field", call: call{body: `{"request_type":"validate","tokne":"x"}`, user: "plain", pass: "plain secret+%"}, wantStatus: 400,
			want: map[string]any{"error": "invalid_request", "error_description": `the request body is not valid: unknown field "tokne"`}},
		{name: "wrong type", call: call{body: `{"request_type":7}`, user: "plain", pass: "plain secret+%"}, wantStatus: 400,
			want: map[string]any{"error": "invalid_request", "error_description": `the request body is not valid: field "request_type" must be a string`}},
		{name: "not an object", call: call{body: `["validate"]`, user: "plain", pass: "plain secret+%"}, wantStatus: 400,
			want: map[string]any{"error": "invalid_request", "error_description": "the request body is not valid: the body must be a JSON object"}},
		{name: "trailing data", call: call{body: okBody + `{}`, user: "plain", pass: "plain secret+%"}, wantStatus: 400,
			want: map[string]any{"error": "invalid_request", "error_description": "the request body is not valid: data after the JSON object"}},
		{name: "form body", call: call{body: "request_type=validate", contentType: "application/x-www-form-urlencoded", user: "plain", pass: "plain secret+%"}, wantStatus: 415,
			want: map[string]any{"error": "invalid_request", "error_description": "the request body must be application/json"}},
		{name: "missing request type", call: call{body: `{"token":"a"}`, user: "plain", pass: "plain secret+%"}, wantStatus: 400,
			want: map[string]any{"error": "invalid_request", "error_description": "request_type is required"}},
		{name: "no chain", call: call{body: `{"request_type":"issue","applies_to":"http://elsewhere","token":"a"}`, user: "plain", pass: "plain secret+%"}, wantStatus: 400,
			want: map[string]any{"error": "invalid_request", "error_description": `no chain matches the request (request_type="issue" issuer="" applies_to="http://elsewhere" token_type="" client_id="plain")`}},
		{name: "token too large", call: call{body: `{"request_type":"validate","token":"` + big + `"}`, user: "plain", pass: "plain secret+%"}, wantStatus: 400,
			want: map[string]any{"error": "invalid_request", "error_description": "token is larger than 100 bytes"}},
		{name: "body too large", call: call{body: `{"request_type":"validate","claims":{"x":"` + strings.Repeat("y", 5000) + `"}}`, user: "plain", pass: "plain secret+%"}, wantStatus: 413,
			want: map[string]any{"error": "invalid_request", "error_description": "the request body is too large"}},
		{name: "token refused", call: call{body: `{"request_type":"validate","applies_to":"http://appliesto/test","token":"deny"}`, user: "plain", pass: "plain secret+%"}, wantStatus: 400,
			want: map[string]any{"error": "invalid_request", "error_description": "the token is not acceptable"}},
		{name: "server fault is generic", call: call{body: `{"request_type":"validate","applies_to":"http://appliesto/test","token":"boom"}`, user: "plain", pass: "plain secret+%"}, wantStatus: 500,
			want: map[string]any{"error": "server_error", "error_description": "the server could not process the request"}},
		{name: "context must be strings", call: call{body: `{"request_type":"validate","context":{"a":1}}`, user: "plain", pass: "plain secret+%"}, wantStatus: 400,
			want: map[string]any{"error": "invalid_request", "error_description": `context member "a" must be a string or an array of strings`}},
		{name: "unknown path", call: call{path: "/nope", body: okBody}, wantStatus: 404,
			want: map[string]any{"error": "not_found", "error_description": "no such endpoint"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.do(tt.call)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %v", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, body); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			}
			if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
				t.Errorf("cache headers %v", resp.Header)
			}
			if resp.Header.Get(RequestIDHeader) == "" {
				t.Error("no request id")
			}
			if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestAPIDebugOutput(t *testing.T) {
	f := newFixture(t, "")
	resp, body := f.do(call{body: `{"request_type":"validate","applies_to":"http://appliesto/test","token":"alice","include":["stsuu","trace"]}`, user: "debugger", pass: "debug-secret"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, body)
	}
	if body["chain"] != "echo" {
		t.Errorf("chain = %v", body["chain"])
	}
	if !strings.Contains(fmt.Sprint(body["stsuu"]), "alice") {
		t.Errorf("stsuu = %v", body["stsuu"])
	}
	trace, _ := body["trace"].([]any)
	if len(trace) != 2 {
		t.Fatalf("trace = %v", body["trace"])
	}
	first, _ := trace[0].(map[string]any)
	if first["step"] != "in" || first["module"] != "testecho" || first["mode"] != "validate" || first["stsuu_after"] == nil {
		t.Errorf("first step = %v", first)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, "")
	resp, err := http.Get(f.http.URL + APIPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Fatalf("GET %s: %d Allow=%q", APIPath, resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestRequestID(t *testing.T) {
	f := newFixture(t, "")
	resp, _ := f.do(call{body: okBody, user: "plain", pass: "plain secret+%", requestID: "abc-123"})
	if got := resp.Header.Get(RequestIDHeader); got != "abc-123" {
		t.Errorf("request id %q, want the caller's", got)
	}
	resp, _ = f.do(call{body: okBody, user: "plain", pass: "plain secret+%", requestID: "bad id <script>"})
	if got := resp.Header.Get(RequestIDHeader); got == "" || strings.ContainsAny(got, " <") {
		t.Errorf("request id %q, want a fresh one", got)
	}
}

func TestAnonymousLoopback(t *testing.T) {
	f := newFixture(t, "  api: { allow_anonymous_loopback: true }")
	resp, body := f.do(call{body: okBody})
	if resp.StatusCode != 200 || body["token"] != "issued:alice" {
		t.Fatalf("anonymous loopback call: %d %v", resp.StatusCode, body)
	}
	// Credentials, when sent, are still checked.
	resp, _ = f.do(call{body: okBody, user: "plain", pass: "wrong"})
	if resp.StatusCode != 401 {
		t.Fatalf("wrong credentials on an anonymous-capable API: %d", resp.StatusCode)
	}
}

func TestAnonymousNeedsLoopbackListener(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	cfg := "server:\n  listen: 0.0.0.0:8080\n  api: { allow_anonymous_loopback: true }\n"
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := chains.Load(t.Context(), p, chains.Options{})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("Load = %v, want a loopback error", err)
	}
	var ce *chains.ConfigErrors
	if !errors.As(err, &ce) || ce.Problems[0].Line != 3 {
		t.Fatalf("problem without the line of the key: %v", err)
	}
}

func TestAdminAndMetrics(t *testing.T) {
	f := newFixture(t, "")
	f.do(call{body: okBody, user: "plain", pass: "plain secret+%"})
	f.do(call{body: `{"request_type":"validate","applies_to":"http://appliesto/test","token":"deny"}`, user: "plain", pass: "plain secret+%"})
	admin := httptest.NewServer(f.srv.AdminHandler())
	defer admin.Close()
	get := func(p string) (int, string) {
		resp, err := http.Get(admin.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz %d %s", code, body)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Errorf("/readyz %d %s", code, body)
	}
	_, metrics := get("/metrics")
	for _, want := range []string{
		`chainsts_chain_requests_total{chain="echo",result="ok"} 1`,
		`chainsts_chain_requests_total{chain="echo",result="invalid_request"} 1`,
		`chainsts_step_duration_seconds_count{chain="echo",mode="validate",module="testecho",result="ok",step="in"} 1`,
		`chainsts_http_requests_total{code="200",endpoint="/sts/v1/request"} 1`,
		`chainsts_http_requests_total{code="400",endpoint="/sts/v1/request"} 1`,
		`chainsts_build_info{commit="abc"`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	f.srv.shutting.Store(true)
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz while shutting down: %d %s", code, body)
	}
}

func TestRoutesFollowReload(t *testing.T) {
	f := newFixture(t, "")
	get := func() string {
		resp, err := http.Get(f.http.URL + "/hello")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get(); got != "hello true" {
		t.Fatalf("/hello = %q", got)
	}
	f.write(testConfig(t, "", "bonjour", "v2:"))
	if err := f.srv.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := get(); got != "bonjour true" {
		t.Fatalf("/hello after reload = %q", got)
	}
	_, body := f.do(call{body: okBody, user: "plain", pass: "plain secret+%"})
	if body["token"] != "v2:issued:alice" {
		t.Fatalf("token after reload = %v", body["token"])
	}
	// A broken configuration leaves the running one in place.
	f.write("chains: [ {name: broken, steps: [ {id: x, module: nosuchmodule, mode: issue} ] } ]\n")
	if err := f.srv.Reload(t.Context()); err == nil {
		t.Fatal("reload of a broken configuration succeeded")
	}
	if got := get(); got != "bonjour true" {
		t.Fatalf("/hello after a failed reload = %q", got)
	}
	_, body = f.do(call{body: okBody, user: "plain", pass: "plain secret+%"})
	if body["token"] != "v2:issued:alice" {
		t.Fatalf("token after a failed reload = %v", body["token"])
	}
}

// TestLogs checks that every line of a request carries its id, that causes
// are logged, and that tokens and secrets never are.
func TestLogs(t *testing.T) {
	f := newFixture(t, "")
	f.do(call{body: `{"request_type":"validate","applies_to":"http://appliesto/test","token":"alice-token-value"}`, user: "plain", pass: "plain secret+%", requestID: "req-ok"})
	f.do(call{body: `{"request_type":"validate","applies_to":"http://appliesto/test","token":"boom"}`, user: "plain", pass: "plain secret+%", requestID: "req-boom"})
	f.do(call{body: okBody, user: "plain", pass: "wrong-secret-value", requestID: "req-bad"})
	// The access line is written after the response; give it a moment.
	deadline := time.Now().Add(2 * time.Second)
	for strings.Count(f.logs.String(), "request:") < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	logs := f.logs.String()
	for _, secret := range []string{"alice-token-value", "issued:alice", "plain secret", "wrong-secret-value"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
	for _, want := range []string{
		"internal detail that must not leak", // the cause, in the log only
		"token issued", "output_fp=", "input_fp=",
		"wrong secret",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if strings.Contains(line, "[INFO]") && strings.Contains(line, "request") && !strings.Contains(line, "request_id=req-") {
			t.Errorf("request line without a request id: %s", line)
		}
	}
}

func TestRateLimits(t *testing.T) {
	// Slow refill rates: under -race on a busy machine the 20 failed
	// authentications (bcrypt) took long enough at 0.5/s to earn a token
	// back, and the right secret then passed.
	f := newFixture(t, "  api: { rate_limit: { per_client: 0.01, burst: 2, auth_failures_per_address: 0.001 } }")
	// Two requests fit the client's burst; the third waits.
	for i := range 2 {
		if resp, body := f.do(call{body: okBody, user: "plain", pass: "plain secret+%"}); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %v", i, resp.StatusCode, body)
		}
	}
	resp, body := f.do(call{body: okBody, user: "plain", pass: "plain secret+%"})
	if resp.StatusCode != 429 || body["error"] != "slow_down" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the client limit: %d %v %v", resp.StatusCode, body, resp.Header)
	}
	// Another client has its own bucket.
	if resp, _ := f.do(call{body: okBody, user: "debugger", pass: "debug-secret"}); resp.StatusCode != 200 {
		t.Fatalf("other client: %d", resp.StatusCode)
	}
	// Failed authentications from one address: after the burst (20), the
	// address is refused before its secret is checked, even a right one.
	for i := range authFailureBurst {
		if resp, _ := f.do(call{body: okBody, user: "debugger", pass: "wrong"}); resp.StatusCode != 401 {
			t.Fatalf("failure %d: %d", i, resp.StatusCode)
		}
	}
	resp, body = f.do(call{body: okBody, user: "debugger", pass: "debug-secret"})
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after too many failures: %d %v", resp.StatusCode, body)
	}
}

// TestRequestDeadline checks that a request's work stops at
// server.timeouts.request and answers 503 temporarily_unavailable.
func TestRequestDeadline(t *testing.T) {
	f := newFixture(t, "  timeouts: { request: 100ms }")
	start := time.Now()
	resp, body := f.do(call{body: `{"request_type":"validate","applies_to":"http://appliesto/test","token":"slow"}`, user: "plain", pass: "plain secret+%"})
	if resp.StatusCode != 503 || body["error"] != "temporarily_unavailable" {
		t.Fatalf("slow request: %d %v", resp.StatusCode, body)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the deadline did not stop the request: %v", d)
	}
}

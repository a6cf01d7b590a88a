package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is built once per test run.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func chainstsBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "chainsts-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "chainsts")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/chainsts")
		cmd.Dir = "../.."
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// demoSecretHash is the bcrypt hash (cost 4, for speed) of "e2e secret+%".
const demoSecretHash = "$2a$04$OA3Dw245Pic6B8amwad5f.383p6i2SpQUBfz11PZLC5TKSMcVzbkK"

func config(tenant string) string {
	return fmt.Sprintf(`data_dir: data
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  timeouts: { shutdown_delay: 1s }
logging: { level: info, format: json }
clients:
  static:
    - { id: e2e, secret: %q, debug: true }
templates:
  stsuu-map-stsuu:
    steps:
      - { id: in, module: stsuu, mode: validate }
      - { id: map, module: attributes, mode: map }
      - { id: out, module: stsuu, mode: issue }
chains:
  - name: stsuu-enrich
    template: stsuu-map-stsuu
    config:
      map:
        operations:
          - set: { section: attributes, name: tenant, type: urn:example:attribute, values: [%s] }
      out: { format: json }
    lookup:
      request_type: validate
      issuer: http://issuer/stsuu
      applies_to: http://appliesto/stsuu
`, demoSecretHash, tenant)
}

const inputSTSUU = `<stsuuser:STSUniversalUser xmlns:stsuuser="urn:ibm:names:ITFIM:1.0:stsuuser"><stsuuser:Principal><stsuuser:Attribute name="name" type="urn:ibm:names:ITFIM:5.1:accessmanager"><stsuuser:Value>alice</stsuuser:Value></stsuuser:Attribute></stsuuser:Principal><stsuuser:AttributeList><stsuuser:Attribute name="roles" type="urn:ibm:names:ITFIM:5.1:accessmanager"><stsuuser:Value>reader</stsuuser:Value><stsuuser:Value>writer</stsuuser:Value></stsuuser:Attribute></stsuuser:AttributeList></stsuuser:STSUniversalUser>`

// server is a running `chainsts serve`.
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	cfg    string
	public string
	admin  string
	mu     sync.Mutex
	logs   []map[string]any
	done   chan error
}

func startServer(t *testing.T, extraArgs ...string) *server {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "chainsts.yaml")
	if err := os.WriteFile(cfg, []byte(config("one")), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServerWith(t, cfg, extraArgs...)
}

// startServerWith runs `chainsts serve` on an existing configuration whose
// listeners are on port 0 and whose log is JSON (or made so by
// --log-format json in extraArgs).
func startServerWith(t *testing.T, cfg string, extraArgs ...string) *server {
	t.Helper()
	bin := chainstsBinary(t)
	s := &server{t: t, cfg: cfg, done: make(chan error, 1)}
	s.cmd = exec.Command(bin, append([]string{"serve", "--config", s.cfg}, extraArgs...)...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	addrs := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				line = map[string]any{"@message": sc.Text()}
			}
			s.mu.Lock()
			s.logs = append(s.logs, line)
			s.mu.Unlock()
			if line["@message"] == "serving" {
				addrs <- [2]string{fmt.Sprint(line["listen"]), fmt.Sprint(line["admin"])}
			}
		}
		s.done <- s.cmd.Wait()
	}()
	select {
	case a := <-addrs:
		s.public, s.admin = "http://"+a[0], "http://"+a[1]
	case err := <-s.done:
		t.Fatalf("chainsts serve exited: %v\n%s", err, s.logText())
	case <-time.After(30 * time.Second):
		t.Fatalf("chainsts serve did not start\n%s", s.logText())
	}
	return s
}

func (s *server) writeConfig(cfg string) {
	s.t.Helper()
	if err := os.WriteFile(s.cfg, []byte(cfg), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

func (s *server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, l := range s.logs {
		j, _ := json.Marshal(l)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// waitLog waits for a log line with the message.
func (s *server) waitLog(msg string, after int) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, l := range s.logs[min(after, len(s.logs)):] {
			if l["@message"] == msg {
				s.mu.Unlock()
				return
			}
		}
		s.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("no log line %q\n%s", msg, s.logText())
}

func (s *server) logCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.logs)
}

func (s *server) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stsRequest posts to the native API and returns the status and body.
func (s *server) stsRequest(body, user, pass string) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.public+"/sts/v1/request", strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(user)+":"+url.QueryEscape(pass))))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		s.t.Fatalf("response is not JSON: %v", err)
	}
	return resp.StatusCode, out
}

func requestBody() string {
	b, _ := json.Marshal(map[string]any{
		"request_type": "validate",
		"issuer":       "http://issuer/stsuu",
		"applies_to":   "http://appliesto/stsuu",
		"token":        inputSTSUU,
	})
	return string(b)
}

// tenantOf returns the tenant attribute of an issued STSUU JSON token.
func tenantOf(t *testing.T, token any) string {
	t.Helper()
	var u struct {
		Attributes []struct {
			Name   string `json:"name"`
			Values []any  `json:"values"`
		} `json:"attributes"`
	}
	s, _ := token.(string)
	if err := json.Unmarshal([]byte(s), &u); err != nil {
		t.Fatalf("token is not STSUU JSON: %v: %q", err, s)
	}
	for _, a := range u.Attributes {
		if a.Name == "tenant" && len(a.Values) == 1 {
			return fmt.Sprint(a.Values[0])
		}
	}
	return ""
}

func TestServeReloadShutdown(t *testing.T) {
	s := startServer(t)

	if code, body := get(t, s.admin+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := get(t, s.admin+"/readyz"); code != 200 {
		t.Fatalf("/readyz: %d %s", code, body)
	}

	// An STSUU -> attributes -> STSUU chain through the native API.
	code, out := s.stsRequest(requestBody(), "e2e", "e2e secret+%")
	if code != 200 || out["token_type"] != "urn:ibm:names:ITFIM:1.0:stsuuser" || tenantOf(t, out["token"]) != "one" {
		t.Fatalf("first request: %d %v", code, out)
	}
	if code, out := s.stsRequest(requestBody(), "e2e", "wrong"); code != 401 || out["error"] != "invalid_client" {
		t.Fatalf("wrong secret: %d %v", code, out)
	}

	// A broken configuration on SIGHUP: logged, and the old chains serve on.
	s.writeConfig(config("two") + "  - name: broken\n    template: no-such-template\n")
	mark := s.logCount()
	s.signal(syscall.SIGHUP)
	s.waitLog("configuration problem", mark)
	code, out = s.stsRequest(requestBody(), "e2e", "e2e secret+%")
	if code != 200 || tenantOf(t, out["token"]) != "one" {
		t.Fatalf("after a failed reload: %d %v", code, out)
	}
	_, metrics := get(t, s.admin+"/metrics")
	if !strings.Contains(metrics, `chainsts_config_reloads_total{result="error"} 1`) ||
		!strings.Contains(metrics, "chainsts_config_last_reload_successful 0") {
		t.Errorf("reload failure not in the metrics")
	}

	// A good configuration on SIGHUP replaces it.
	s.writeConfig(config("two"))
	mark = s.logCount()
	s.signal(syscall.SIGHUP)
	s.waitLog("configuration reloaded", mark)
	code, out = s.stsRequest(requestBody(), "e2e", "e2e secret+%")
	if code != 200 || tenantOf(t, out["token"]) != "two" {
		t.Fatalf("after a good reload: %d %v", code, out)
	}
	_, metrics = get(t, s.admin+"/metrics")
	if !strings.Contains(metrics, `chainsts_chain_requests_total{chain="stsuu-enrich",result="ok"} 3`) {
		t.Errorf("chain metrics missing:\n%s", grep(metrics, "chainsts_chain"))
	}

	// SIGTERM: readiness turns false first, requests are still served
	// during the shutdown delay, then the process exits cleanly.
	mark = s.logCount()
	s.signal(syscall.SIGTERM)
	s.waitLog("shutting down: readiness is now false", mark)
	if code, body := get(t, s.admin+"/readyz"); code != 503 {
		t.Errorf("/readyz while shutting down: %d %s", code, body)
	}
	if code, _ := s.stsRequest(requestBody(), "e2e", "e2e secret+%"); code != 200 {
		t.Errorf("request during the shutdown delay: %d", code)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, s.logText())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("chainsts did not exit after SIGTERM")
	}

	// Tokens never reach the log.
	if logs := s.logText(); strings.Contains(logs, "alice") || strings.Contains(logs, "e2e secret") {
		t.Errorf("the log holds token or secret material:\n%s", logs)
	}
}

func TestServeWatch(t *testing.T) {
	s := startServer(t, "--watch", "100ms")
	mark := s.logCount()
	// A different size makes the change visible even within one mtime tick.
	s.writeConfig(config("watched-change"))
	s.waitLog("configuration reloaded", mark)
	code, out := s.stsRequest(requestBody(), "e2e", "e2e secret+%")
	if code != 200 || tenantOf(t, out["token"]) != "watched-change" {
		t.Fatalf("after a watched change: %d %v", code, out)
	}
	s.signal(syscall.SIGTERM)
	if err := <-s.done; err != nil {
		t.Fatalf("exit: %v", err)
	}
}

func TestServeRefusesBrokenConfig(t *testing.T) {
	bin := chainstsBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("server:\n  listen: 127.0.0.1:0\n  lisen: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		t.Fatal("serve started on a broken configuration")
	}
	if !strings.Contains(stderr.String(), cfg+":3:3: error:") {
		t.Errorf("problem not reported with its position:\n%s", stderr.String())
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

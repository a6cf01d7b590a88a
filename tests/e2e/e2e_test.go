package e2e

import (
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
	"syscall"
	"testing"
	"time"

	"github.com/chainsts/chainsts/tests/serve"
)

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

// server is a running `chainsts serve` with the native API client these
// tests use.
type server struct {
	*serve.Process
	t *testing.T
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
	return &server{Process: serve.Start(t, cfg, extraArgs...), t: t}
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
	req, err := http.NewRequest(http.MethodPost, s.Public+"/sts/v1/request", strings.NewReader(body))
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

	if code, body := get(t, s.Admin+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := get(t, s.Admin+"/readyz"); code != 200 {
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
	s.WriteConfig(config("two") + "  - name: broken\n    template: no-such-template\n")
	mark := s.LogCount()
	s.Signal(syscall.SIGHUP)
	s.WaitLog("configuration problem", mark)
	code, out = s.stsRequest(requestBody(), "e2e", "e2e secret+%")
	if code != 200 || tenantOf(t, out["token"]) != "one" {
		t.Fatalf("after a failed reload: %d %v", code, out)
	}
	_, metrics := get(t, s.Admin+"/metrics")
	if !strings.Contains(metrics, `chainsts_config_reloads_total{result="error"} 1`) ||
		!strings.Contains(metrics, "chainsts_config_last_reload_successful 0") {
		t.Errorf("reload failure not in the metrics")
	}

	// A good configuration on SIGHUP replaces it.
	s.WriteConfig(config("two"))
	mark = s.LogCount()
	s.Signal(syscall.SIGHUP)
	s.WaitLog("configuration reloaded", mark)
	code, out = s.stsRequest(requestBody(), "e2e", "e2e secret+%")
	if code != 200 || tenantOf(t, out["token"]) != "two" {
		t.Fatalf("after a good reload: %d %v", code, out)
	}
	_, metrics = get(t, s.Admin+"/metrics")
	if !strings.Contains(metrics, `chainsts_chain_requests_total{chain="stsuu-enrich",result="ok"} 3`) {
		t.Errorf("chain metrics missing:\n%s", grep(metrics, "chainsts_chain"))
	}

	// SIGTERM: readiness turns false first, requests are still served
	// during the shutdown delay, then the process exits cleanly.
	mark = s.LogCount()
	s.Signal(syscall.SIGTERM)
	s.WaitLog("shutting down: readiness is now false", mark)
	if code, body := get(t, s.Admin+"/readyz"); code != 503 {
		t.Errorf("/readyz while shutting down: %d %s", code, body)
	}
	if code, _ := s.stsRequest(requestBody(), "e2e", "e2e secret+%"); code != 200 {
		t.Errorf("request during the shutdown delay: %d", code)
	}
	if err := s.Wait(20 * time.Second); err != nil {
		t.Fatalf("exit: %v", err)
	}

	// Tokens never reach the log.
	if logs := s.LogText(); strings.Contains(logs, "alice") || strings.Contains(logs, "e2e secret") {
		t.Errorf("the log holds token or secret material:\n%s", logs)
	}
}

func TestServeWatch(t *testing.T) {
	s := startServer(t, "--watch", "100ms")
	mark := s.LogCount()
	// A different size makes the change visible even within one mtime tick.
	s.WriteConfig(config("watched-change"))
	s.WaitLog("configuration reloaded", mark)
	code, out := s.stsRequest(requestBody(), "e2e", "e2e secret+%")
	if code != 200 || tenantOf(t, out["token"]) != "watched-change" {
		t.Fatalf("after a watched change: %d %v", code, out)
	}
	s.Signal(syscall.SIGTERM)
	if err := s.Wait(20 * time.Second); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

func TestServeRefusesBrokenConfig(t *testing.T) {
	bin := serve.Binary(t)
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

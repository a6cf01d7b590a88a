package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies the regular files under src to dst, skipping the data
// directory a previous quickstart run may have left behind.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if rel == "data" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readmeSTSExample returns the request body and the response of the
// README's first native API example (the STSUU -> STSUU chain), exactly as
// the README shows them.
func readmeSTSExample(t *testing.T) (body, response string) {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const cmd = "$ curl -s -u demo:demo-secret http://127.0.0.1:8080/sts/v1/request \\\n"
	_, rest, ok := strings.Cut(string(b), cmd)
	if !ok {
		t.Fatal("README.md lost its first native API example")
	}
	_, rest, ok = strings.Cut(rest, "-d '")
	if !ok {
		t.Fatal("README.md: the example has no -d '...' body")
	}
	body, rest, ok = strings.Cut(rest, "'\n")
	if !ok {
		t.Fatal("README.md: the example's body is not closed")
	}
	response, _, _ = strings.Cut(rest, "\n")
	return body, response
}

// TestQuickstartServesREADMEExample starts the quickstart configuration as
// the README's first command does (on free ports), checks /healthz and
// /readyz, and sends the README's STSUU -> STSUU request: the answer must be
// the one the README shows.
func TestQuickstartServesREADMEExample(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "../../examples/quickstart", dir)
	cfg := filepath.Join(dir, "chainsts.yaml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for addr, free := range map[string]string{
		"listen: 127.0.0.1:8080":       "listen: 127.0.0.1:0",
		"admin_listen: 127.0.0.1:9090": "admin_listen: 127.0.0.1:0",
	} {
		if !strings.Contains(text, addr) {
			t.Fatalf("the quickstart no longer has %q; update this test and the README", addr)
		}
		text = strings.Replace(text, addr, free, 1)
	}
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServerWith(t, cfg, "--log-format", "json")

	if code, body := get(t, s.Admin+"/healthz"); code != 200 || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := get(t, s.Admin+"/readyz"); code != 200 || strings.TrimSpace(body) != `{"status":"ready"}` {
		t.Fatalf("/readyz: %d %s", code, body)
	}

	reqBody, want := readmeSTSExample(t)
	req, err := http.NewRequest(http.MethodPost, s.Public+"/sts/v1/request", strings.NewReader(reqBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("demo", "demo-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || strings.TrimSpace(string(got)) != want {
		t.Errorf("README example: status %d\n got: %s\nwant: %s", resp.StatusCode, got, want)
	}
}

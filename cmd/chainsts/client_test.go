package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientLifecycle creates a run-time client in the store, lists it,
// refuses a duplicate and a configured id, and deletes it.
func TestClientLifecycle(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "chainsts.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: data\nstore: {driver: sqlite}\nclients:\n  static:\n    - {id: fixed, auth_method: none}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, "", "client", "create", "--config", cfg, "--id", "svc", "--scope", "read", "--grant-type", "client_credentials")
	if code != 0 {
		t.Fatalf("create: %d %s", code, errOut)
	}
	secret := strings.TrimSpace(out)
	if len(secret) < 43 || strings.ContainsAny(secret, "+/=") {
		t.Fatalf("generated secret %q: want ≥ 256 bits of unreserved characters", secret)
	}
	if code, _, _ := cli(t, "", "client", "create", "--config", cfg, "--id", "svc"); code == 0 {
		t.Fatal("duplicate id accepted")
	}
	if code, _, _ := cli(t, "", "client", "create", "--config", cfg, "--id", "fixed"); code == 0 {
		t.Fatal("configured id accepted")
	}
	code, out, _ = cli(t, "", "client", "list", "--config", cfg)
	if code != 0 || !strings.HasPrefix(out, "svc\tclient_secret_basic\tgrants=client_credentials\tscopes=read\t") {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, _, errOut := cli(t, "", "client", "delete", "--config", cfg, "--id", "svc"); code != 0 {
		t.Fatalf("delete: %s", errOut)
	}
	if code, out, _ := cli(t, "", "client", "list", "--config", cfg); code != 0 || out != "" {
		t.Fatalf("list after delete: %d %q", code, out)
	}
	if code, _, _ := cli(t, "", "client", "delete", "--config", cfg, "--id", "svc"); code == 0 {
		t.Fatal("deleting an absent client succeeded")
	}
}

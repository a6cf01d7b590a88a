package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeysAndTokenCommands(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "ed.pem")
	code, out, errOut := cli(t, "", "keys", "generate", "--alg", "EdDSA", "--out", key)
	if code != 0 || !strings.Contains(out, "kid: ") {
		t.Fatalf("generate: %d %q %q", code, out, errOut)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, fi)
	}
	if code, _, _ := cli(t, "", "keys", "generate", "--alg", "EdDSA", "--out", key); code == 0 {
		t.Fatal("generate overwrote an existing key file")
	}
	code, tok, errOut := cli(t, `{"sub":"bob","n":1.5}`, "token", "sign", "--key", key)
	if code != 0 {
		t.Fatalf("sign: %d %q", code, errOut)
	}
	code, out, _ = cli(t, "", "token", "decode", strings.TrimSpace(tok))
	var d struct {
		Verified bool
		Header   map[string]any
		Claims   map[string]any
	}
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || d.Verified || d.Header["alg"] != "EdDSA" || d.Claims["n"] != 1.5 || d.Claims["exp"] == nil {
		t.Fatalf("decode: %d %s", code, out)
	}

	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("data_dir: data\nkeystores:\n  stores:\n    default: {dev: true, public: true}\n"), 0o600)
	code, out, errOut = cli(t, "", "keys", "list", "--config", cfg)
	if code != 0 || !strings.Contains(out, "ES256") || !strings.Contains(out, "RS256") || !strings.Contains(out, "private key") {
		t.Fatalf("list: %d %q %q", code, out, errOut)
	}
	code, out, _ = cli(t, "", "keys", "jwks", "--config", cfg)
	var set struct{ Keys []map[string]any }
	if code != 0 || json.Unmarshal([]byte(out), &set) != nil || len(set.Keys) != 2 || set.Keys[0]["d"] != nil {
		t.Fatalf("jwks: %d %s", code, out)
	}
}

package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chainsts/chainsts/chains"
)

func TestConfigProblems(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"same addresses", "server: { listen: 127.0.0.1:8080, admin_listen: 127.0.0.1:8080 }", "needs its own address"},
		{"bad listen", "server: { listen: nope }", "listen address"},
		{"negative timeout", "server: { timeouts: { request: -1s } }", "timeouts.request: must be a positive duration"},
		{"zero body limit", "server: { limits: { max_body_bytes: -1 } }", "limits.max_body_bytes: must be positive"},
		{"tls without key", "server: { tls: { cert_file: a.pem } }", "tls needs cert_file and key_file"},
		{"missing cert", "server: { tls: { cert_file: a.pem, key_file: b.pem } }", "loading the TLS certificate"},
		{"unknown key", "server: { listn: 127.0.0.1:1 }", "listn"},
		{"bad log level", "logging: { level: loud }", "unknown log level"},
		{"bad log format", "logging: { format: xml }", "unknown log format"},
		{"negative memory limit", "server: { gc: { memory_limit_mb: -5 } }", "gc.memory_limit_mb: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte(tt.yaml+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			problems := chains.Check(t.Context(), p, chains.Options{})
			var all []string
			for _, pr := range problems {
				all = append(all, pr.String())
			}
			got := strings.Join(all, "\n")
			if !strings.Contains(got, tt.want) || !strings.Contains(got, p+":1:") {
				t.Fatalf("problems:\n%s\nwant %q with a line number", got, tt.want)
			}
		})
	}
}

func TestReadLogging(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "10-a.yaml"), []byte("logging: { level: debug }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "20-b.yml"), []byte("logging: { format: json }\nchains: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A hidden file (an editor's backup) is not part of the configuration
	// for the loader, so it must not set the logging either.
	if err := os.WriteFile(filepath.Join(dir, ".00-backup.yaml"), []byte("logging: { format: json }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := ReadLogging(dir)
	// The broken second file is left to the strict load to report.
	if got.Level != "debug" || got.Format != "text" {
		t.Fatalf("ReadLogging = %+v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "20-b.yml"), []byte("logging: { format: json }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := ReadLogging(dir); got.Level != "debug" || got.Format != "json" {
		t.Fatalf("ReadLogging = %+v", got)
	}
}

func TestIsLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:80": true, "[::1]:80": true, "localhost:80": true, "127.1.2.3:1": true,
		":80": false, "0.0.0.0:80": false, "192.0.2.1:80": false, "example.com:80": false, "nope": false,
	} {
		if got := IsLoopbackAddr(addr); got != want {
			t.Errorf("IsLoopbackAddr(%q) = %v", addr, got)
		}
	}
}

func TestListenWarnings(t *testing.T) {
	tests := []struct {
		listen, admin string
		tls           bool
		want          []string
	}{
		{"127.0.0.1:8080", "127.0.0.1:9090", false, nil},
		{"0.0.0.0:8080", "127.0.0.1:9090", false, []string{"no TLS"}},
		{"0.0.0.0:8443", "127.0.0.1:9090", true, nil},
		{"127.0.0.1:8080", ":9090", false, []string{"admin listener"}},
		{"[::]:8080", "off", false, []string{"no TLS"}},
	}
	for _, tt := range tests {
		cfg := NewConfig()
		cfg.Listen, cfg.AdminListen = tt.listen, tt.admin
		if tt.tls {
			cfg.TLS = &TLSConfig{CertFile: "c", KeyFile: "k"}
		}
		got := listenWarnings(cfg)
		if len(got) != len(tt.want) {
			t.Errorf("%s %s: warnings %q, want %q", tt.listen, tt.admin, got, tt.want)
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], tt.want[i]) {
				t.Errorf("%s %s: warning %q lacks %q", tt.listen, tt.admin, got[i], tt.want[i])
			}
		}
	}
}

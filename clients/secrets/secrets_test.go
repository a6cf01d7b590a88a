package secrets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestObfuscateMatchesJetty(t *testing.T) {
	// The value Jetty's documentation gives for "password".
	const jetty = "OBF:1v2j1uum1xtv1zej1zer1xtn1uvk1v1v"
	if got := Obfuscate("password"); got != jetty {
		t.Fatalf("Obfuscate(password) = %q, want %q", got, jetty)
	}
	if got, err := Deobfuscate(jetty); err != nil || got != "password" {
		t.Fatalf("Deobfuscate = %q, %v", got, err)
	}
}

func TestObfuscateRoundTrip(t *testing.T) {
	for _, s := range []string{"", "a", "dé mo", "secret with spaces & symbols %+/", "日本語", "\x00\x7f\x80\xff"} {
		got, err := Deobfuscate(Obfuscate(s))
		if err != nil || got != s {
			t.Errorf("round trip %q = %q, %v", s, got, err)
		}
	}
	for _, bad := range []string{"OBF:1v2", "OBF:zzzz!", "OBF:U12", "nope"} {
		if _, err := Deobfuscate(bad); err == nil {
			t.Errorf("Deobfuscate(%q) succeeded", bad)
		}
	}
}

func TestEncryptDecrypt(t *testing.T) {
	k1, k2 := NewKey(), NewKey()
	enc, err := Encrypt(k1, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, EncryptedPrefix) || strings.Contains(enc, "s3cret") {
		t.Fatalf("bad ciphertext %q", enc)
	}
	if got, err := Decrypt(k1, enc); err != nil || got != "s3cret" {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
	if _, err := Decrypt(k2, enc); err == nil {
		t.Fatal("decrypted with the wrong key")
	}
	if _, err := Decrypt(k1, enc[:len(enc)-2]); err == nil {
		t.Fatal("decrypted a truncated value")
	}
	if _, err := Encrypt([]byte("short"), "x"); err == nil {
		t.Fatal("accepted a short key")
	}
}

func TestResolver(t *testing.T) {
	dir := t.TempDir()
	key := NewKey()
	enc, err := Encrypt(key, "from-enc")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "s.txt"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "enc.txt"), []byte(enc+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"A": "from-env", "OBF": Obfuscate("from-obf-env"), "EMPTY": ""}
	r := &Resolver{
		Dir:           dir,
		LookupEnv:     func(n string) (string, bool) { v, ok := env[n]; return v, ok },
		EncryptionKey: func() ([]byte, error) { return key, nil },
	}
	tests := []struct {
		in      string
		want    Resolved
		wantErr string
	}{
		{in: "plain", want: Resolved{"plain", SourceLiteral}},
		{in: "${env:A}", want: Resolved{"from-env", SourceEnv}},
		{in: "${env:EMPTY}", want: Resolved{"", SourceEnv}},
		{in: "${env:OBF}", want: Resolved{"from-obf-env", SourceObfuscated}},
		{in: "${env:MISSING}", wantErr: "MISSING is not set"},
		{in: "${env:A", wantErr: "malformed"},
		{in: "@s.txt", want: Resolved{"from-file", SourceFile}},
		{in: "@" + filepath.Join(dir, "s.txt"), want: Resolved{"from-file", SourceFile}},
		{in: "@enc.txt", want: Resolved{"from-enc", SourceEncrypted}},
		{in: "@nope.txt", wantErr: "reading secret file"},
		{in: Obfuscate("o"), want: Resolved{"o", SourceObfuscated}},
		{in: enc, want: Resolved{"from-enc", SourceEncrypted}},
	}
	for _, tt := range tests {
		got, err := r.Resolve(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Resolve(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Resolve(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
	noKey := &Resolver{}
	if _, err := noKey.Resolve(enc); err == nil || !strings.Contains(err.Error(), "no encryption key") {
		t.Errorf("ENC: without key: %v", err)
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "k.key")
	k, created, err := LoadOrCreateKeyFile(p)
	if err != nil || !created || len(k) != KeySize {
		t.Fatalf("create: %v %v %d", err, created, len(k))
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	k2, created, err := LoadOrCreateKeyFile(p)
	if err != nil || created || !cmp.Equal(k, k2) {
		t.Fatalf("reload: %v %v", err, created)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadKeyFile(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key accepted: %v", err)
	}
}

func TestEncryptionKeySource(t *testing.T) {
	dir := t.TempDir()
	k := NewKey()
	none := func(string) (string, bool) { return "", false }
	if _, _, err := EncryptionKeySource(none, dir); err == nil || !strings.Contains(err.Error(), "secret keygen") {
		t.Fatalf("missing key: %v", err)
	}
	if err := WriteKeyFile(filepath.Join(dir, DefaultEncryptionKeyFile), k); err != nil {
		t.Fatal(err)
	}
	got, _, err := EncryptionKeySource(none, dir)
	if err != nil || !cmp.Equal(got, k) {
		t.Fatalf("data dir key: %v", err)
	}
	k2 := NewKey()
	env := func(n string) (string, bool) {
		if n == EnvEncryptionKey {
			return EncodeKey(k2), true
		}
		return "", false
	}
	got, src, err := EncryptionKeySource(env, dir)
	if err != nil || !cmp.Equal(got, k2) || src != "$"+EnvEncryptionKey {
		t.Fatalf("env key: %v %s", err, src)
	}
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := Generate()
		if len(s) != 43 || strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("secret %q is not 43 unreserved characters", s)
		}
		if seen[s] {
			t.Fatal("repeated secret")
		}
		seen[s] = true
	}
}

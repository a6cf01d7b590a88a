package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chainsts/chainsts/clients"
	"github.com/chainsts/chainsts/clients/secrets"
)

const quickstart = "../../examples/quickstart/chainsts.yaml"

// cli runs the CLI in process and returns its status, stdout and stderr.
func cli(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(t.Context(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := cli(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "chainsts ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestListModules(t *testing.T) {
	code, out, _ := cli(t, "", "list-modules")
	if code != 0 {
		t.Fatal(code)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^stsuu\s+validate,issue\s+\S`),
		regexp.MustCompile(`(?m)^attributes\s+map\s+\S`),
	} {
		if !want.MatchString(out) {
			t.Errorf("list-modules lacks %s:\n%s", want, out)
		}
	}
}

func TestCheckQuickstart(t *testing.T) {
	code, out, errOut := cli(t, "", "check", "--config", quickstart)
	if code != 0 || out != "" || !strings.Contains(errOut, ": ok") {
		t.Fatalf("check quickstart: %d\n%s\n%s", code, out, errOut)
	}
}

func TestCheckReportsProblems(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.yaml")
	body := `chains:
  - name: a
    steps:
      - { id: in, module: stsuu, mode: validate }
      - { id: out, module: stsuu, mode: issue, config: { fromat: json } }
    lookup: { applies_to: "REGEXP:(unclosed" }
`
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := cli(t, "", "check", "--config", cfg)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{cfg + ":5:", cfg + ":6:", "error:", "fromat"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRunQuickstart(t *testing.T) {
	code, out, errOut := cli(t, "", "run", "--config", quickstart,
		"--request-type", "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Validate",
		"--issuer", "http://issuer/stsuu", "--applies-to", "http://appliesto/stsuu",
		"--token-file", "../../examples/quickstart/tokens/alice.stsuu.xml", "--trace")
	if code != 0 {
		t.Fatalf("run: %d\n%s", code, errOut)
	}
	for _, want := range []string{`<stsuuser:Attribute name="email"`, `<stsuuser:Value>quickstart</stsuuser:Value>`} {
		if !strings.Contains(out, want) {
			t.Errorf("token lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "AZN_CRED_AUTH_METHOD") {
		t.Error("the filter did not remove AZN_CRED_AUTH_METHOD")
	}
	for _, want := range []string{"chain stsuu-enrich", "step 1/3 in (stsuu validate)", "step 2/3 map (attributes map)", `tenant (urn:example:attribute) ["quickstart"]`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("trace lacks %q:\n%s", want, errOut)
		}
	}
}

func TestRunStdinAndErrors(t *testing.T) {
	tok, err := os.ReadFile("../../examples/quickstart/tokens/bob.stsuu.json")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, string(tok), "run", "--config", quickstart, "--request-type", "validate",
		"--issuer", "http://issuer/stsuu", "--applies-to", "http://appliesto/json/x", "--token-file", "-", "--claim", "n:=1")
	if code != 0 || !strings.HasPrefix(out, `{"principal":[{"name":"name","type":"urn:ibm:names:ITFIM:5.1:accessmanager","values":["E5678"]}]`) {
		t.Fatalf("run from stdin: %d\n%s\n%s", code, out, errOut)
	}
	code, _, errOut = cli(t, "", "run", "--config", quickstart, "--request-type", "issue", "--applies-to", "http://nowhere")
	if code != 1 || !strings.Contains(errOut, "no chain matches the request") || !strings.Contains(errOut, `applies_to="http://nowhere"`) {
		t.Fatalf("no chain: %d %s", code, errOut)
	}
	code, _, errOut = cli(t, "", "run", "--config", quickstart, "--request-type", "validate", "--claim", "novalue")
	if code != 1 || !strings.Contains(errOut, "name=value") {
		t.Fatalf("bad claim: %d %s", code, errOut)
	}
}

func TestParseClaims(t *testing.T) {
	got, err := parseClaims([]string{"a=b=c", "n:=9007199254740993", `l:=["x",true]`, "s:=\"q\""})
	if err != nil {
		t.Fatal(err)
	}
	if got["a"] != "b=c" || string(got["n"].(interface{ String() string }).String()) != "9007199254740993" || got["s"] != "q" {
		t.Fatalf("claims %#v", got)
	}
	if _, err := parseClaims([]string{"x:={"}); err == nil {
		t.Fatal("bad JSON accepted")
	}
}

func TestSecretCommands(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "k.key")
	if code, _, errOut := cli(t, "", "secret", "keygen", "--out", keyFile); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	key, err := secrets.ReadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}

	code, out, errOut := cli(t, "", "secret", "generate", "--hash-key-file", keyFile)
	if code != 0 {
		t.Fatalf("generate: %s", errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || len(lines[0]) != 43 || lines[1] != clients.KeyedHash(key, lines[0]) {
		t.Fatalf("generate output %q", out)
	}

	code, out, _ = cli(t, "hunter2\n", "secret", "hash", "--cost", "4")
	if code != 0 || !strings.HasPrefix(out, "$2a$04$") {
		t.Fatalf("hash: %q", out)
	}
	code, out, _ = cli(t, "hunter2", "secret", "hash", "--algorithm", "argon2id", "--argon2-memory", "64", "--argon2-time", "1")
	if code != 0 || !strings.HasPrefix(out, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("argon2id: %q", out)
	}

	code, out, _ = cli(t, "password\n", "secret", "obfuscate")
	if code != 0 || strings.TrimSpace(out) != "OBF:1v2j1uum1xtv1zej1zer1xtn1uvk1v1v" {
		t.Fatalf("obfuscate: %q", out)
	}

	code, out, _ = cli(t, "s3cret\n", "secret", "encrypt", "--key-file", keyFile)
	if code != 0 || !strings.HasPrefix(out, "ENC:") {
		t.Fatalf("encrypt: %q", out)
	}
	if got, err := secrets.Decrypt(key, strings.TrimSpace(out)); err != nil || got != "s3cret" {
		t.Fatalf("decrypt: %q %v", got, err)
	}

	if code, _, errOut := cli(t, "", "secret", "hash"); code != 1 || !strings.Contains(errOut, "empty secret") {
		t.Fatalf("empty secret: %d %s", code, errOut)
	}
}

// TestSecretGenerateWithConfig checks that a secret generated against a
// configuration authenticates with that configuration's clients app.
func TestSecretGenerateWithConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: data\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, "", "secret", "generate", "--config", cfg)
	if code != 0 {
		t.Fatalf("generate: %s", errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	body := "data_dir: data\nclients:\n  static:\n    - { id: gen, secret: \"" + lines[1] + "\" }\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := cli(t, "", "check", "--config", cfg); code != 0 {
		t.Fatalf("check with the generated hash: %s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", clients.DefaultHashKeyFile)); err != nil {
		t.Fatalf("hash key not kept in the data dir: %v", err)
	}
}

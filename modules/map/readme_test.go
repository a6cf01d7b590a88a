package mapmod_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/chains"
	"github.com/chainsts/chainsts/sts"
)

// exampleFences returns the bodies of the fenced blocks of README.md after the
// "## Examples" heading, in order.
func exampleFences(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n## Examples\n")
	if !ok {
		t.Fatal("README.md has no Examples section")
	}
	var out []string
	var cur *strings.Builder
	for _, line := range strings.Split(after, "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			return out
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = new(strings.Builder)
		case cur != nil && line == "```":
			out = append(out, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return out
}

// TestREADMEExample keeps the README's example honest: its configuration is
// testdata/example.yaml, and running it on the quickstart's bob gives the
// token shown.
func TestREADMEExample(t *testing.T) {
	blocks := exampleFences(t)
	if len(blocks) < 2 {
		t.Fatalf("README.md Examples: %d blocks, want the configuration and a run", len(blocks))
	}
	cfg, err := os.ReadFile(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var body []string
	for _, l := range strings.Split(string(cfg), "\n") {
		if !strings.HasPrefix(l, "#") {
			body = append(body, l)
		}
	}
	if d := cmp.Diff(blocks[0], strings.Join(body, "\n")); d != "" {
		t.Errorf("README.md's configuration is not testdata/example.yaml (-README +file):\n%s", d)
	}
	run := strings.Split(strings.TrimSpace(blocks[1]), "\n")
	want := run[len(run)-1]

	rt, err := chains.Load(context.Background(), filepath.Join("testdata", "example.yaml"), chains.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	tok, err := os.ReadFile("../../examples/quickstart/tokens/bob.stsuu.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.Run(context.Background(), &sts.Request{Type: sts.RequestValidate, AppliesTo: "http://appliesto/rule",
		Base: &sts.Token{Data: tok}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, string(resp.Token.Data)); d != "" {
		t.Errorf("README.md's output differs from a real run (-README +got):\n%s", d)
	}
}

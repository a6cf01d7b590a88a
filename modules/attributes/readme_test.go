package attributes_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/chains"
	"github.com/chainsts/chainsts/modules/attributes"
	_ "github.com/chainsts/chainsts/modules/stsuu"
	"github.com/chainsts/chainsts/sts"
)

type fence struct{ lang, body string }

// readmeSections returns the fenced code blocks of README.md grouped by the
// heading above them.
func readmeSections(t *testing.T) map[string][]fence {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]fence{}
	heading := ""
	var cur *fence
	var body strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "#"):
			heading = strings.TrimSpace(strings.TrimLeft(line, "#"))
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &fence{lang: strings.TrimPrefix(line, "```")}
			body.Reset()
		case cur != nil && line == "```":
			cur.body = body.String()
			out[heading] = append(out[heading], *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		}
	}
	return out
}

// TestREADMEExamples runs each "Example:" section of README.md: its yaml
// block is the step configuration, the first json block the input and the
// second the expected output.
func TestREADMEExamples(t *testing.T) {
	n := 0
	for heading, blocks := range readmeSections(t) {
		if !strings.HasPrefix(heading, "Example:") {
			continue
		}
		n++
		t.Run(heading, func(t *testing.T) {
			if len(blocks) != 3 || blocks[0].lang != "yaml" || blocks[1].lang != "json" || blocks[2].lang != "json" {
				t.Fatalf("want yaml, json, json blocks, got %d", len(blocks))
			}
			m := new(attributes.Module)
			if err := yaml.UnmarshalWithOptions([]byte(blocks[0].body), m, yaml.Strict()); err != nil {
				t.Fatal(err)
			}
			if err := m.Provision(sts.ProvisionContext{Context: context.Background(), Mode: sts.ModeMap}); err != nil {
				t.Fatal(err)
			}
			in, err := sts.ParseJSON([]byte(blocks[1].body))
			if err != nil {
				t.Fatal(err)
			}
			want, err := sts.ParseJSON([]byte(blocks[2].body))
			if err != nil {
				t.Fatal(err)
			}
			c := &sts.Call{Request: &sts.Request{}, User: in}
			if err := m.Map(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			if !want.Equal(c.User) {
				t.Errorf("(-want +got):\n%s\ngot %s", cmp.Diff(want, c.User), c.User.JSON())
			}
		})
	}
	if n < 3 {
		t.Errorf("found %d examples", n)
	}
}

// TestREADMEChain loads the chain configuration shown in README.md and runs
// a request through it.
func TestREADMEChain(t *testing.T) {
	var cfg string
	for _, blocks := range readmeSections(t) {
		for _, b := range blocks {
			if b.lang == "yaml" && strings.HasPrefix(b.body, "chains:") {
				cfg = b.body
			}
		}
	}
	if cfg == "" {
		t.Fatal("no chain configuration in README.md")
	}
	path := filepath.Join(t.TempDir(), "chainsts.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	rt, err := chains.Load(context.Background(), path, chains.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	resp, err := rt.Run(context.Background(), &sts.Request{
		Type: sts.RequestValidate, AppliesTo: "http://appliesto/stsuu",
		Base: &sts.Token{Data: []byte(`{"attributes":[{"name":"uid","values":["alice"]}]}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := sts.ParseXML(resp.Token.Data)
	if err != nil {
		t.Fatal(err)
	}
	if u.PrincipalName() != "alice" {
		t.Errorf("principal %q in %s", u.PrincipalName(), resp.Token.Data)
	}
}

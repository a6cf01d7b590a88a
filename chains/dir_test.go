package chains

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/sts"
)

func TestDirectoryConfig(t *testing.T) {
	dir := writeConfig(t, map[string]string{
		"10-modules.yaml": `
modules:
  base: { type: recorder, config: { label: from-base } }
templates:
  one: { steps: [ { id: s, module: base, mode: issue } ] }
`,
		"20-chains.yml": `
chains:
  - name: first-file
    template: one
    lookup: { applies_to: "REGEXP:(http://.*)" }
`,
		"30-more.yaml": `
chains:
  - name: second-file
    template: one
    config: { s: { label: second } }
    lookup: { applies_to: "REGEXP:(http://x/.*)" }
  - name: exact
    template: one
    lookup: { applies_to: "http://x/exact" }
`,
		"notes.txt":    "not: [read",
		".hidden.yaml": "not: [read",
	})
	rt := mustLoad(t, dir)
	var names []string
	for _, c := range rt.Chains() {
		names = append(names, c.Name+"@"+filepath.Base(c.File))
	}
	if diff := cmp.Diff([]string{"first-file@20-chains.yml", "second-file@30-more.yaml", "exact@30-more.yaml"}, names); diff != "" {
		t.Errorf("chains (-want +got):\n%s", diff)
	}
	// Files are read in name order, so the earlier file wins the tie.
	resp, err := rt.Run(context.Background(), &sts.Request{Type: "issue", AppliesTo: "http://x/y"})
	if err != nil || resp.Chain != "first-file" || string(resp.Token.Data) != "issued-by-from-base" {
		t.Errorf("got %v %v", resp, err)
	}
	if w := rt.Warnings(); len(w) != 1 || !strings.Contains(w[0].Message, `chain "second-file" can never be selected`) || filepath.Base(w[0].File) != "30-more.yaml" {
		t.Errorf("warnings = %v", w)
	}
}

func TestDirectoryDuplicatesNameBothPositions(t *testing.T) {
	dir := writeConfig(t, map[string]string{
		"a.yaml": `
data_dir: one
alpha: { name: a }
modules:
  m: { type: recorder }
templates:
  t: { steps: [ { id: s, module: recorder, mode: map } ] }
chains:
  - name: c
    template: t
`,
		"b.yaml": `
data_dir: two
alpha: { name: b }
modules:
  m: { type: recorder }
templates:
  t: { steps: [ { id: s, module: recorder, mode: map } ] }
chains:
  - name: c
    template: t
`,
	})
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	var got []string
	for _, p := range Check(context.Background(), dir, Options{}) {
		got = append(got, p.String())
	}
	want := []string{
		b + ":2:1: error: data_dir is already set at " + a + ":2:1 ($.data_dir)",
		b + ":3:1: error: section alpha is already defined at " + a + ":3:1 ($.alpha)",
		b + ":5:3: error: module instance \"m\" is already defined at " + a + ":5:3 ($.modules.m)",
		b + ":7:3: error: template \"t\" is already defined at " + a + ":7:3 ($.templates.t)",
		b + ":9:11: error: chain \"c\" is already defined at " + a + ":9:11 ($.chains[0].name)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(context.Background(), dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "no *.yaml or *.yml files") {
		t.Errorf("err = %v", err)
	}
	_, err = Load(context.Background(), filepath.Join(dir, "missing.yaml"), Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot read configuration") {
		t.Errorf("err = %v", err)
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	rt := mustLoad(t, writeFile(t, `
modules:
  base:
    type: recorder
    config: &common
      label: common
      opts: { a: 7, b: common }
chains:
  - name: merged
    steps:
      - id: a
        module: recorder
        mode: issue
        config:
          <<: *common
          label: override
    lookup: &lk { request_type: issue }
  - name: aliased-lookup
    steps: [ { id: a, module: base, mode: issue } ]
    lookup: *lk
`))
	resp, err := rt.Run(context.Background(), &sts.Request{Type: "issue"})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Token.Data) != "issued-by-override" || sts.StringValue(resp.User.Attributes.Get("opts").Value()) != "7/common" {
		t.Errorf("merge key: token %q, opts %v", resp.Token.Data, resp.User.Attributes.Get("opts"))
	}
	if w := rt.Warnings(); len(w) != 1 || !strings.Contains(w[0].Message, "aliased-lookup") {
		t.Errorf("the aliased lookup duplicates the first chain's: warnings = %v", w)
	}
}

func TestAliasExpansionIsBounded(t *testing.T) {
	// Each level doubles the expanded size: 2^25 nodes if expanded.
	var b strings.Builder
	b.WriteString("x0: &a0 [1, 2]\n")
	for i := 1; i <= 25; i++ {
		b.WriteString("x" + itoa(i) + ": &a" + itoa(i) + " [*a" + itoa(i-1) + ", *a" + itoa(i-1) + "]\n")
	}
	b.WriteString("chains: [ { name: c, steps: [ { id: s, module: recorder, mode: map, config: { tags: *a25 } } ] } ]\n")
	problems := Check(context.Background(), writeFile(t, b.String()), Options{})
	if len(problems) != 1 || !strings.Contains(problems[0].Message, "expands to more than") {
		t.Errorf("problems = %v", problems)
	}
}

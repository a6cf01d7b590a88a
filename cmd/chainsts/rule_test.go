package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const ruleFixtures = "../../mappingrules/testdata"

func TestRuleTest(t *testing.T) {
	rule := filepath.Join(ruleFixtures, "rules", "groups_claim.js")
	input := filepath.Join(ruleFixtures, "input.json")

	code, out, errOut := cli(t, "", "rule", "test", rule, "--stsuu", input)
	if code != 0 || !strings.Contains(out, `"grp:admins"`) {
		t.Fatalf("rule test: %d %q %q", code, out, errOut)
	}

	// The printed result is a valid expectation for itself...
	expect := filepath.Join(t.TempDir(), "expected.json")
	if err := os.WriteFile(expect, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = cli(t, "", "rule", "test", rule, "--stsuu", input, "--expect", expect)
	if code != 0 || !strings.Contains(out, "ok: the result matches") {
		t.Fatalf("matching expectation: %d %q", code, out)
	}
	// ...and the input is not.
	code, out, _ = cli(t, "", "rule", "test", rule, "--stsuu", input, "--expect", input)
	if code != 1 || !strings.Contains(out, `"name": "groups",`) || !strings.Contains(out, "differs") {
		t.Fatalf("differing expectation: %d %q", code, out)
	}

	code, _, errOut = cli(t, "", "rule", "test", filepath.Join(ruleFixtures, "rules", "throw_exception.js"), "--stsuu", input)
	if code != 1 || !strings.Contains(errOut, "line 5 column 37") || !strings.Contains(errOut, "invalid_request: scope admin is required") {
		t.Fatalf("failing rule: %d %q", code, errOut)
	}

	code, _, errOut = cli(t, "", "rule", "test", filepath.Join(ruleFixtures, "rules", "no_such_rule.js"), "--stsuu", input)
	if code != 1 || !strings.Contains(errOut, "rule file:") || !strings.Contains(errOut, "no such file") {
		t.Fatalf("missing rule file: %d %q", code, errOut)
	}

	code, _, errOut = cli(t, "", "rule", "test", "not_a_file", "--stsuu", input)
	if code != 1 || !strings.Contains(errOut, "--config") {
		t.Fatalf("bare name without config: %d %q", code, errOut)
	}
}

// The README runs the quickstart's exchange rule on its fixture: keep the
// two in step.
func TestQuickstartRuleFixture(t *testing.T) {
	dir := "../../examples/quickstart/rules"
	code, out, errOut := cli(t, "", "rule", "test", filepath.Join(dir, "jwt_exchange.js"),
		"--stsuu", filepath.Join(dir, "testdata", "jwt_exchange.input.json"),
		"--expect", filepath.Join(dir, "testdata", "jwt_exchange.expected.json"))
	if code != 0 || !strings.Contains(out, "ok: the result matches") {
		t.Fatalf("quickstart rule: %d %q %q", code, out, errOut)
	}
	code, out, errOut = cli(t, "", "rule", "test", "jwt_exchange", "--config", quickstart,
		"--stsuu", filepath.Join(dir, "testdata", "jwt_exchange.input.json"),
		"--expect", filepath.Join(dir, "testdata", "jwt_exchange.expected.json"))
	if code != 0 || !strings.Contains(out, "ok: the result matches") {
		t.Fatalf("quickstart rule by name: %d %q %q", code, out, errOut)
	}
}

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The README promises that its examples were copied from real runs. These
// tests run the `chainsts check` and `chainsts run --trace` examples in
// process, exactly as written there, and compare the output with the README
// text, so the README cannot drift from what the binary prints.

// readmeBlock returns the lines of the fenced block that starts after the
// first line of README.md containing marker (the fence line itself is
// skipped when the marker is above it), up to the closing fence.
func readmeBlock(t *testing.T, marker string, afterFence bool) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if !strings.Contains(l, marker) {
			continue
		}
		j := i + 1
		if afterFence {
			for j < len(lines) && !strings.HasPrefix(lines[j], "```") {
				j++
			}
			j++
		}
		var out []string
		for ; j < len(lines) && !strings.HasPrefix(lines[j], "```"); j++ {
			out = append(out, lines[j])
		}
		if j == len(lines) {
			t.Fatalf("README.md: the block after %q is not closed", marker)
		}
		return out
	}
	t.Fatalf("README.md has no line containing %q", marker)
	return nil
}

// withoutGoRunStatus drops the "exit status N" line that `go run` adds
// after a failing program; the in-process CLI does not print it.
func withoutGoRunStatus(t *testing.T, lines []string, code int) []string {
	t.Helper()
	if code == 0 {
		return lines
	}
	last := len(lines) - 1
	status := "exit status " + strconv.Itoa(code)
	if last < 0 || lines[last] != status {
		t.Fatalf("README.md: the failing example should end with go run's %q line", status)
	}
	return lines[:last]
}

func TestREADMECheckExample(t *testing.T) {
	yamlLines := readmeBlock(t, "`bad.yaml` (a misspelled", true)
	want := withoutGoRunStatus(t, readmeBlock(t, "$ go run ./cmd/chainsts check --config bad.yaml", false), 1)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(strings.Join(yamlLines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	code, out, errOut := cli(t, "", "check", "--config", "bad.yaml")
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	got := strings.Split(strings.TrimSuffix(out+errOut, "\n"), "\n")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("README.md's check example differs from a real run (-README +got):\n%s", d)
	}
	// The example is the acceptance case: all four problems, with lines.
	for _, w := range []string{"bad.yaml:9:", "bad.yaml:10:", "bad.yaml:12:", "bad.yaml:16:", "invalid regular expression", "unknown template", "can never be selected", `unknown key "fromat"`} {
		if !strings.Contains(out, w) {
			t.Errorf("check output lacks %q", w)
		}
	}
}

func TestREADMERunTraceExample(t *testing.T) {
	const marker = "--token-file examples/quickstart/tokens/bob.stsuu.json --trace"
	want := readmeBlock(t, marker, false)

	t.Chdir("../..")
	code, out, errOut := cli(t, "", "run", "--config", "examples/quickstart/chainsts.yaml",
		"--request-type", "validate", "--issuer", "http://issuer/stsuu", "--applies-to", "http://appliesto/json/app1",
		"--token-file", "examples/quickstart/tokens/bob.stsuu.json", "--trace")
	if code != 0 {
		t.Fatalf("run: %d\n%s", code, errOut)
	}
	// Step durations vary from run to run.
	dur := regexp.MustCompile(`\) [0-9]+\.[0-9]+ ms$`)
	norm := func(lines []string) []string {
		out := make([]string, len(lines))
		for i, l := range lines {
			out[i] = dur.ReplaceAllString(l, ") N ms")
		}
		return out
	}
	got := strings.Split(strings.TrimSuffix(errOut+out, "\n"), "\n")
	if d := cmp.Diff(norm(want), norm(got)); d != "" {
		t.Errorf("README.md's run --trace example differs from a real run (-README +got):\n%s", d)
	}
}

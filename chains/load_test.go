package chains

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/sts"
)

// writeConfig writes files (name → content) into a new directory and
// returns the directory.
func writeConfig(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// writeFile writes one configuration file and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	return filepath.Join(writeConfig(t, map[string]string{"chainsts.yaml": content}), "chainsts.yaml")
}

func mustLoad(t *testing.T, path string) *Runtime {
	t.Helper()
	rt, err := Load(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	return rt
}

// short renders problems as "line:col severity: message" for comparisons;
// the file name is the same in most tests.
func short(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, strings.Join([]string{itoa(p.Line) + ":" + itoa(p.Column), string(p.Severity), p.Message}, " "))
	}
	return out
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	s := ""
	for i > 0 {
		s = string(digits[i%10]) + s
		i /= 10
	}
	return s
}

const basicConfig = `
modules:
  tagged:
    type: recorder
    config:
      label: defaults
      opts: {a: 1, b: from-defaults}
      tags: {x: "1", y: "2"}
templates:
  in-map-out:
    steps:
      - {id: in, module: recorder, mode: validate}
      - {id: map, module: tagged, mode: map}
      - {id: out, module: recorder, mode: issue}
chains:
  - name: templated
    template: in-map-out
    config:
      in: {label: in}
      map: {label: map, opts: {b: from-step}, tags: {z: "3"}}
      out: {label: out}
    lookup:
      request_type: validate
      applies_to: http://appliesto/stsuu
  - name: inline
    steps:
      - {id: only, module: recorder, mode: issue, config: {label: inline-only}}
    lookup: {request_type: issue}
`

func TestRunTemplateChain(t *testing.T) {
	rt := mustLoad(t, writeFile(t, basicConfig))
	req := &sts.Request{
		ID:        "req-1",
		Type:      sts.WSTrust13Prefix + "Validate",
		AppliesTo: "http://appliesto/stsuu",
		Issuer:    "http://issuer/stsuu",
		Claims:    map[string]any{"signing.jwksUri": "https://example.test/jwks"},
		Trace:     true,
	}
	resp, err := rt.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if resp.Chain != "templated" {
		t.Errorf("chain = %q, want templated", resp.Chain)
	}
	if got := string(resp.Token.Data); got != "issued-by-out" {
		t.Errorf("token = %q", got)
	}
	if diff := cmp.Diff([]string{"in", "map", "out"}, resp.User.Attributes.Get("steps").StringValues()); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	// Step config over named-instance defaults: nested structs merge key
	// by key, maps are replaced.
	if got := sts.StringValue(resp.User.Attributes.Get("opts").Value()); got != "1/from-step" {
		t.Errorf("merged opts = %q, want 1/from-step", got)
	}
	if resp.User.Attributes.Get("tag.x") != nil || resp.User.Attributes.Get("tag.z") == nil {
		t.Errorf("step tags should replace the default map: %v", resp.User.Attributes)
	}
	var rst []string
	for _, a := range resp.User.RST {
		rst = append(rst, a.Name+"|"+a.Type+"|"+sts.StringValue(a.Value()))
	}
	wantRST := []string{
		"RequestType|" + sts.TypeRST + "|" + sts.WSTrust13Prefix + "Validate",
		"Issuer|" + sts.TypeRST + "|http://issuer/stsuu",
		"AppliesTo|" + sts.TypeRST + "|http://appliesto/stsuu",
		"signing.jwksUri|" + TypeRSTClaim + "|https://example.test/jwks",
	}
	if diff := cmp.Diff(wantRST, rst); diff != "" {
		t.Errorf("RST section (-want +got):\n%s", diff)
	}
	var trace []string
	for _, s := range resp.Trace {
		trace = append(trace, s.Step+" "+s.Module+" "+string(s.Mode))
		if s.After == nil {
			t.Errorf("step %s: no snapshot although the request asked for a trace", s.Step)
		}
	}
	if diff := cmp.Diff([]string{"in recorder validate", "map tagged map", "out recorder issue"}, trace); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
	}
	var changes [][]string
	for _, s := range resp.Trace {
		changes = append(changes, s.Changes)
	}
	wantChanges := [][]string{
		{"+attributes steps (test)"},
		{"~attributes steps (test)", "+attributes opts (test)", "+attributes tag.z (test)"},
		{"~attributes steps (test)"},
	}
	if diff := cmp.Diff(wantChanges, changes); diff != "" {
		t.Errorf("trace changes (-want +got):\n%s", diff)
	}
	if n := len(resp.Trace[0].After.Attributes.Get("steps").Values); n != 1 {
		t.Errorf("snapshot after step 1 has %d step marks, want 1 (snapshots must be copies)", n)
	}

	if ce := (&ConfigErrors{Problems: []Problem{{Severity: SeverityError, File: "f", Line: 1, Column: 2, Message: "a"}, {Severity: SeverityWarning, Message: "w"}, {Severity: SeverityError, File: "f", Line: 3, Column: 4, Message: "b"}}}); ce.Error() != "f:1:2: error: a (and 1 more problems)" {
		t.Errorf("ConfigErrors.Error() = %q", ce.Error())
	}
	infos := rt.Chains()
	if got := infos[0].Steps[1]; got != (StepInfo{ID: "map", Module: "tagged", Type: "recorder", Mode: sts.ModeMap}) {
		t.Errorf("step info = %+v", got)
	}
	if len(infos) != 2 || infos[0].Name != "templated" || infos[0].Line != 16 || infos[0].Lookup["applies_to"] != "http://appliesto/stsuu" {
		t.Errorf("Chains() = %+v", infos)
	}
}

func TestStepErrorsAreWrapped(t *testing.T) {
	rt := mustLoad(t, writeFile(t, `
chains:
  - name: denies
    steps:
      - {id: first, module: recorder, mode: validate, config: {label: a}}
      - {id: gate, module: recorder, mode: authorize, config: {label: b, fail: access_denied}}
      - {id: out, module: recorder, mode: issue, config: {label: c}}
  - name: faults
    steps:
      - {id: boom, module: recorder, mode: map, config: {label: d, fail: fault}}
    lookup: {request_type: issue}
  - name: panics
    steps:
      - {id: p, module: recorder, mode: map, config: {label: e, panic: true}}
    lookup: {request_type: cancel}
`))
	resp, err := rt.Run(context.Background(), &sts.Request{Type: "validate"})
	if err == nil {
		t.Fatal("want an error")
	}
	if want := `chain "denies" step "gate" (recorder authorize): access_denied`; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q, want prefix %q", err, want)
	}
	var se *sts.Error
	if !errors.As(err, &se) || se.Code != "access_denied" {
		t.Errorf("the module's *sts.Error must stay reachable, got %v", err)
	}
	if e := sts.AsError(err); e.Code != "access_denied" || e.Description != "recorder says no" {
		t.Errorf("AsError = %+v", e)
	}
	if resp == nil || len(resp.Trace) != 2 || resp.Trace[1].Error == "" || resp.Token != nil {
		t.Fatalf("failed run should return the trace up to the failing step and no token: %+v", resp)
	}
	if resp.Trace[0].After != nil || resp.Trace[0].Changes != nil {
		t.Errorf("snapshots and change summaries are only made when the request asks for a trace")
	}

	_, err = rt.Run(context.Background(), &sts.Request{Type: "issue"})
	if e := sts.AsError(err); e.Code != "server_error" || !strings.Contains(err.Error(), `step "boom"`) {
		t.Errorf("plain module error: %v → %+v", err, e)
	}
	_, err = rt.Run(context.Background(), &sts.Request{Type: "cancel"})
	if e := sts.AsError(err); e.Code != "server_error" || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("panicking module: %v", err)
	}
}

func TestDeadlineBetweenSteps(t *testing.T) {
	rt := mustLoad(t, writeFile(t, `
chains:
  - name: slow
    steps:
      - {id: s1, module: recorder, mode: map, config: {label: s1, sleep: 30ms}}
      - {id: s2, module: recorder, mode: map, config: {label: s2}}
`))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	resp, err := rt.Run(ctx, &sts.Request{Type: "issue"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if e := sts.AsError(err); e.Code != "temporarily_unavailable" {
		t.Errorf("AsError code = %s", e.Code)
	}
	if len(resp.Trace) != 1 {
		t.Errorf("step s2 must not run after the deadline; trace = %+v", resp.Trace)
	}

	// A deadline that passes while step 1 runs (without step 1 noticing)
	// stops the chain before step 2.
	rt2 := mustLoad(t, writeFile(t, `
chains:
  - name: c
    steps:
      - {id: s1, module: recorder, mode: map, config: {label: s1}}
      - {id: s2, module: recorder, mode: map, config: {label: s2}}
`))
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	resp, err = rt2.Run(ctx2, &sts.Request{Type: "issue"})
	if !errors.Is(err, context.Canceled) || len(resp.Trace) != 0 || !strings.Contains(err.Error(), `before step "s1"`) {
		t.Errorf("cancelled context: err=%v trace=%d", err, len(resp.Trace))
	}
}

func TestNestedChainsAndDepthLimit(t *testing.T) {
	path := writeFile(t, `
chains:
  - name: outer
    steps:
      - {id: call, module: recorder, mode: map, config: {label: outer, call: {request_type: validate, applies_to: inner}}}
    lookup: {request_type: issue}
  - name: inner
    steps:
      - {id: x, module: recorder, mode: map, config: {label: inner}}
    lookup: {request_type: validate, applies_to: inner}
  - name: loop
    steps:
      - {id: again, module: recorder, mode: map, config: {label: loop, call: {request_type: renew, applies_to: loop}}}
    lookup: {request_type: renew}
`)
	rt, err := Load(context.Background(), path, Options{MaxDepth: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	resp, err := rt.Run(context.Background(), &sts.Request{Type: "issue"})
	if err != nil {
		t.Fatal(err)
	}
	if got := sts.StringValue(resp.User.Attributes.Get("nested").Value()); got != "inner" {
		t.Errorf("nested chain = %q", got)
	}
	_, err = rt.Run(context.Background(), &sts.Request{Type: "renew"})
	if !errors.Is(err, ErrDepthExceeded) {
		t.Fatalf("err = %v, want ErrDepthExceeded", err)
	}
	if c := strings.Count(err.Error(), `chain "loop" step "again"`); c != 4 {
		t.Errorf("the error should show the 4 nested levels (depth 0..3), got %d: %v", c, err)
	}
	if e := sts.AsError(err); e.Code != "server_error" {
		t.Errorf("a chain loop is a server fault, got %s", e.Code)
	}
}

type recordingObserver struct {
	steps  []string
	chains []string
}

func (o *recordingObserver) ObserveStep(chain, step, module string, mode sts.Mode, _ time.Duration, err error) {
	o.steps = append(o.steps, chain+"/"+step+"/"+module+"/"+string(mode)+"/"+errString(err))
}

func (o *recordingObserver) ObserveChain(chain string, _ time.Duration, err error) {
	o.chains = append(o.chains, chain+"/"+errString(err))
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return sts.AsError(err).Code
}

func TestObserver(t *testing.T) {
	obs := &recordingObserver{}
	rt, err := Load(context.Background(), writeFile(t, `
chains:
  - name: c
    steps:
      - {id: a, module: recorder, mode: validate, config: {label: a}}
      - {id: b, module: recorder, mode: authorize, config: {label: b, fail: access_denied}}
`), Options{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	_, _ = rt.Run(context.Background(), &sts.Request{Type: "issue"})
	if diff := cmp.Diff([]string{"c/a/recorder/validate/ok", "c/b/recorder/authorize/access_denied"}, obs.steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"c/access_denied"}, obs.chains); diff != "" {
		t.Errorf("chains (-want +got):\n%s", diff)
	}
}

func TestUnconfiguredAppFailureReportedAtTheStep(t *testing.T) {
	got := short(Check(context.Background(), writeFile(t, `
chains:
  - name: c
    steps:
      - { id: s, module: recorder, mode: map, config: { need_app: delta } }
`), Options{}))
	want := []string{`5:11 error chain "c" step "s" (recorder map): app "delta" (defaults, no section): name: is wrong`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAppsAndHost(t *testing.T) {
	resetEvents()
	dir := writeConfig(t, map[string]string{"chainsts.yaml": `
data_dir: state
alpha: {name: a, depends: beta}
gamma: {unready: true}
chains:
  - name: c
    steps:
      - {id: s, module: recorder, mode: map, config: {label: s, need_app: beta}}
`})
	rt := mustLoad(t, dir)
	if diff := cmp.Diff([]string{"beta", "alpha", "gamma"}, rt.Apps()); diff != "" {
		t.Errorf("Apps (-want +got):\n%s", diff)
	}
	if eventCount("provisioned", "app:beta") != 1 {
		t.Errorf("beta must be provisioned once and shared, got %d", eventCount("provisioned", "app:beta"))
	}
	a, err := rt.App("alpha")
	if err != nil || a.(*fakeApp).Name != "a" {
		t.Errorf("App(alpha) = %v, %v", a, err)
	}
	if _, err := rt.App("nope"); err == nil {
		t.Error("App(nope) must fail")
	}
	if err := rt.Ready(); err == nil || !strings.Contains(err.Error(), "gamma") {
		t.Errorf("Ready = %v, want gamma not ready", err)
	}
	h := rt.host
	if h.ConfigDir() != dir {
		t.Errorf("ConfigDir = %q, want %q", h.ConfigDir(), dir)
	}
	dd := h.DataDir()
	if dd != filepath.Join(dir, "state") {
		t.Errorf("DataDir = %q", dd)
	}
	st, err := os.Stat(dd)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("data dir not created 0700: %v %v", st, err)
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"app:alpha", "app:beta", "app:gamma", "s"} {
		if eventCount("cleaned", l) != 1 {
			t.Errorf("%s cleaned %d times, want 1", l, eventCount("cleaned", l))
		}
	}

	if _, err := rt.App("alpha"); err == nil {
		t.Error("App on a closed runtime must fail rather than provision again")
	}

	// Options.DataDir wins over data_dir.
	other := t.TempDir()
	rt2, err := Load(context.Background(), dir, Options{DataDir: other})
	if err != nil {
		t.Fatal(err)
	}
	if rt2.host.DataDir() != other {
		t.Errorf("DataDir = %q, want the override %q", rt2.host.DataDir(), other)
	}
	rt2.Close()
}

func writeBytes(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

func TestNamedInstances(t *testing.T) {
	// An instance named like a module type gives defaults to every step
	// that names the type.
	rt := mustLoad(t, writeFile(t, `
modules:
  recorder: { type: recorder, config: { label: instance-default } }
chains:
  - name: c
    steps: [ { id: s, module: recorder, mode: issue } ]
`))
	resp, err := rt.Run(context.Background(), &sts.Request{Type: "issue"})
	if err != nil || string(resp.Token.Data) != "issued-by-instance-default" {
		t.Errorf("got %v, %v", resp, err)
	}

	// An unused instance is still decoded, so its mistakes are reported.
	got := short(Check(context.Background(), writeFile(t, `
modules:
  unused: { type: recorder, config: { labl: x } }
`), Options{}))
	want := []string{`3:39 error module instance "unused" (recorder): unknown key "labl" (did you mean "label"?)`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

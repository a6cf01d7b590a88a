package chains

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

// boundObserver records through the functions it binds, and fails the
// test if the runtime falls back to the unbound methods.
type boundObserver struct {
	t      *testing.T
	mu     sync.Mutex
	bound  []string
	steps  []string
	chains []string
}

func (o *boundObserver) ObserveStep(string, string, string, sts.Mode, time.Duration, error) {
	o.t.Error("ObserveStep called although the step was bound")
}

func (o *boundObserver) ObserveChain(string, time.Duration, error) {
	o.t.Error("ObserveChain called although the chain was bound")
}

func (o *boundObserver) BindStep(chain, step, module string, mode sts.Mode) func(time.Duration, error) {
	o.bound = append(o.bound, "step "+chain+"/"+step+"/"+module+"/"+string(mode))
	return func(_ time.Duration, err error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.steps = append(o.steps, chain+"/"+step+"/"+errString(err))
	}
}

func (o *boundObserver) BindChain(chain string) func(time.Duration, error) {
	o.bound = append(o.bound, "chain "+chain)
	return func(_ time.Duration, err error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.chains = append(o.chains, chain+"/"+errString(err))
	}
}

func TestBoundObserver(t *testing.T) {
	obs := &boundObserver{t: t}
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
	// Binding happens once, at load.
	wantBound := []string{"chain c", "step c/a/recorder/validate", "step c/b/recorder/authorize"}
	if diff := cmp.Diff(wantBound, obs.bound); diff != "" {
		t.Errorf("bound (-want +got):\n%s", diff)
	}
	for range 2 {
		_, _ = rt.Run(context.Background(), &sts.Request{Type: "issue"})
	}
	if diff := cmp.Diff(wantBound, obs.bound); diff != "" {
		t.Errorf("requests bound again (-want +got):\n%s", diff)
	}
	wantSteps := []string{"c/a/ok", "c/b/access_denied", "c/a/ok", "c/b/access_denied"}
	if diff := cmp.Diff(wantSteps, obs.steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"c/access_denied", "c/access_denied"}, obs.chains); diff != "" {
		t.Errorf("chains (-want +got):\n%s", diff)
	}
}

// TestLazyLoggerWritesWhatWithWrites compares a lazily built step logger
// with the eager With chain it replaces, line for line, at every level and
// through the derived forms (With, Named, odd argument lists).
func TestLazyLoggerWritesWhatWithWrites(t *testing.T) {
	newRoot := func(buf *bytes.Buffer, level hclog.Level) hclog.Logger {
		return hclog.New(&hclog.LoggerOptions{Name: "chainsts", Output: buf, Level: level, DisableTime: true})
	}
	write := func(l hclog.Logger) {
		l.Trace("t", "k", 1)
		l.Debug("d", "k", 2)
		l.Info("i", "k", 3)
		l.Warn("w")
		l.Error("e", "err", "boom")
		l.Log(hclog.Info, "log", "k", 4)
		l.With("extra", true, "step", "override").Info("with")
		l.With("odd").Warn("odd")
		l.Named("sub").Info("named")
		l.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn}).Print("std")
	}
	for _, level := range []hclog.Level{hclog.Trace, hclog.Info, hclog.Error} {
		var eager, lazy bytes.Buffer
		e := newRoot(&eager, level).With("chain", "c").With("request_id", "r1").With("step", "s")
		l := lazyWith(lazyWith(lazyWith(newRoot(&lazy, level), []any{"chain", "c"}), []any{"request_id", "r1"}), []any{"step", "s"})
		write(e)
		write(l)
		if eager.String() != lazy.String() {
			t.Errorf("level %s:\neager:\n%s\nlazy:\n%s", level, eager.String(), lazy.String())
		}
		if level == hclog.Info && !strings.Contains(lazy.String(), "chain=c request_id=r1 step=s") {
			t.Errorf("the implied arguments are missing:\n%s", lazy.String())
		}
		if diff := cmp.Diff(e.ImpliedArgs(), l.ImpliedArgs()); diff != "" {
			t.Errorf("implied args (-eager +lazy):\n%s", diff)
		}
		if l.IsInfo() != e.IsInfo() || l.GetLevel() != e.GetLevel() || l.Name() != e.Name() {
			t.Errorf("level or name differ: %v/%v %v/%v %q/%q", l.IsInfo(), e.IsInfo(), l.GetLevel(), e.GetLevel(), l.Name(), e.Name())
		}
	}
}

// TestLazyLoggerNotBuiltWhenSilent checks the point of the lazy logger:
// nothing is built for levels that are off.
func TestLazyLoggerNotBuiltWhenSilent(t *testing.T) {
	var buf bytes.Buffer
	root := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Warn})
	l := lazyWith(root, []any{"step", "s"}).(*lazyLogger)
	l.Debug("quiet")
	l.Info("quiet")
	if l.built.Load() != nil || buf.Len() != 0 {
		t.Fatalf("built a logger for a disabled level: %q", buf.String())
	}
	l.Warn("loud")
	if l.built.Load() == nil || !strings.Contains(buf.String(), "loud: step=s") {
		t.Fatalf("warning not written: %q", buf.String())
	}
}

// TestFillRSTAttributesAreIndependent checks that the request elements,
// which share backing arrays, behave as separate attributes: growing or
// changing one leaves the others as they were.
func TestFillRSTAttributesAreIndependent(t *testing.T) {
	u := sts.NewSTSUU()
	req := &sts.Request{Type: "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue", Issuer: "iss",
		AppliesTo: "http://appliesto/x", AppliesToServiceName: "svc", TokenType: "tt"}
	if err := fillRST(u, req); err != nil {
		t.Fatal(err)
	}
	got := func() []string {
		var out []string
		for _, a := range u.RST {
			out = append(out, a.Name+"|"+a.Type+"|"+strings.Join(a.StringValues(), ","))
		}
		return out
	}
	want := []string{
		"RequestType|" + sts.TypeRST + "|" + req.Type,
		"Issuer|" + sts.TypeRST + "|iss",
		"AppliesTo|" + sts.TypeRST + "|http://appliesto/x",
		"AppliesTo_ServiceName|" + sts.TypeAddressing + "|svc",
		"TokenType|" + sts.TypeRST + "|tt",
	}
	if diff := cmp.Diff(want, got()); diff != "" {
		t.Fatalf("RST (-want +got):\n%s", diff)
	}
	u.RST[1].Values = append(u.RST[1].Values, "second")
	u.RST[3].Values[0] = "changed"
	want[1] += ",second"
	want[3] = "AppliesTo_ServiceName|" + sts.TypeAddressing + "|changed"
	if diff := cmp.Diff(want, got()); diff != "" {
		t.Errorf("after editing two attributes (-want +got):\n%s", diff)
	}
}

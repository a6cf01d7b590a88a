package mappingrules

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/chainsts/chainsts/sts"
)

// benchRule is the PRODUCT §12 reference rule: 30 lines that read and write
// ten attributes. modules/map runs the same file in its chain benchmarks.
var benchRule = func() string {
	b, err := os.ReadFile("testdata/bench30.js")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

func benchUser() *sts.STSUU {
	u := sts.NewSTSUU()
	u.SetPrincipalName("alice")
	for i, n := range []string{"sub", "email", "department", "tenant", "acr", "locale"} {
		u.Attributes = append(u.Attributes, sts.NewAttribute(n, sts.TypeJWTClaim, fmt.Sprintf("Value-%d", i)))
	}
	u.Attributes = append(u.Attributes, sts.NewAttribute("scope", sts.TypeJWTClaim, "read", "write"))
	u.Context = append(u.Context,
		sts.NewAttribute("grant_type", "urn:ibm:names:ITFIM:oauth:body:param", "urn:ietf:params:oauth:grant-type:token-exchange"),
		sts.NewAttribute("client_id", "urn:ibm:names:ITFIM:oauth:body:param", "portal"))
	return u
}

func benchEval(b *testing.B, cfg Config) {
	cfg.Inline = map[string]string{"bench": benchRule}
	set := testSet(b, cfg)
	r, err := set.Rule("bench")
	if err != nil {
		b.Fatal(err)
	}
	base := benchUser()
	ctx := context.Background()
	if _, err := r.Evaluate(ctx, Input{User: base.Clone()}); err != nil {
		b.Fatal(err)
	}
	// Users are cloned in small batches outside the timed sections, so the
	// garbage collector does not scan b.N prepared users while it runs.
	const batch = 256
	users := make([]*sts.STSUU, batch)
	var cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		b.StopTimer()
		for j := range users {
			users[j] = base.Clone()
		}
		b.StartTimer()
		start := cpuTime()
		for j := 0; j < batch && i+j < b.N; j++ {
			if _, err := r.Evaluate(ctx, Input{User: users[j]}); err != nil {
				b.Fatal(err)
			}
		}
		cpu += cpuTime() - start
	}
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time. On a shared machine the
// wall-clock ns/op includes time spent waiting for a core; the CPU time per
// operation (cpu-ns/op, which includes the garbage collector) is the cost.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkRulePooled is the ≤ 20 µs target: a pooled, frozen runtime with
// a fresh global object per evaluation.
func BenchmarkRulePooled(b *testing.B) { benchEval(b, Config{PoolSize: 1}) }

// BenchmarkRuleFresh builds a new runtime (API and prelude, no freeze) for
// every evaluation.
func BenchmarkRuleFresh(b *testing.B) { benchEval(b, Config{PoolSize: 1, FreshRuntimes: true}) }

// BenchmarkRuntimeBuild is the cost of one pooled runtime (API, prelude,
// lockdown with the deep freeze), paid once per pool slot.
func BenchmarkRuntimeBuild(b *testing.B) {
	set := testSet(b, Config{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := newVMRT(set); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRuleEmpty is the fixed cost of one evaluation: the pool, the
// per-evaluation global, the deadline timer.
func BenchmarkRuleEmpty(b *testing.B) {
	set := testSet(b, Config{PoolSize: 1, Inline: map[string]string{"empty": "1;"}})
	r, _ := set.Rule("empty")
	u := benchUser()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := r.Evaluate(context.Background(), Input{User: u}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkRuleVsES256 alternates blocks of reference-rule evaluations and
// of ES256 sign+verify operations in one loop and reports the CPU time of
// each and their ratio: the machine's speed varies from minute to minute,
// the ratio much less. PRODUCT §12's 20 µs is about 0.17 of the reference
// machine's ES256 sign+verify (≈ 120 µs, NOTES.md).
func BenchmarkRuleVsES256(b *testing.B) {
	set := testSet(b, Config{PoolSize: 1, Inline: map[string]string{"bench": benchRule}})
	r, _ := set.Rule("bench")
	base := benchUser()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9"))
	const block = 64
	users := make([]*sts.STSUU, block)
	var rule, crypto time.Duration
	n := 0
	b.ResetTimer()
	for n < b.N {
		b.StopTimer()
		for j := range users {
			users[j] = base.Clone()
		}
		b.StartTimer()
		start := cpuTime()
		for j := 0; j < block; j++ {
			if _, err := r.Evaluate(context.Background(), Input{User: users[j]}); err != nil {
				b.Fatal(err)
			}
		}
		mid := cpuTime()
		for j := 0; j < block/4; j++ {
			sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
			if err != nil || !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
				b.Fatal("sign/verify failed")
			}
		}
		end := cpuTime()
		rule += mid - start
		crypto += end - mid
		n += block
	}
	perRule := float64(rule) / float64(n)
	perCrypto := float64(crypto) / float64(n/4)
	b.ReportMetric(perRule, "cpu-ns/rule")
	b.ReportMetric(perCrypto, "cpu-ns/es256")
	b.ReportMetric(perRule/perCrypto, "rule/es256")
}

package mapmod_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"syscall"
	"testing"
	"time"

	"github.com/chainsts/chainsts/sts"
)

// benchToken issues the subject token the exchange benchmarks present: the
// claims the reference rule reads.
func benchToken(b *testing.B, rt interface {
	Run(context.Context, *sts.Request) (*sts.Response, error)
}) []byte {
	u := sts.NewSTSUU()
	u.SetPrincipalName("alice")
	for _, kv := range [][2]string{{"sub", "alice"}, {"email", "Alice@Example.com"}, {"department", "eng"}, {"tenant", "t1"}, {"acr", "2"}, {"locale", "de"}} {
		u.Attributes = append(u.Attributes, sts.NewAttribute(kv[0], sts.TypeJWTIssueClaim, kv[1]))
	}
	u.Attributes = append(u.Attributes, sts.NewAttribute("scope", sts.TypeJWTIssueClaim, "read", "write"))
	resp, err := rt.Run(context.Background(), &sts.Request{Type: sts.RequestIssue, AppliesTo: "http://appliesto/jwt",
		Base: &sts.Token{Type: sts.TokenTypeSTSUU, Data: u.XML()}})
	if err != nil {
		b.Fatal(err)
	}
	return resp.Token.Data
}

func benchExchange(b *testing.B, appliesTo string) {
	rt := loadB(b)
	tok := benchToken(b, rt)
	req := func() *sts.Request {
		return &sts.Request{ID: "bench", Type: sts.RequestExchange, AppliesTo: appliesTo,
			Base: &sts.Token{Type: sts.TokenTypeJWT, Data: tok}}
	}
	if _, err := rt.Run(context.Background(), req()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := rt.Run(context.Background(), req()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkExchangeWithoutRule and BenchmarkExchangeWithRule run the same
// ES256 JWT -> JWT exchange, the second with the 30-line reference rule;
// scripts/bench.d/mapping-rules.sh prints the rule's share.
func BenchmarkExchangeWithoutRule(b *testing.B) {
	benchExchange(b, "http://appliesto/bench-without-rule")
}

// BenchmarkExchangeWithRule: see BenchmarkExchangeWithoutRule.
func BenchmarkExchangeWithRule(b *testing.B) { benchExchange(b, "http://appliesto/bench-with-rule") }

// BenchmarkExchangeRuleShare runs the two exchanges in alternating blocks
// of the same loop, so a change in the machine's speed during the run
// affects both alike, and reports the CPU time of each and the rule's
// share.
func BenchmarkExchangeRuleShare(b *testing.B) {
	rt := loadB(b)
	tok := benchToken(b, rt)
	run := func(appliesTo string) {
		if _, err := rt.Run(context.Background(), &sts.Request{ID: "bench", Type: sts.RequestExchange, AppliesTo: appliesTo,
			Base: &sts.Token{Type: sts.TokenTypeJWT, Data: tok}}); err != nil {
			b.Fatal(err)
		}
	}
	run("http://appliesto/bench-with-rule")
	const block = 32
	var with, without time.Duration
	n := 0
	b.ResetTimer()
	for n < b.N {
		start := cpuTime()
		for j := 0; j < block; j++ {
			run("http://appliesto/bench-without-rule")
		}
		mid := cpuTime()
		for j := 0; j < block; j++ {
			run("http://appliesto/bench-with-rule")
		}
		end := cpuTime()
		without += mid - start
		with += end - mid
		n += 2 * block
	}
	runs := float64(n / 2)
	b.ReportMetric(float64(without)/runs, "cpu-ns/without")
	b.ReportMetric(float64(with)/runs, "cpu-ns/with")
	b.ReportMetric(100*float64(with-without)/float64(with), "rule-%")
}

// cpuTime is the process's user+system CPU time: on a shared machine the
// wall-clock ns/op includes waiting for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkES256SignVerify is the crypto an exchange cannot avoid (verify
// the subject token, sign the new one), measured in the same run so the
// mapping-rules bench script can state the rule's cost relative to it on a
// machine whose speed varies.
func BenchmarkES256SignVerify(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9"))
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		if err != nil || !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
			b.Fatal("sign/verify failed")
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

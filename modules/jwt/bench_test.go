package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chainsts/chainsts/sts"
)

// benchUser is the 10-claim universal user the benchmarks issue from.
func benchUser() *sts.STSUU {
	u := sts.NewSTSUU()
	u.SetPrincipalName("alice@example.com")
	for i, v := range []any{"Alice Example", "alice@example.com", true, 42, []any{"admin", "dev"}, map[string]any{"tenant": "t1", "level": 3}, "fr-FR", "employee"} {
		u.Attributes.Add(sts.NewAttribute(fmt.Sprintf("claim%d", i), sts.TypeJWTIssueClaim, v))
	}
	return u
}

type benchCase struct {
	alg, label string
	rawSign    func(msg []byte)
	rawVerify  func(msg, sig []byte) bool
}

func benchCases() []benchCase {
	genTestKeys()
	sha := func(m []byte) []byte { d := sha256.Sum256(m); return d[:] }
	return []benchCase{
		{"ES256", "es256", func(m []byte) { ecdsa.SignASN1(rand.Reader, testEC256, sha(m)) },
			func(m, s []byte) bool { return ecdsa.VerifyASN1(&testEC256.PublicKey, sha(m), s) }},
		{"RS256", "rs256", func(m []byte) { rsa.SignPKCS1v15(rand.Reader, testRSA, crypto.SHA256, sha(m)) },
			func(m, s []byte) bool { return rsa.VerifyPKCS1v15(&testRSA.PublicKey, crypto.SHA256, sha(m), s) == nil }},
		{"PS256", "ps256", func(m []byte) {
			rsa.SignPSS(rand.Reader, testRSA, crypto.SHA256, sha(m), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}, func(m, s []byte) bool {
			return rsa.VerifyPSS(&testRSA.PublicKey, crypto.SHA256, sha(m), s, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}},
		{"EdDSA", "eddsa", func(m []byte) { ed25519.Sign(testEd, m) },
			func(m, s []byte) bool { return ed25519.Verify(testEd.Public().(ed25519.PublicKey), m, s) }},
		{"HS256", "hs256", func(m []byte) { h := hmac.New(sha256.New, []byte(testSecret)); h.Write(m); h.Sum(nil) },
			func(m, s []byte) bool {
				h := hmac.New(sha256.New, []byte(testSecret))
				h.Write(m)
				return hmac.Equal(h.Sum(nil), s)
			}},
	}
}

// cpuPerOp runs f as a benchmark and returns the process CPU time (user +
// system) per operation in nanoseconds. CPU time rather than wall time:
// the build machines are shared, and other processes inflate wall-clock
// figures of both columns unevenly.
func cpuPerOp(f func(b *testing.B)) float64 {
	var n int
	var cpu time.Duration
	testing.Benchmark(func(b *testing.B) {
		before := processCPU()
		f(b)
		cpu, n = processCPU()-before, b.N
	})
	return float64(cpu.Nanoseconds()) / float64(n)
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type benchResult struct {
	alg                                 string
	rawSign, issue, rawVerify, validate float64 // ns/op
}

func runBench(t testing.TB, h *testHost, bc benchCase) benchResult {
	iss := mustStep(t, h, sts.ModeIssue, "signing: {keystore: sig, label: "+bc.label+"}\niss: https://sts.example\naud: [api]\n")
	val := mustStep(t, h, sts.ModeValidate, "signing: {keystore: sig, label: "+bc.label+"}\niss: https://sts.example\naud: [api]\n")
	u := benchUser()
	tok := issueCall(t, iss, u.Clone())
	i := strings.LastIndexByte(tok, '.')
	input, sig := []byte(tok[:i]), mustDecode(tok[i+1:])
	rawSig := sig
	if bc.alg == "ES256" {
		d := sha256.Sum256(input)
		rawSig, _ = ecdsa.SignASN1(rand.Reader, testEC256, d[:])
	}
	ns := cpuPerOp
	ctx := context.Background()
	return benchResult{
		alg: bc.alg,
		rawSign: ns(func(b *testing.B) {
			for b.Loop() {
				bc.rawSign(input)
			}
		}),
		issue: ns(func(b *testing.B) {
			for b.Loop() {
				c := &sts.Call{Request: &sts.Request{}, User: u}
				if err := iss.IssueToken(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		}),
		rawVerify: ns(func(b *testing.B) {
			for b.Loop() {
				if !bc.rawVerify(input, rawSig) {
					b.Fatal("raw verify failed")
				}
			}
		}),
		validate: ns(func(b *testing.B) {
			req := &sts.Request{Base: &sts.Token{Data: []byte(tok)}}
			for b.Loop() {
				c := &sts.Call{Request: req, User: sts.NewSTSUU()}
				if err := val.ValidateToken(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		}),
	}
}

func mustDecode(s string) []byte {
	b, err := b64.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestBenchTable prints, for each algorithm, the STS issue and validate cost
// of a 10-claim token next to the raw crypto/* sign and verify measured in
// the same run, the overhead (everything but the signature operation) and
// the ratio. It runs only with CHAINSTS_BENCH=1 (make bench).
func TestBenchTable(t *testing.T) {
	if os.Getenv("CHAINSTS_BENCH") != "1" {
		t.Skip("set CHAINSTS_BENCH=1 (make bench) to run the benchmark table")
	}
	h := stdHost(t)
	fmt.Printf("\n10-claim JWT, CPU time per token (µs), GOMAXPROCS=%d. overhead = chainsts - raw crypto; target overhead <= 15 µs\n", runtime.GOMAXPROCS(0))
	fmt.Printf("%-6s | %9s %9s %9s %6s | %9s %9s %9s %6s\n", "alg", "raw sign", "issue", "overhead", "ratio", "raw vrfy", "validate", "overhead", "ratio")
	fmt.Println(strings.Repeat("-", 92))
	worst := 0.0
	for _, bc := range benchCases() {
		r := runBench(t, h, bc)
		oi, ov := (r.issue-r.rawSign)/1e3, (r.validate-r.rawVerify)/1e3
		worst = max(worst, oi, ov)
		fmt.Printf("%-6s | %9.1f %9.1f %9.1f %5.2fx | %9.1f %9.1f %9.1f %5.2fx\n", r.alg,
			r.rawSign/1e3, r.issue/1e3, oi, r.issue/r.rawSign, r.rawVerify/1e3, r.validate/1e3, ov, r.validate/r.rawVerify)
	}
	fmt.Printf("worst STS overhead: %.1f µs per token (target <= 15 µs)\n", worst)
}

// BenchmarkIssueES256 and BenchmarkValidateES256 are the standard-form
// benchmarks for profiling (go test -bench . -cpuprofile ...).
func BenchmarkIssueES256(b *testing.B) {
	h := stdHost(b)
	iss := mustStep(b, h, sts.ModeIssue, "signing: {keystore: sig, label: es256}\niss: https://sts.example\naud: [api]\n")
	u := benchUser()
	for b.Loop() {
		if err := iss.IssueToken(context.Background(), &sts.Call{Request: &sts.Request{}, User: u}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateES256(b *testing.B) {
	h := stdHost(b)
	iss := mustStep(b, h, sts.ModeIssue, "signing: {keystore: sig, label: es256}\niss: https://sts.example\naud: [api]\n")
	val := mustStep(b, h, sts.ModeValidate, "signing: {keystore: sig, label: es256}\niss: https://sts.example\naud: [api]\n")
	tok := issueCall(b, iss, benchUser())
	req := &sts.Request{Base: &sts.Token{Data: []byte(tok)}}
	for b.Loop() {
		if err := val.ValidateToken(context.Background(), &sts.Call{Request: req, User: sts.NewSTSUU()}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate runs validate of the 10-claim token for each algorithm
// of the table, for profiling the STS overhead (HS256 is nearly all
// overhead).
func BenchmarkValidate(b *testing.B) {
	h := stdHost(b)
	for _, bc := range benchCases() {
		b.Run(bc.alg, func(b *testing.B) {
			iss := mustStep(b, h, sts.ModeIssue, "signing: {keystore: sig, label: "+bc.label+"}\niss: https://sts.example\naud: [api]\n")
			val := mustStep(b, h, sts.ModeValidate, "signing: {keystore: sig, label: "+bc.label+"}\niss: https://sts.example\naud: [api]\n")
			tok := issueCall(b, iss, benchUser())
			req := &sts.Request{Base: &sts.Token{Data: []byte(tok)}}
			b.ReportAllocs()
			for b.Loop() {
				if err := val.ValidateToken(context.Background(), &sts.Call{Request: req, User: sts.NewSTSUU()}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chainsts/chainsts/mappingrules"
	"github.com/chainsts/chainsts/sts"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "keygen":
		err = keygen(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chainsts-load:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: chainsts-load keygen -dir DIR | run -url URL -key FILE -client ID -secret S [flags]")
	os.Exit(2)
}

func keygen(args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ExitOnError)
	dir := fs.String("dir", ".", "output directory")
	_ = fs.Parse(args)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, "partner-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(*dir, "partner.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}

func readKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block in " + path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an EC key")
	}
	return ek, nil
}

// signES256 makes a compact JWS with a raw r||s signature.
func signES256(k *ecdsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	h, _ := json.Marshal(map[string]any{"alg": "ES256", "typ": "JWT", "kid": kid})
	p, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	sum := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return in + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

type config struct {
	url, client, secret, audience, issuer, kid string
	rulePath, ruleName                         string
	duration, crypto, startup, startupFirst    time.Duration
	concurrency, serverPID                     int
	key                                        *ecdsa.PrivateKey
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var c config
	var keyPath string
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "chainsts base URL")
	fs.StringVar(&keyPath, "key", "", "partner private key (PEM) that signs the subject token")
	fs.StringVar(&c.kid, "kid", "partner-1", "kid of the partner key")
	fs.StringVar(&c.issuer, "iss", "https://partner.example", "subject token issuer")
	fs.StringVar(&c.client, "client", "bench", "client id")
	fs.StringVar(&c.secret, "secret", "", "client secret")
	fs.StringVar(&c.audience, "audience", "https://api.example", "audience of the exchange")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "load duration at maximum throughput")
	fs.DurationVar(&c.crypto, "crypto", 3*time.Second, "duration of the crypto-only loop")
	fs.IntVar(&c.concurrency, "concurrency", 8, "concurrent connections")
	fs.IntVar(&c.serverPID, "server-pid", 0, "server process id, to measure its CPU time per request and its memory")
	fs.StringVar(&c.rulePath, "rule", "", "the chain's mapping rule (JavaScript file), evaluated on its own in the same run")
	fs.StringVar(&c.ruleName, "rule-name", "rule", "the rule's name in the configuration")
	fs.DurationVar(&c.startup, "startup", 0, "start-up to ready the caller measured (data directory in place), printed against the target")
	fs.DurationVar(&c.startupFirst, "startup-first", 0, "start-up to ready of the first start (development keys generated), printed for reference")
	_ = fs.Parse(args)
	var err error
	if c.key, err = readKey(keyPath); err != nil {
		return err
	}
	now := time.Now()
	subject, err := signES256(c.key, c.kid, map[string]any{
		"iss": c.issuer, "sub": "alice", "aud": c.url, "iat": now.Unix(), "exp": now.Add(2 * time.Hour).Unix(),
		"jti": "load-subject", "scope": "read write", "email": "alice@example.com", "groups": []string{"staff", "dev"},
	})
	if err != nil {
		return err
	}
	body := url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {subject},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"},
		"audience":           {c.audience},
		"scope":              {"read"},
	}.Encode()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.client)+":"+url.QueryEscape(c.secret)))
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: c.concurrency * 2, MaxIdleConnsPerHost: c.concurrency * 2, IdleConnTimeout: time.Minute}}
	target := c.url + "/oauth2/token"

	// One request first: fail fast with the server's answer.
	if err := once(client, target, auth, body); err != nil {
		return err
	}
	warm := load(client, target, auth, body, c.concurrency, time.Second, 0)
	_ = warm

	cpu0, _ := cpuTime(c.serverPID)
	max := load(client, target, auth, body, c.concurrency, c.duration, 0)
	cpu1, cpuOK := cpuTime(c.serverPID)
	if max.ok == 0 {
		return fmt.Errorf("no successful request (%d errors): %s", max.errors, max.firstErr)
	}
	paced := load(client, target, auth, body, c.concurrency, c.duration/2, 0.7*max.rps())
	mem, memOK := memory(c.serverPID)

	// The signature work and the rule, measured here in the same run. CPU
	// time, not wall time: other processes on the machine stretch the
	// wall clock but not the CPU an operation needs. The crypto loop runs
	// on every CPU, as the server did under load (a busy machine makes
	// each operation dearer than on an idle core).
	self0 := selfCPU()
	cryptoAll := cryptoLoop(runtime.NumCPU(), c.crypto, c.key)
	cryptoCPU := perOp(selfCPU()-self0, cryptoAll.ok)
	var ruleCPU time.Duration
	if c.rulePath != "" {
		if ruleCPU, err = ruleLoop(c.rulePath, c.ruleName, c.crypto/2); err != nil {
			return err
		}
	}

	fmt.Printf("# token exchange ES256 -> ES256 with one mapping rule, HTTP/1.1 on loopback (%d CPUs shared by server and load generator)\n", runtime.NumCPU())
	fmt.Printf("%-22s %10s %8s %10s %9s %9s %9s\n", "run", "requests", "errors", "req/s", "p50", "p99", "p99.9")
	for _, r := range []struct {
		name string
		s    *stats
	}{{fmt.Sprintf("max (c=%d)", c.concurrency), max}, {"70% of max, paced", paced}} {
		fmt.Printf("%-22s %10d %8d %10.0f %9s %9s %9s\n", r.name, r.s.ok, r.s.errors, r.s.rps(),
			fmtDur(r.s.pct(0.50)), fmtDur(r.s.pct(0.99)), fmtDur(r.s.pct(0.999)))
	}
	line := func(label, format string, a ...any) { fmt.Printf("%-46s "+format+"\n", append([]any{label}, a...)...) }
	line("crypto only (ES256 verify + sign), this run:", "%8s CPU per op (%.0f ops/s on %d goroutines)", fmtDur(cryptoCPU), cryptoAll.rps(), runtime.NumCPU())
	if c.rulePath != "" {
		line("rule only (pooled runtime), this run:", "%8s CPU per evaluation", fmtDur(ruleCPU))
	}
	line("throughput ratio chainsts / crypto only:", "%8.2f", max.rps()/cryptoAll.rps())
	if cpuOK {
		perReq := perOp(cpu1.total()-cpu0.total(), max.ok)
		user, sys := perOp(cpu1.user-cpu0.user, max.ok), perOp(cpu1.sys-cpu0.sys, max.ok)
		line("server CPU per request (max run):", "%8s (user %s, kernel %s)", fmtDur(perReq), fmtDur(user), fmtDur(sys))
		outside := 1 - float64(cryptoCPU+ruleCPU)/float64(perReq)
		line("server CPU outside crypto + rule:", "%7.0f%% (%s per request; PRODUCT §12: <= 25%%): %s",
			100*outside, fmtDur(perReq-cryptoCPU-ruleCPU), verdict(outside <= 0.25))
		if userOut := 1 - float64(cryptoCPU+ruleCPU)/float64(user); user > 0 {
			line("  the same, user CPU only (no kernel TCP):", "%7.0f%%", 100*userOut)
		}
	}
	p99 := paced.pct(0.99)
	line("p99 at 70% of max throughput:", "%8s (PRODUCT §12: <= 10ms): %s", fmtDur(p99), verdict(p99 <= 10*time.Millisecond))
	if memOK {
		line("server RSS after the run:", "%6.0f MB (peak %.0f MB; PRODUCT §12: <= 150 MB): %s",
			mem.rss/1e6, mem.peak/1e6, verdict(mem.peak <= 150e6))
	}
	if c.startup > 0 {
		first := ""
		if c.startupFirst > 0 {
			first = fmt.Sprintf("; first start, keys generated: %.0f ms", float64(c.startupFirst)/float64(time.Millisecond))
		}
		line("start-up to ready (restart of this server):", "%6.0f ms (PRODUCT §12: <= 300 ms): %s%s",
			float64(c.startup)/float64(time.Millisecond), verdict(c.startup <= 300*time.Millisecond), first)
	}
	if max.errors > 0 || paced.errors > 0 {
		return fmt.Errorf("%d requests failed, first: %s", max.errors+paced.errors, max.firstErr+paced.firstErr)
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func perOp(d time.Duration, n int64) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(float64(d) / float64(n))
}

// ruleLoop evaluates the rule the chain runs, on a pooled runtime, over a
// universal user and chain call shaped like the ones the exchange chain
// hands it (the subject token's claims, the request), for d, and returns
// the CPU time per evaluation.
func ruleLoop(path, name string, d time.Duration) (time.Duration, error) {
	// The same generous deadline as the load run's chain: a busy machine
	// should measure a slow evaluation, not fail it.
	cfg := mappingrules.Config{Files: map[string]string{name: path}, PoolSize: 1, Timeout: 2 * time.Second}
	set, err := mappingrules.NewRuleSet(cfg, ".", nil, nil)
	if err != nil {
		return 0, fmt.Errorf("rule: %w", err)
	}
	defer set.Close()
	rule, err := set.Rule(name)
	if err != nil {
		return 0, fmt.Errorf("rule: %w", err)
	}
	u := sts.NewSTSUU()
	u.SetPrincipalName("alice")
	now := time.Now().Unix()
	for _, a := range []*sts.Attribute{
		sts.NewAttribute("iss", sts.TypeJWTClaim, "https://partner.example"), sts.NewAttribute("sub", sts.TypeJWTClaim, "alice"),
		sts.NewAttribute("aud", sts.TypeJWTClaim, "http://127.0.0.1"), sts.NewAttribute("iat", sts.TypeJWTClaim, now),
		sts.NewAttribute("exp", sts.TypeJWTClaim, now+7200), sts.NewAttribute("jti", sts.TypeJWTClaim, "load-subject"),
		sts.NewAttribute("scope", sts.TypeJWTIssueClaim, "read"), sts.NewAttribute("email", sts.TypeJWTClaim, "alice@example.com"),
		sts.NewAttribute("groups", sts.TypeJWTClaim, "staff", "dev"),
	} {
		u.Attributes.Set(a)
	}
	// What the jwt validate step leaves in the context, and the chain call
	// the rule sees as stsrequest.
	u.Context.Set(sts.NewAttribute("claim_json", sts.TypeJWT, `{"iss":"https://partner.example","sub":"alice","scope":"read write","email":"alice@example.com","groups":["staff","dev"]}`))
	u.Context.Set(sts.NewAttribute("header", sts.TypeJWT, `{"alg":"ES256","kid":"partner-1","typ":"JWT"}`))
	call := &sts.Call{
		Request: &sts.Request{ID: "load", Type: sts.RequestExchange, Issuer: "bench", AppliesTo: "https://api.example", TokenType: "urn:ietf:params:oauth:token-type:jwt", ClientID: "bench", Scopes: []string{"read"}},
		User:    u, Chain: "exchange", Step: "rule",
	}
	base := u.Attributes.Clone()
	ctx := context.Background()
	eval := func() error {
		_, err := rule.Evaluate(ctx, mappingrules.Input{User: u, Call: call})
		// Back to the input, so every evaluation sees the same user; the
		// rule adds a few attributes, a slice copy undoes it.
		u.Attributes = append(u.Attributes[:0], base...)
		return err
	}
	for range 100 { // warm the runtime
		if err := eval(); err != nil {
			return 0, fmt.Errorf("rule: %w", err)
		}
	}
	var n int64
	t0 := selfCPU()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); n++ {
		if err := eval(); err != nil {
			return 0, fmt.Errorf("rule: %w", err)
		}
	}
	return perOp(selfCPU()-t0, n), nil
}

func once(client *http.Client, target, auth, body string) error {
	req, _ := http.NewRequest("POST", target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", auth)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"access_token"`)) {
		return fmt.Errorf("token exchange failed: %d %s", resp.StatusCode, b)
	}
	return nil
}

type stats struct {
	ok, errors int64
	elapsed    time.Duration
	lat        []time.Duration
	firstErr   string
}

func (s *stats) rps() float64 { return float64(s.ok) / s.elapsed.Seconds() }

func (s *stats) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	i := int(float64(len(s.lat)-1) * p)
	return s.lat[i]
}

// load runs concurrency workers for d; rate > 0 paces the total request
// rate (open loop per worker), 0 sends as fast as answers come.
func load(client *http.Client, target, auth, body string, concurrency int, d time.Duration, rate float64) *stats {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var ok, errs atomic.Int64
	var mu sync.Mutex
	var all []time.Duration
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1<<14)
			var interval time.Duration
			next := time.Now()
			if rate > 0 {
				interval = time.Duration(float64(time.Second) * float64(concurrency) / rate)
				next = next.Add(time.Duration(w) * interval / time.Duration(concurrency))
			}
			for ctx.Err() == nil {
				if interval > 0 {
					if wait := time.Until(next); wait > 0 {
						select {
						case <-ctx.Done():
						case <-time.After(wait):
						}
						if ctx.Err() != nil {
							break
						}
					}
					next = next.Add(interval)
				}
				t0 := time.Now()
				req, _ := http.NewRequest("POST", target, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", auth)
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
					}
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, strconv.Itoa(resp.StatusCode)+" "+string(b))
					continue
				}
				lat = append(lat, time.Since(t0))
				ok.Add(1)
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(all)
	s := &stats{ok: ok.Load(), errors: errs.Load(), elapsed: time.Since(start), lat: all}
	if v, _ := firstErr.Load().(string); v != "" {
		s.firstErr = v
	}
	return s
}

// cryptoLoop measures the signature work of one exchange: verify an ES256
// JWS of subject-token size, then sign one of access-token size, in n
// goroutines for d.
func cryptoLoop(n int, d time.Duration, k *ecdsa.PrivateKey) *stats {
	in := "eyJhbGciOiJFUzI1NiJ9." + strings.Repeat("x", 400)
	sum := sha256.Sum256([]byte(in))
	r, s, _ := ecdsa.Sign(rand.Reader, k, sum[:])
	var ops atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := []byte(strings.Repeat("y", 350))
			for time.Now().Before(deadline) {
				vs := sha256.Sum256([]byte(in))
				if !ecdsa.Verify(&k.PublicKey, vs[:], r, s) {
					panic("verify failed")
				}
				digest := sha256.Sum256(out)
				sr, ss, err := ecdsa.Sign(rand.Reader, k, digest[:])
				if err != nil || sr.Cmp(big.NewInt(0)) == 0 || ss.Sign() == 0 {
					panic("sign failed")
				}
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	return &stats{ok: ops.Load(), elapsed: time.Since(start)}
}

// selfCPU returns this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is a process's CPU time in user and kernel mode.
type procCPU struct{ user, sys time.Duration }

func (c procCPU) total() time.Duration { return c.user + c.sys }

// cpuTime returns a process's user and system CPU time from /proc.
func cpuTime(pid int) (procCPU, bool) {
	if pid <= 0 {
		return procCPU{}, false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procCPU{}, false
	}
	// Fields after the command name (which may hold spaces) start after ")".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procCPU{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return procCPU{}, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return procCPU{}, false
	}
	const clkTck = 100 // USER_HZ on Linux
	return procCPU{user: time.Duration(ut) * time.Second / clkTck, sys: time.Duration(st) * time.Second / clkTck}, true
}

// procMem is a process's resident memory now and at its peak, in bytes.
type procMem struct{ rss, peak float64 }

// memory reads VmRSS and VmHWM from /proc/PID/status.
func memory(pid int) (procMem, bool) {
	if pid <= 0 {
		return procMem{}, false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procMem{}, false
	}
	var m procMem
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			m.rss = kb * 1024
		case "VmHWM":
			m.peak = kb * 1024
		}
	}
	return m, m.rss > 0
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	}
}

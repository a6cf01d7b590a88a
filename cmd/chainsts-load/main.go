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
	duration, crypto                           time.Duration
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
	fs.IntVar(&c.serverPID, "server-pid", 0, "server process id, to measure its CPU time per request")
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

	cryptoAll := cryptoLoop(runtime.NumCPU(), c.crypto, c.key)
	self0 := selfCPU()
	cryptoOne := cryptoLoop(1, c.crypto, c.key)
	// CPU time, not wall time: other processes on the machine stretch the
	// wall clock but not the CPU an operation needs.
	cryptoCPU := time.Duration(float64(selfCPU()-self0) / float64(cryptoOne.ok))

	fmt.Printf("# token exchange ES256 -> ES256 with one mapping rule, HTTP on loopback (%d CPUs shared by server and load generator)\n", runtime.NumCPU())
	fmt.Printf("%-22s %10s %8s %10s %9s %9s %9s\n", "run", "requests", "errors", "req/s", "p50", "p99", "p99.9")
	for _, r := range []struct {
		name string
		s    *stats
	}{{fmt.Sprintf("max (c=%d)", c.concurrency), max}, {"70% of max, paced", paced}} {
		fmt.Printf("%-22s %10d %8d %10.0f %9s %9s %9s\n", r.name, r.s.ok, r.s.errors, r.s.rps(),
			fmtDur(r.s.pct(0.50)), fmtDur(r.s.pct(0.99)), fmtDur(r.s.pct(0.999)))
	}
	fmt.Printf("%-44s %10.0f ops/s (%d goroutines), %s CPU per op\n", "crypto only (ES256 verify + ES256 sign):", cryptoAll.rps(), runtime.NumCPU(), fmtDur(cryptoCPU))
	fmt.Printf("%-44s %10.2f\n", "ratio chainsts / crypto-only throughput:", max.rps()/cryptoAll.rps())
	if cpuOK {
		perReq := time.Duration(float64(cpu1-cpu0) / float64(max.ok))
		share := float64(cryptoCPU) / float64(perReq)
		fmt.Printf("%-44s %10s per request\n", "server CPU (user+sys):", fmtDur(perReq))
		fmt.Printf("%-44s %10.0f%% (PRODUCT §12: >= 75%%, rule excluded; here HTTP, rule and all included)\n",
			"crypto share of the server's CPU per request:", 100*share)
	}
	if max.errors > 0 || paced.errors > 0 {
		return fmt.Errorf("%d requests failed, first: %s", max.errors+paced.errors, max.firstErr+paced.firstErr)
	}
	return nil
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

func (s *stats) perOp() time.Duration { return time.Duration(float64(s.elapsed) / float64(s.ok)) }

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

// cpuTime returns a process's user+system CPU time from /proc.
func cpuTime(pid int) (time.Duration, bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the command name (which may hold spaces) start after ")".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck, true
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	}
}

package jwt

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chainsts/chainsts/keys"
	"github.com/chainsts/chainsts/sts"
)

// jwksServer serves a mutable JWK Set and counts requests.
type jwksServer struct {
	*httptest.Server
	mu    sync.Mutex
	keys  []*keys.Key
	down  bool
	hits  atomic.Int64
	extra http.HandlerFunc
}

func newJWKSServer(t testing.TB, ks ...*keys.Key) *jwksServer {
	s := &jwksServer{keys: ks}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if s.extra != nil {
			s.extra(w, r)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		set := map[string]any{"keys": []any{}}
		for _, k := range s.keys {
			j, _ := k.PublicJWK()
			set["keys"] = append(set["keys"].([]any), j)
		}
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(down bool, ks ...*keys.Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
	if ks != nil {
		s.keys = ks
	}
}

func remoteHost(t testing.TB, remote string) *testHost {
	h := newHost(t, map[string]string{"keystores": "remote: " + remote + "\n"})
	return h
}

// testClock is a manual clock for the remote JWK Set timers (cooldown,
// staleness): the test moves it, so what a test checks does not depend on
// how fast a loaded machine runs it.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := new(testClock)
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// remoteHostClock is remoteHost with the keystores app's remote sets on clk.
func remoteHostClock(t *testing.T, remote string, clk *testClock) *testHost {
	h := remoteHost(t, remote)
	a, err := h.App("keystores")
	if err != nil {
		t.Fatal(err)
	}
	a.(*keys.App).SetClock(clk.Now)
	return h
}

// waitFor polls cond until it holds, failing the test after a deadline far
// longer than the condition needs on an idle machine: only for events
// driven by real timers (jwkset's background refresh ticker).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRemoteJWKS(t *testing.T) {
	genTestKeys()
	k1, _ := keys.NewKey(keys.KeyOptions{Key: testEC256, Alg: "ES256", KID: "k1"})
	k2, _ := keys.NewKey(keys.KeyOptions{Key: testRSA, Alg: "RS256", KID: "k2"})
	unknown, _ := keys.NewKey(keys.KeyOptions{Key: testEC256, Alg: "ES256", KID: "nope"})
	srv := newJWKSServer(t, k1)
	clk := newTestClock()
	h := remoteHostClock(t, "{refresh_interval: 1h, unknown_kid_cooldown: 1m, max_stale: 2h}", clk)
	m := mustStep(t, h, sts.ModeValidate, "algorithms: [ES256, RS256]\nsigning: {jwks_uri: "+srv.URL+"}\n")
	tok := func(k *keys.Key) string {
		return craft(`{"alg":"`+k.Alg+`","kid":"`+k.KID+`"}`, validClaims(), signWith(t, k))
	}
	accept := func(k *keys.Key, when string) {
		t.Helper()
		if _, err := validateCall(m, tok(k)); err != nil {
			t.Fatalf("%s: kid %s: %v", when, k.KID, err)
		}
	}
	fetches := func(want int64, when string) {
		t.Helper()
		if n := srv.hits.Load(); n != want {
			t.Fatalf("fetches %s = %d, want %d", when, n, want)
		}
	}
	accept(k1, "known kid")
	fetches(1, "after start")

	// Unknown kid: one refetch, then the cooldown refuses further fetches.
	for range 5 {
		wantReject(t, m, tok(unknown), ErrNoKey)
	}
	fetches(2, "after 5 unknown kids (one refetch per cooldown)")

	// A key added upstream is not fetched for until the cooldown is over,
	srv.set(false, k1, k2)
	clk.Advance(time.Minute - time.Millisecond)
	wantReject(t, m, tok(k2), ErrNoKey)
	fetches(2, "for a new kid inside the cooldown")
	// then the unknown-kid refetch finds it.
	clk.Advance(time.Millisecond)
	accept(k2, "new kid after the cooldown")
	fetches(3, "for a new kid after the cooldown")

	// Outage: the refetch fails and the cached keys keep working.
	srv.set(true)
	clk.Advance(time.Minute)
	wantReject(t, m, tok(unknown), ErrNoKey)
	fetches(4, "for an unknown kid during the outage")
	accept(k1, "cached key during the outage")
	accept(k2, "cached key during the outage")

	// Key removal: after the next successful refetch k2 is gone.
	srv.set(false, k1)
	clk.Advance(time.Minute)
	wantReject(t, m, tok(unknown), ErrNoKey)
	fetches(5, "for an unknown kid after the outage")
	wantReject(t, m, tok(k2), ErrNoKey)
	accept(k1, "key still published")
	fetches(5, "in the end")
}

func TestRemoteJWKSStaleBound(t *testing.T) {
	genTestKeys()
	k1, _ := keys.NewKey(keys.KeyOptions{Key: testEC256, Alg: "ES256", KID: "k1"})
	srv := newJWKSServer(t, k1)
	clk := newTestClock()
	h := remoteHostClock(t, "{refresh_interval: 1s, unknown_kid_cooldown: 1h, max_stale: 1h}", clk)
	m := mustStep(t, h, sts.ModeValidate, "algorithms: [ES256]\nsigning: {jwks_uri: "+srv.URL+"}\n")
	good := craft(`{"alg":"ES256","kid":"k1"}`, validClaims(), signWith(t, k1))
	if _, err := validateCall(m, good); err != nil {
		t.Fatal(err)
	}
	// Every request counted after the outage starts is answered 503, so a
	// hit past this point is a failed background refresh.
	srv.set(true)
	before := srv.hits.Load()
	waitFor(t, "a background refresh during the outage", func() bool { return srv.hits.Load() > before })

	// The last success is the start-up fetch (the clock has not moved
	// since): cached keys are served up to max_stale after it, not after.
	clk.Advance(time.Hour)
	if _, err := validateCall(m, good); err != nil {
		t.Fatalf("cached keys within the staleness bound: %v", err)
	}
	clk.Advance(time.Nanosecond)
	_, err := validateCall(m, good)
	if !errors.Is(err, sts.ErrTemporarilyUnavailable) || !errors.Is(err, keys.ErrStaleKeys) {
		t.Fatalf("stale keys past the bound: err = %v, want temporarily_unavailable", err)
	}

	// The next successful background refresh serves the keys again.
	srv.set(false)
	waitFor(t, "a successful background refresh", func() bool {
		_, err := validateCall(m, good)
		return err == nil
	})
}

// Past max_stale a lookup refetches on demand instead of waiting for the
// background refresh: at most one fetch per cooldown while the upstream is
// down (concurrent lookups share it), and the first lookup after the
// cooldown once it is back succeeds.
func TestRemoteJWKSStaleRefetch(t *testing.T) {
	genTestKeys()
	k1, _ := keys.NewKey(keys.KeyOptions{Key: testEC256, Alg: "ES256", KID: "k1"})
	srv := newJWKSServer(t, k1)
	clk := newTestClock()
	// The background refresh (real time, 1h) never runs during the test:
	// every fetch after the first is an on-demand one.
	h := remoteHostClock(t, "{refresh_interval: 1h, unknown_kid_cooldown: 1m, max_stale: 1h}", clk)
	m := mustStep(t, h, sts.ModeValidate, "algorithms: [ES256]\nsigning: {jwks_uri: "+srv.URL+"}\n")
	good := craft(`{"alg":"ES256","kid":"k1"}`, validClaims(), signWith(t, k1))
	noKID := craft(`{"alg":"ES256"}`, validClaims(), signWith(t, k1))
	accept := func(tok, when string) {
		t.Helper()
		if _, err := validateCall(m, tok); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	refuse := func(tok, when string) {
		t.Helper()
		_, err := validateCall(m, tok)
		if !errors.Is(err, sts.ErrTemporarilyUnavailable) || !errors.Is(err, keys.ErrStaleKeys) {
			t.Fatalf("%s: err = %v, want temporarily_unavailable", when, err)
		}
	}
	fetches := func(want int64, when string) {
		t.Helper()
		if n := srv.hits.Load(); n != want {
			t.Fatalf("fetches %s = %d, want %d", when, n, want)
		}
	}
	concurrently := func(n int, f func()) {
		var wg sync.WaitGroup
		for range n {
			wg.Go(f)
		}
		wg.Wait()
	}
	accept(good, "start")
	fetches(1, "after start")

	// Down past max_stale: the first lookup refetches, fails and is
	// refused; the lookups after it, concurrent or not, fetch nothing
	// until the cooldown is over.
	srv.set(true)
	clk.Advance(time.Hour + time.Nanosecond)
	refuse(good, "stale keys, upstream down")
	fetches(2, "for the first stale lookup")
	concurrently(8, func() {
		_, err := validateCall(m, good)
		if !errors.Is(err, keys.ErrStaleKeys) {
			t.Errorf("concurrent stale lookup: err = %v, want stale keys", err)
		}
	})
	refuse(noKID, "stale keys, token without kid")
	clk.Advance(time.Minute - time.Millisecond)
	refuse(good, "stale keys inside the cooldown")
	fetches(2, "inside the cooldown")
	clk.Advance(time.Millisecond)
	for range 5 {
		refuse(good, "stale keys after the cooldown, upstream still down")
	}
	fetches(3, "one cooldown later, upstream still down")

	// Back up: nothing is fetched inside the cooldown, then the next
	// lookup refetches and every lookup is served from the fresh set.
	srv.set(false)
	clk.Advance(time.Minute - time.Millisecond)
	refuse(good, "upstream back, inside the cooldown")
	fetches(3, "upstream back, inside the cooldown")
	clk.Advance(time.Millisecond)
	accept(good, "upstream back, after the cooldown")
	fetches(4, "upstream back, after the cooldown")
	accept(noKID, "fresh keys, token without kid")
	fetches(4, "served from the fresh set")

	// Stale again with the upstream up: concurrent lookups share one fetch
	// and all succeed (tokens without kid take the same path).
	clk.Advance(time.Hour + time.Nanosecond)
	concurrently(8, func() {
		if _, err := validateCall(m, noKID); err != nil {
			t.Errorf("concurrent lookup of stale keys, upstream up: %v", err)
		}
	})
	fetches(5, "for 8 concurrent lookups of stale keys")
}

// A published key without "alg" is bound to the first algorithm of each
// step's allow-list that fits it; steps sharing the set (and its lookup
// cache) keep their own binding, on first lookup and on cached ones.
func TestRemoteJWKSAlgLessKeyPerStep(t *testing.T) {
	genTestKeys()
	kRS := mustKey(t, keys.KeyOptions{Key: testRSA, Alg: "RS256", KID: "r1"})
	kPS := mustKey(t, keys.KeyOptions{Key: testRSA, Alg: "PS256", KID: "r1"})
	srv := newJWKSServer(t)
	srv.extra = func(w http.ResponseWriter, r *http.Request) {
		j, _ := kRS.PublicJWK()
		delete(j, "alg")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{j}})
	}
	h := remoteHost(t, "{}")
	rsFirst := mustStep(t, h, sts.ModeValidate, "algorithms: [RS256, PS256]\nsigning: {jwks_uri: "+srv.URL+"}\n")
	psFirst := mustStep(t, h, sts.ModeValidate, "algorithms: [PS256, RS256]\nsigning: {jwks_uri: "+srv.URL+"}\n")
	tokRS := craft(`{"alg":"RS256","kid":"r1"}`, validClaims(), signWith(t, kRS))
	tokPS := craft(`{"alg":"PS256","kid":"r1"}`, validClaims(), signWith(t, kPS))
	for range 2 {
		if _, err := validateCall(rsFirst, tokRS); err != nil {
			t.Fatalf("RS256 token, key bound to RS256: %v", err)
		}
		wantReject(t, psFirst, tokRS, ErrNoKey)
		if _, err := validateCall(psFirst, tokPS); err != nil {
			t.Fatalf("PS256 token, key bound to PS256: %v", err)
		}
		wantReject(t, rsFirst, tokPS, ErrNoKey)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("fetches = %d, want 1 (one shared set)", n)
	}
}

func TestRemoteJWKSLimits(t *testing.T) {
	genTestKeys()
	k1, _ := keys.NewKey(keys.KeyOptions{Key: testEC256, Alg: "ES256", KID: "k1"})
	target := newJWKSServer(t, k1)
	redirect := newJWKSServer(t)
	redirect.extra = func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target.URL, http.StatusFound) }
	big := newJWKSServer(t)
	big.extra = func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"keys":[],"pad":"` + strings.Repeat("x", 4096) + `"}`))
	}
	h := remoteHost(t, "{max_size: 1024, timeout: 2s}")
	good := craft(`{"alg":"ES256","kid":"k1"}`, validClaims(), signWith(t, k1))
	for name, url := range map[string]string{"redirect": redirect.URL, "oversized": big.URL} {
		t.Run(name, func(t *testing.T) {
			m := mustStep(t, h, sts.ModeValidate, "algorithms: [ES256]\nsigning: {jwks_uri: "+url+"}\n")
			if _, err := validateCall(m, good); err == nil {
				t.Fatal("token accepted through a refused JWKS fetch")
			}
		})
	}
	if n := target.hits.Load(); n != 0 {
		t.Fatalf("redirect was followed (%d hits)", n)
	}
	if _, err := newStep(t, h, sts.ModeValidate, "algorithms: [ES256]\nsigning: {jwks_uri: http://example.com/jwks}\n"); err == nil {
		t.Fatal("plain http to a non-loopback host accepted")
	}
}

func TestRemoteDiscoveryAndRequestOverride(t *testing.T) {
	genTestKeys()
	k1, _ := keys.NewKey(keys.KeyOptions{Key: testEC256, Alg: "ES256", KID: "k1"})
	jw := newJWKSServer(t, k1)
	var issuer string
	disc := newJWKSServer(t)
	disc.extra = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"issuer": issuer, "jwks_uri": jw.URL})
	}
	issuer = disc.URL
	h := remoteHost(t, "{}")
	m := mustStep(t, h, sts.ModeValidate, "algorithms: [ES256]\nissuers: [{iss: "+issuer+", discovery: true}]\n")
	claims := strings.Replace(validClaims(), "https://idp", issuer, 1)
	if _, err := validateCall(m, craft(`{"alg":"ES256","kid":"k1"}`, claims, signWith(t, k1))); err != nil {
		t.Fatalf("discovery: %v", err)
	}

	// Per-request signing.jwksUri: only allow-listed URLs.
	other := newJWKSServer(t, k1)
	ov := mustStep(t, h, sts.ModeValidate, "algorithms: [ES256]\nrequest_jwks_uris: ["+other.URL+"]\n")
	tok := craft(`{"alg":"ES256","kid":"k1"}`, validClaims(), signWith(t, k1))
	call := func(u string) error {
		c := &sts.Call{Request: &sts.Request{Base: &sts.Token{Data: []byte(tok)}, Claims: map[string]any{"signing.jwksUri": u}}, User: sts.NewSTSUU()}
		return ov.ValidateToken(t.Context(), c)
	}
	if err := call(other.URL); err != nil {
		t.Fatalf("allow-listed override: %v", err)
	}
	if err := call(jw.URL); !errors.Is(err, ErrRequestJWKSURI) {
		t.Fatalf("non-listed override: %v", err)
	}
	if err := call(""); err == nil {
		t.Fatal("empty override accepted")
	}
	noOv := mustStep(t, h, sts.ModeValidate, "signing: {jwks_uri: "+jw.URL+", alg: ES256}\n")
	c := &sts.Call{Request: &sts.Request{Base: &sts.Token{Data: []byte(tok)}, Claims: map[string]any{"signing.jwksUri": other.URL}}, User: sts.NewSTSUU()}
	if err := noOv.ValidateToken(t.Context(), c); !errors.Is(err, ErrRequestJWKSURI) {
		t.Fatalf("override on a step that does not allow it: %v", err)
	}
}

// Issue can encrypt to a recipient published in a remote JWK Set.
func TestEncryptToRemoteRecipient(t *testing.T) {
	genTestKeys()
	h := stdHost(t)
	encKey, err := keys.NewKey(keys.KeyOptions{Key: testRSA2, Alg: "RSA-OAEP-256", Use: keys.UseEnc, KID: "rcpt"})
	if err != nil {
		t.Fatal(err)
	}
	srv := newJWKSServer(t, encKey)
	iss := mustStep(t, h, sts.ModeIssue, "signing: {keystore: sig, label: es256}\nencryption: {alg: RSA-OAEP-256, enc: A128GCM, jwks_uri: "+srv.URL+"}\n")
	tok := issueCall(t, iss, nil)
	if strings.Count(tok, ".") != 4 {
		t.Fatalf("not a JWE: %.40s", tok)
	}
	hdr := decodeJWEHeader(t, tok)
	if hdr["kid"] != "rcpt" || hdr["cty"] != "JWT" || hdr["enc"] != "A128GCM" {
		t.Fatalf("JWE header = %v", hdr)
	}
	d := &decrypter{algs: []string{"RSA-OAEP-256"}, encs: []string{"A128GCM"}, keys: []*keys.Key{mustKey(t, keys.KeyOptions{Key: testRSA2, Alg: "RSA-OAEP-256", Use: keys.UseEnc, KID: "rcpt"})}, maxSize: DefaultMaxTokenSize}
	c, err := splitCompact([]byte(tok), DefaultMaxTokenSize)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := d.decrypt(c)
	if err != nil || strings.Count(string(inner), ".") != 2 {
		t.Fatalf("decrypt: %v %q", err, inner)
	}
}

func mustKey(t testing.TB, o keys.KeyOptions) *keys.Key {
	k, err := keys.NewKey(o)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func decodeJWEHeader(t *testing.T, tok string) map[string]any {
	b, err := b64.DecodeString(strings.SplitN(tok, ".", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

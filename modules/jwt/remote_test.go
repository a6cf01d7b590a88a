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

func newJWKSServer(t *testing.T, ks ...*keys.Key) *jwksServer {
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

func remoteHost(t *testing.T, remote string) *testHost {
	h := newHost(t, map[string]string{"keystores": "remote: " + remote + "\n"})
	return h
}

func TestRemoteJWKS(t *testing.T) {
	genTestKeys()
	k1, _ := keys.NewKey(keys.KeyOptions{Key: testEC256, Alg: "ES256", KID: "k1"})
	k2, _ := keys.NewKey(keys.KeyOptions{Key: testRSA, Alg: "RS256", KID: "k2"})
	srv := newJWKSServer(t, k1)
	h := remoteHost(t, "{refresh_interval: 1h, unknown_kid_cooldown: 300ms, max_stale: 2h}")
	m := mustStep(t, h, sts.ModeValidate, "algorithms: [ES256, RS256]\nsigning: {jwks_uri: "+srv.URL+"}\n")
	tok := func(k *keys.Key) string {
		return craft(`{"alg":"`+k.Alg+`","kid":"`+k.KID+`"}`, validClaims(), signWith(t, k))
	}
	if _, err := validateCall(m, tok(k1)); err != nil {
		t.Fatalf("known kid: %v", err)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("fetches after start = %d, want 1", n)
	}

	// Unknown kid: one refetch, then the cooldown refuses further fetches.
	unknown, _ := keys.NewKey(keys.KeyOptions{Key: testEC256, Alg: "ES256", KID: "nope"})
	for range 5 {
		wantReject(t, m, tok(unknown), ErrNoKey)
	}
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("fetches after 5 unknown kids = %d, want 2 (one refetch per cooldown)", n)
	}

	// A key added upstream is found by the unknown-kid refetch once the
	// cooldown has passed.
	srv.set(false, k1, k2)
	time.Sleep(350 * time.Millisecond)
	if _, err := validateCall(m, tok(k2)); err != nil {
		t.Fatalf("new kid after cooldown: %v", err)
	}
	if n := srv.hits.Load(); n != 3 {
		t.Fatalf("fetches = %d, want 3", n)
	}

	// Outage: cached keys keep working.
	srv.set(true)
	time.Sleep(350 * time.Millisecond)
	wantReject(t, m, tok(unknown), ErrNoKey) // triggers a failed refetch
	if _, err := validateCall(m, tok(k1)); err != nil {
		t.Fatalf("cached key during outage: %v", err)
	}

	// Key removal: after the next successful refresh k2 is gone.
	srv.set(false, k1)
	time.Sleep(350 * time.Millisecond)
	wantReject(t, m, tok(unknown), ErrNoKey) // successful refetch without k2
	wantReject(t, m, tok(k2), ErrNoKey)
}

func TestRemoteJWKSStaleBound(t *testing.T) {
	genTestKeys()
	k1, _ := keys.NewKey(keys.KeyOptions{Key: testEC256, Alg: "ES256", KID: "k1"})
	srv := newJWKSServer(t, k1)
	h := remoteHost(t, "{refresh_interval: 1s, unknown_kid_cooldown: 1h, max_stale: 1s}")
	m := mustStep(t, h, sts.ModeValidate, "algorithms: [ES256]\nsigning: {jwks_uri: "+srv.URL+"}\n")
	good := craft(`{"alg":"ES256","kid":"k1"}`, validClaims(), signWith(t, k1))
	if _, err := validateCall(m, good); err != nil {
		t.Fatal(err)
	}
	srv.set(true)
	time.Sleep(2300 * time.Millisecond)
	_, err := validateCall(m, good)
	if !errors.Is(err, sts.ErrTemporarilyUnavailable) || !errors.Is(err, keys.ErrStaleKeys) {
		t.Fatalf("stale keys past the bound: err = %v, want temporarily_unavailable", err)
	}
	if srv.hits.Load() < 2 {
		t.Fatalf("background refresh did not run (hits %d)", srv.hits.Load())
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

func mustKey(t *testing.T, o keys.KeyOptions) *keys.Key {
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

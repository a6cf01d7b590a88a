package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/chainsts/chainsts/keys"
	"github.com/chainsts/chainsts/store"
	"github.com/chainsts/chainsts/sts"
)

// The tests in this file each try one attack of SECURITY §1 and assert
// the specific rejection; docs/security.md lists them per class.

func enc(v any) string {
	b, _ := json.Marshal(v)
	return b64.EncodeToString(b)
}

// craft builds a compact JWS with the given raw header and claims JSON and
// a signature computed by sign over the signing input.
func craft(hdr, claims string, sign func([]byte) []byte) string {
	in := b64.EncodeToString([]byte(hdr)) + "." + b64.EncodeToString([]byte(claims))
	return in + "." + b64.EncodeToString(sign([]byte(in)))
}

func signWith(t testing.TB, k *keys.Key) func([]byte) []byte {
	return func(in []byte) []byte {
		s, err := k.Sign(in)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func validClaims() string {
	now := time.Now().Unix()
	return fmt.Sprintf(`{"iss":"https://idp","sub":"alice","aud":"api","iat":%d,"exp":%d,"jti":"j-%d"}`, now, now+300, time.Now().UnixNano())
}

// secHost has the standard keys and a validate step trusting es256 and
// rs256 for https://idp.
func secValidator(t *testing.T, extra string) (*testHost, *Module) {
	h := stdHost(t)
	m := mustStep(t, h, sts.ModeValidate, `
issuers:
  - iss: https://idp
    keystore: sig
    labels: [es256, rs256]
aud: [api]
`+extra)
	return h, m
}

func wantReject(t *testing.T, m *Module, tok string, reason error) {
	t.Helper()
	_, err := validateCall(m, tok)
	if err == nil {
		t.Fatalf("token accepted, want rejection (%v)", reason)
	}
	if reason != nil && !errors.Is(err, reason) {
		t.Fatalf("rejected with %v, want %v", err, reason)
	}
}

func TestSecurityControlAccepts(t *testing.T) {
	h, m := secValidator(t, "")
	ks := keystoreOf(t, h)
	es, _ := ks.Key("es256")
	tok := craft(`{"alg":"ES256","kid":"`+es.KID+`"}`, validClaims(), signWith(t, es))
	if _, err := validateCall(m, tok); err != nil {
		t.Fatalf("well-formed token refused: %v", err)
	}
}

// §1.1 pre-parse checks.
func TestSecurityPreParse(t *testing.T) {
	h, m := secValidator(t, "max_token_size: 2048\n")
	es, _ := keystoreOf(t, h).Key("es256")
	good := craft(`{"alg":"ES256","kid":"`+es.KID+`"}`, validClaims(), signWith(t, es))
	parts := strings.Split(good, ".")
	huge := craft(`{"alg":"ES256","kid":"`+es.KID+`"}`, `{"iss":"https://idp","sub":"alice","aud":"api","exp":9999999999,"pad":"`+strings.Repeat("x", 3000)+`"}`, signWith(t, es))
	for name, tok := range map[string]string{
		"two parts":         parts[0] + "." + parts[1],
		"four parts":        good + ".x",
		"six parts":         good + ".a.b.c",
		"padding":           parts[0] + "=." + parts[1] + "." + parts[2],
		"whitespace":        " " + good,
		"standard base64":   strings.Replace(good, parts[2], strings.NewReplacer("-", "+", "_", "/").Replace(parts[2])+"+", 1),
		"non-canonical":     parts[0][:len(parts[0])-1] + nonCanonical(parts[0]) + "." + parts[1] + "." + parts[2],
		"oversized":         huge,
		"empty signature":   parts[0] + "." + parts[1] + ".",
		"control character": parts[0] + "\x00." + parts[1] + "." + parts[2],
	} {
		t.Run(name, func(t *testing.T) { wantReject(t, m, tok, ErrMalformed) })
	}
	if _, err := m.val.Verify(context.Background(), nil, VerifyOptions{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty token: err = %v", err)
	}
}

// nonCanonical changes the last character of a base64url segment so that
// unused trailing bits are set, which lenient decoders accept.
func nonCanonical(seg string) string {
	last := seg[len(seg)-1]
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, last)
	if len(seg)%4 == 2 { // 4 unused bits
		return string(alphabet[i|1])
	}
	return string(alphabet[i|1]) // 3 chars: 2 unused bits
}

// §1.1 duplicate JSON members, §1.5 non-numeric dates.
func TestSecurityJSON(t *testing.T) {
	h, m := secValidator(t, "")
	es, _ := keystoreOf(t, h).Key("es256")
	hdr := `{"alg":"ES256","kid":"` + es.KID + `"}`
	exp := time.Now().Unix() + 300
	t.Run("duplicate claim", func(t *testing.T) {
		wantReject(t, m, craft(hdr, fmt.Sprintf(`{"iss":"https://idp","aud":"api","exp":%d,"sub":"alice","sub":"admin"}`, exp), signWith(t, es)), ErrMalformed)
	})
	t.Run("duplicate escaped claim", func(t *testing.T) {
		wantReject(t, m, craft(hdr, fmt.Sprintf(`{"iss":"https://idp","aud":"api","exp":%d,"sub":"alice","\u0073ub":"admin"}`, exp), signWith(t, es)), ErrMalformed)
	})
	t.Run("duplicate nested", func(t *testing.T) {
		wantReject(t, m, craft(hdr, fmt.Sprintf(`{"iss":"https://idp","aud":"api","exp":%d,"cnf":{"jkt":"a","jkt":"b"}}`, exp), signWith(t, es)), ErrMalformed)
	})
	t.Run("duplicate header alg", func(t *testing.T) {
		wantReject(t, m, craft(`{"alg":"ES256","alg":"HS256","kid":"`+es.KID+`"}`, validClaims(), signWith(t, es)), ErrMalformed)
	})
	t.Run("string exp", func(t *testing.T) {
		wantReject(t, m, craft(hdr, fmt.Sprintf(`{"iss":"https://idp","aud":"api","exp":"%d"}`, exp), signWith(t, es)), ErrNumericDate)
	})
	t.Run("string nbf", func(t *testing.T) {
		wantReject(t, m, craft(hdr, fmt.Sprintf(`{"iss":"https://idp","aud":"api","exp":%d,"nbf":"0"}`, exp), signWith(t, es)), ErrNumericDate)
	})
	t.Run("deep nesting", func(t *testing.T) {
		deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
		wantReject(t, m, craft(hdr, fmt.Sprintf(`{"iss":"https://idp","aud":"api","exp":%d,"x":%s}`, exp, deep), signWith(t, es)), ErrMalformed)
	})
}

// §1.2 algorithm from configuration, none, confusion, one alg per key.
func TestSecurityAlgorithms(t *testing.T) {
	h, m := secValidator(t, "")
	ks := keystoreOf(t, h)
	rs, _ := ks.Key("rs256")
	for _, none := range []string{"none", "None", "NONE", "nOnE"} {
		t.Run("alg "+none, func(t *testing.T) {
			tok := b64.EncodeToString([]byte(`{"alg":"`+none+`"}`)) + "." + b64.EncodeToString([]byte(validClaims())) + "."
			wantReject(t, m, tok, nil)
			tok += "c2ln"
			wantReject(t, m, tok, ErrAlgNone)
		})
	}
	t.Run("HS256 signed with the RSA public key", func(t *testing.T) {
		// The classic confusion: the attacker MACs with the public key's
		// PEM bytes, hoping the verifier uses "the key" for HS256.
		der, _ := x509.MarshalPKIXPublicKey(rs.Public)
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		for _, secret := range [][]byte{pemBytes, der} {
			tok := craft(`{"alg":"HS256","kid":"`+rs.KID+`"}`, validClaims(), func(in []byte) []byte {
				mac := hmac.New(sha256.New, secret)
				mac.Write(in)
				return mac.Sum(nil)
			})
			wantReject(t, m, tok, ErrAlgNotAllowed)
		}
	})
	t.Run("HS256 allowed but key is public", func(t *testing.T) {
		// Even when the allow-list has HS256, a public key never verifies
		// a MAC: the key is bound to RS256.
		m2 := mustStep(t, h, sts.ModeValidate, `
algorithms: [RS256, HS256]
issuers:
  - {iss: https://idp, keystore: sig, labels: [rs256]}
`)
		der, _ := x509.MarshalPKIXPublicKey(rs.Public)
		tok := craft(`{"alg":"HS256","kid":"`+rs.KID+`"}`, validClaims(), func(in []byte) []byte {
			mac := hmac.New(sha256.New, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
			mac.Write(in)
			return mac.Sum(nil)
		})
		wantReject(t, m2, tok, ErrNoKey)
	})
	t.Run("RSA key bound to RS256 does not verify PS256", func(t *testing.T) {
		m2 := mustStep(t, h, sts.ModeValidate, `
algorithms: [RS256, PS256]
issuers:
  - {iss: https://idp, keystore: sig, labels: [rs256]}
`)
		// Signed by the same private key, with PSS.
		tok := craft(`{"alg":"PS256","kid":"`+rs.KID+`"}`, validClaims(), func(in []byte) []byte {
			d := sha256.Sum256(in)
			s, _ := rsa.SignPSS(rand.Reader, testRSA, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: 32})
			return s
		})
		wantReject(t, m2, tok, ErrNoKey)
	})
	t.Run("alg not on the allow-list", func(t *testing.T) {
		es384, _ := ks.Key("es384")
		wantReject(t, m, craft(`{"alg":"ES384","kid":"`+es384.KID+`"}`, validClaims(), signWith(t, es384)), ErrAlgNotAllowed)
	})
	t.Run("mixing secrets and public keys is a config error", func(t *testing.T) {
		_, err := newStep(t, h, sts.ModeValidate, `
issuers:
  - {iss: https://idp, keystore: sig, labels: [rs256, hs256]}
`)
		if err == nil || !strings.Contains(err.Error(), "HMAC secrets and public keys") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("none is refused in configuration", func(t *testing.T) {
		if _, err := newStep(t, h, sts.ModeValidate, "algorithms: [none]\nsigning: {keystore: sig}\n"); err == nil {
			t.Fatal("alg none accepted in configuration")
		}
	})
}

// §1.3 header-supplied keys never used nor fetched; hostile kid values.
func TestSecurityHeaderKeys(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"keys":[]}`)
	}))
	defer srv.Close()
	h, m := secValidator(t, "")
	es, _ := keystoreOf(t, h).Key("es256")
	genTestKeys()
	// The attacker's own key, offered in every header parameter.
	attacker, _ := ecdsa.GenerateKey(testEC256.Curve, rand.Reader)
	ak, _ := keys.NewKey(keys.KeyOptions{Key: attacker, Alg: "ES256"})
	jwk, _ := ak.PublicJWK()
	certDER := selfSigned(t, attacker)
	hdr, _ := json.Marshal(map[string]any{
		"alg": "ES256", "kid": es.KID, // the trusted kid, but signed by the attacker
		"jwk": jwk, "jku": srv.URL + "/jwks", "x5u": srv.URL + "/cert",
		"x5c": []string{stdB64(certDER)},
	})
	tok := craft(string(hdr), validClaims(), signWith(t, ak))
	wantReject(t, m, tok, ErrSignature)
	hdr2, _ := json.Marshal(map[string]any{"alg": "ES256", "jwk": jwk, "jku": srv.URL + "/jwks", "x5u": srv.URL + "/c", "x5c": []string{stdB64(certDER)}})
	wantReject(t, m, craft(string(hdr2), validClaims(), signWith(t, ak)), ErrSignature)
	if n := hits.Load(); n != 0 {
		t.Fatalf("header URLs were fetched %d times", n)
	}

	for _, kid := range []string{"../../../../etc/passwd", "/dev/zero", "' OR '1'='1", "$(touch /tmp/pwned)", "`id`", "a\x00b", "http://127.0.0.1:1/", strings.Repeat("k", 300)} {
		t.Run("kid "+fmt.Sprintf("%.20q", kid), func(t *testing.T) {
			hb, _ := json.Marshal(map[string]any{"alg": "ES256", "kid": kid})
			_, err := validateCall(m, craft(string(hb), validClaims(), signWith(t, es)))
			if err == nil || !(errors.Is(err, ErrNoKey) || errors.Is(err, ErrMalformed)) {
				t.Fatalf("hostile kid: err = %v", err)
			}
		})
	}
}

func stdB64(b []byte) string {
	return strings.NewReplacer("-", "+", "_", "/").Replace(b64.EncodeToString(b)) + strings.Repeat("=", (4-len(b64.EncodeToString(b))%4)%4)
}

func selfSigned(t *testing.T, k *ecdsa.PrivateKey) []byte {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// §1.4 crit and typ.
func TestSecurityCritTyp(t *testing.T) {
	h, m := secValidator(t, "")
	es, _ := keystoreOf(t, h).Key("es256")
	t.Run("crit", func(t *testing.T) {
		wantReject(t, m, craft(`{"alg":"ES256","kid":"`+es.KID+`","crit":["exp"],"exp":1}`, validClaims(), signWith(t, es)), ErrCrit)
		wantReject(t, m, craft(`{"alg":"ES256","kid":"`+es.KID+`","crit":["b64"],"b64":false}`, validClaims(), signWith(t, es)), ErrCrit)
	})
	at := mustStep(t, h, sts.ModeValidate, "profile: access_token\nsigning: {keystore: sig, label: es256}\n")
	t.Run("access token profile needs at+jwt", func(t *testing.T) {
		wantReject(t, at, craft(`{"alg":"ES256","kid":"`+es.KID+`","typ":"JWT"}`, validClaims(), signWith(t, es)), ErrTyp)
		wantReject(t, at, craft(`{"alg":"ES256","kid":"`+es.KID+`"}`, validClaims(), signWith(t, es)), ErrTyp)
		if _, err := validateCall(at, craft(`{"alg":"ES256","kid":"`+es.KID+`","typ":"application/at+jwt"}`, validClaims(), signWith(t, es))); err != nil {
			t.Fatalf("at+jwt refused: %v", err)
		}
	})
	as := mustStep(t, h, sts.ModeValidate, "profile: assertion\nsigning: {keystore: sig, label: es256}\n")
	t.Run("assertion refuses access tokens", func(t *testing.T) {
		wantReject(t, as, craft(`{"alg":"ES256","kid":"`+es.KID+`","typ":"at+jwt"}`, validClaims(), signWith(t, es)), ErrTyp)
	})
}

// §1.5 exp required, nbf, iat, lifetime; §1.6 iss, aud.
func TestSecurityClaims(t *testing.T) {
	h, m := secValidator(t, "max_lifetime: 10m\niat_window: 30m\n")
	es, _ := keystoreOf(t, h).Key("es256")
	hdr := `{"alg":"ES256","kid":"` + es.KID + `"}`
	now := time.Now().Unix()
	cases := []struct {
		name   string
		claims string
		want   error
	}{
		{"no exp", fmt.Sprintf(`{"iss":"https://idp","aud":"api","iat":%d}`, now), ErrMissingExp},
		{"expired", fmt.Sprintf(`{"iss":"https://idp","aud":"api","iat":%d,"exp":%d}`, now-600, now-120), ErrExpired},
		{"nbf future", fmt.Sprintf(`{"iss":"https://idp","aud":"api","iat":%d,"exp":%d,"nbf":%d}`, now, now+300, now+200), ErrNotYetValid},
		{"iat future", fmt.Sprintf(`{"iss":"https://idp","aud":"api","iat":%d,"exp":%d}`, now+200, now+300), ErrIssuedInFuture},
		{"iat too old", fmt.Sprintf(`{"iss":"https://idp","aud":"api","iat":%d,"exp":%d}`, now-3600, now+60), ErrTooOld},
		{"lifetime too long", fmt.Sprintf(`{"iss":"https://idp","aud":"api","iat":%d,"exp":%d}`, now, now+3600), ErrLifetime},
		{"wrong iss", fmt.Sprintf(`{"iss":"https://evil","aud":"api","iat":%d,"exp":%d}`, now, now+300), ErrUnknownIssuer},
		{"no iss", fmt.Sprintf(`{"aud":"api","iat":%d,"exp":%d}`, now, now+300), ErrUnknownIssuer},
		{"iss not a string", fmt.Sprintf(`{"iss":["https://idp"],"aud":"api","iat":%d,"exp":%d}`, now, now+300), ErrMalformed},
		{"wrong aud", fmt.Sprintf(`{"iss":"https://idp","aud":"other","iat":%d,"exp":%d}`, now, now+300), ErrAudience},
		{"no aud", fmt.Sprintf(`{"iss":"https://idp","iat":%d,"exp":%d}`, now, now+300), ErrAudience},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantReject(t, m, craft(hdr, tc.claims, signWith(t, es)), tc.want) })
	}
	t.Run("aud array with a match", func(t *testing.T) {
		if _, err := validateCall(m, craft(hdr, fmt.Sprintf(`{"iss":"https://idp","aud":["x","api"],"iat":%d,"exp":%d}`, now, now+300), signWith(t, es))); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("regexp iss and sub", func(t *testing.T) {
		m2 := mustStep(t, h, sts.ModeValidate, "iss: REGEXP:(https://idp[0-9])\nsub: REGEXP:(user-.*)\nsigning: {keystore: sig, label: es256}\n")
		ok := craft(hdr, fmt.Sprintf(`{"iss":"https://idp7","sub":"user-1","exp":%d}`, now+60), signWith(t, es))
		if _, err := validateCall(m2, ok); err != nil {
			t.Fatal(err)
		}
		wantReject(t, m2, craft(hdr, fmt.Sprintf(`{"iss":"https://idp7x","sub":"user-1","exp":%d}`, now+60), signWith(t, es)), ErrUnknownIssuer)
		wantReject(t, m2, craft(hdr, fmt.Sprintf(`{"iss":"https://idp7","sub":"admin","exp":%d}`, now+60), signWith(t, es)), ErrSubject)
	})
	t.Run("leeway is bounded", func(t *testing.T) {
		for _, l := range []string{"6m", "-1s"} {
			if _, err := newStep(t, h, sts.ModeValidate, "signing: {keystore: sig, label: es256}\nleeway: "+l+"\n"); err == nil {
				t.Errorf("leeway %s accepted", l)
			}
		}
		if _, err := newStep(t, h, sts.ModeValidate, "signing: {keystore: sig, label: es256}\nleeway: 5m\n"); err != nil {
			t.Errorf("leeway 5m refused: %v", err)
		}
	})
}

// §1.7 ECDSA encoding and ranges, strict PSS salt, RSA size.
func TestSecuritySignatureEncoding(t *testing.T) {
	h, m := secValidator(t, "")
	es, _ := keystoreOf(t, h).Key("es256")
	hdr := `{"alg":"ES256","kid":"` + es.KID + `"}`
	claims := validClaims()
	n := testEC256.Curve.Params().N
	fixed := func(r, s *big.Int) func([]byte) []byte {
		return func([]byte) []byte {
			out := make([]byte, 64)
			r.FillBytes(out[:32])
			s.FillBytes(out[32:])
			return out
		}
	}
	t.Run("DER signature", func(t *testing.T) {
		wantReject(t, m, craft(hdr, claims, func(in []byte) []byte {
			d := sha256.Sum256(in)
			s, _ := ecdsa.SignASN1(rand.Reader, testEC256, d[:])
			return s
		}), ErrSignature)
	})
	for name, sig := range map[string]func([]byte) []byte{
		"r=0,s=0": fixed(big.NewInt(0), big.NewInt(0)),
		"r=n,s=1": fixed(n, big.NewInt(1)),
		"r=1,s=n": fixed(big.NewInt(1), n),
		"truncated": func(in []byte) []byte {
			s, _ := es.Sign(in)
			return s[:63]
		},
		"padded": func(in []byte) []byte {
			s, _ := es.Sign(in)
			return append([]byte{0}, s...)
		},
		// r||0x00||s: read as r and s split at the curve size, the values
		// still verify; only the exact-length rule refuses it.
		"s left-padded with a zero byte": func(in []byte) []byte {
			s, _ := es.Sign(in)
			return append(append(append([]byte{}, s[:32]...), 0), s[32:]...)
		},
	} {
		t.Run(name, func(t *testing.T) { wantReject(t, m, craft(hdr, claims, sig), ErrSignature) })
	}
	t.Run("PSS with a salt length other than the hash size", func(t *testing.T) {
		ps := mustStep(t, h, sts.ModeValidate, "signing: {keystore: sig, label: ps256}\n")
		pk, _ := keystoreOf(t, h).Key("ps256")
		for _, salt := range []int{0, 20, 64} {
			tok := craft(`{"alg":"PS256","kid":"`+pk.KID+`"}`, validClaims(), func(in []byte) []byte {
				d := sha256.Sum256(in)
				s, err := rsa.SignPSS(rand.Reader, testRSA, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: salt})
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
			wantReject(t, ps, tok, ErrSignature)
		}
		if _, err := validateCall(ps, craft(`{"alg":"PS256","kid":"`+pk.KID+`"}`, validClaims(), signWith(t, pk))); err != nil {
			t.Fatalf("salt = hash size refused: %v", err)
		}
	})
	t.Run("RSA 1024 refused at load", func(t *testing.T) {
		small, _ := rsa.GenerateKey(rand.Reader, 1024)
		if _, err := keys.NewKey(keys.KeyOptions{Key: &small.PublicKey, Alg: "RS256"}); !errors.Is(err, keys.ErrWeakKey) {
			t.Fatalf("err = %v", err)
		}
	})
}

// §1.8 JWE: PBES2, zip, RSA1_5, decrypted size.
func TestSecurityJWE(t *testing.T) {
	h := newHost(t, map[string]string{"keystores": `
stores:
  enc:
    dir: enc
    keys:
      rsa: {alg: RSA-OAEP-256, use: enc}
  sig:
    dir: keys
    keys: {rs256: {alg: RS256}}
`})
	writeKeyDir(t, h.dir+"/keys")
	genTestKeys()
	if err := writeOne(h.dir+"/enc/rsa.pem", testRSA2); err != nil {
		t.Fatal(err)
	}
	val := mustStep(t, h, sts.ModeValidate, "signing: {keystore: sig, label: es256}\nencryption: {keystore: enc, max_decrypted_size: 4096}\n")
	es, _ := keystoreOf(t, h).Key("es256")
	inner := craft(`{"alg":"ES256","kid":"`+es.KID+`"}`, validClaims(), signWith(t, es))
	mk := func(alg jose.KeyAlgorithm, key any, opts *jose.EncrypterOptions, pt string) string {
		e, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: alg, Key: key}, opts)
		if err != nil {
			t.Fatal(err)
		}
		o, err := e.Encrypt([]byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := o.CompactSerialize()
		return s
	}
	t.Run("control: nested JWT decrypts", func(t *testing.T) {
		if _, err := validateCall(val, mk(jose.RSA_OAEP_256, &testRSA2.PublicKey, (&jose.EncrypterOptions{}).WithContentType("JWT"), inner)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("PBES2", func(t *testing.T) {
		wantReject(t, val, mk(jose.PBES2_HS256_A128KW, "password", nil, inner), ErrEncryption)
	})
	t.Run("zip", func(t *testing.T) {
		wantReject(t, val, mk(jose.RSA_OAEP_256, &testRSA2.PublicKey, &jose.EncrypterOptions{Compression: jose.DEFLATE}, inner), ErrEncryption)
	})
	t.Run("RSA1_5 off by default", func(t *testing.T) {
		wantReject(t, val, mk(jose.RSA1_5, &testRSA2.PublicKey, nil, inner), ErrEncryption)
	})
	t.Run("decrypted size bounded", func(t *testing.T) {
		wantReject(t, val, mk(jose.RSA_OAEP_256, &testRSA2.PublicKey, nil, inner+strings.Repeat("A", 5000)), ErrEncryption)
	})
	t.Run("unsigned plaintext", func(t *testing.T) {
		wantReject(t, val, mk(jose.RSA_OAEP_256, &testRSA2.PublicKey, nil, validClaims()), ErrMalformed)
	})
	t.Run("issue signs then encrypts", func(t *testing.T) {
		iss := mustStep(t, h, sts.ModeIssue, "signing: {keystore: sig, label: es256}\nencryption: {alg: RSA-OAEP-256, keystore: enc, label: rsa}\n")
		tok := issueCall(t, iss, nil)
		if strings.Count(tok, ".") != 4 {
			t.Fatalf("not a JWE: %q", tok)
		}
		if _, err := validateCall(val, tok); err != nil {
			t.Fatal(err)
		}
	})
}

func writeOne(path string, k any) error {
	if err := mkdirFor(path); err != nil {
		return err
	}
	return keys.WritePrivateKeyPEM(path, k)
}

// §1.9 replays: one atomic use per jti, even concurrently.
func TestSecurityReplay(t *testing.T) {
	h := stdHost(t)
	h.apps["fixed:store"] = newMemReplays()
	m := mustStep(t, h, sts.ModeValidate, "signing: {keystore: sig, label: es256}\nreplay: {enabled: true}\n")
	es, _ := keystoreOf(t, h).Key("es256")
	tok := craft(`{"alg":"ES256","kid":"`+es.KID+`"}`, validClaims(), signWith(t, es))
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := validateCall(m, tok); err == nil {
				ok.Add(1)
			} else if !errors.Is(err, ErrReplay) {
				t.Errorf("unexpected error %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d concurrent uses accepted, want exactly 1", ok.Load())
	}
	noJTI := craft(`{"alg":"ES256","kid":"`+es.KID+`"}`, fmt.Sprintf(`{"exp":%d}`, time.Now().Unix()+60), signWith(t, es))
	wantReject(t, m, noJTI, ErrMissingClaim)

	// A store that cannot answer refuses the token with 503: the replay
	// check is never skipped (SECURITY §5.2).
	hf := stdHost(t)
	hf.apps["fixed:store"] = failingReplays{}
	mf := mustStep(t, hf, sts.ModeValidate, "signing: {keystore: sig, label: es256}\nreplay: {enabled: true}\n")
	esf, _ := keystoreOf(t, hf).Key("es256")
	if _, err := validateCall(mf, craft(`{"alg":"ES256","kid":"`+esf.KID+`"}`, validClaims(), signWith(t, esf))); !errors.Is(err, sts.ErrTemporarilyUnavailable) {
		t.Fatalf("store outage: err = %v, want temporarily_unavailable", err)
	}
}

// failingReplays is a replay store that cannot answer.
type failingReplays struct{}

func (failingReplays) UseOnce(context.Context, string, string, time.Time) error {
	return errors.New("store unreachable")
}

// memReplays implements store.Replays atomically for the replay test.
type memReplays struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func newMemReplays() *memReplays { return &memReplays{seen: map[string]time.Time{}} }

func (r *memReplays) UseOnce(_ context.Context, ns, id string, exp time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := ns + "\x00" + id
	if e, ok := r.seen[k]; ok && time.Now().Before(e) {
		return store.ErrAlreadyUsed
	}
	r.seen[k] = exp
	return nil
}

var _ store.Replays = (*memReplays)(nil)

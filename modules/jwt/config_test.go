package jwt

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chainsts/chainsts/keys"
	"github.com/chainsts/chainsts/sts"
)

// SECURITY §1.3: a key trusted for one issuer never verifies another
// issuer's tokens, even with the right kid.
func TestIssuersKeyedByIssAndKid(t *testing.T) {
	h := stdHost(t)
	ks := keystoreOf(t, h)
	es, _ := ks.Key("es256")
	rs, _ := ks.Key("rs256")
	m := mustStep(t, h, sts.ModeValidate, `
issuers:
  - {iss: https://a, keystore: sig, labels: [es256]}
  - {iss: https://b, keystore: sig, labels: [rs256]}
`)
	now := time.Now().Unix()
	claims := func(iss string) string {
		return `{"iss":"` + iss + `","exp":` + itoa(now+60) + `}`
	}
	if _, err := validateCall(m, craft(`{"alg":"ES256","kid":"`+es.KID+`"}`, claims("https://a"), signWith(t, es))); err != nil {
		t.Fatal(err)
	}
	if _, err := validateCall(m, craft(`{"alg":"RS256","kid":"`+rs.KID+`"}`, claims("https://b"), signWith(t, rs))); err != nil {
		t.Fatal(err)
	}
	// Issuer b's key signing a token that claims issuer a.
	wantReject(t, m, craft(`{"alg":"RS256","kid":"`+rs.KID+`"}`, claims("https://a"), signWith(t, rs)), ErrAlgNotAllowed)
	// With the same algorithm for both issuers, the kid of b's key under
	// iss a finds no key: keys are looked up among a's keys only.
	m2 := mustStep(t, h, sts.ModeValidate, `
issuers:
  - {iss: https://a, keystore: sig, labels: [rs256]}
  - {iss: https://b, keystore: sig, labels: [other]}
`)
	other, _ := ks.Key("other")
	wantReject(t, m2, craft(`{"alg":"RS256","kid":"`+other.KID+`"}`, claims("https://a"), signWith(t, other)), ErrNoKey)
	if _, err := validateCall(m2, craft(`{"alg":"RS256","kid":"`+other.KID+`"}`, claims("https://b"), signWith(t, other))); err != nil {
		t.Fatal(err)
	}
}

func TestValidateWithCertificate(t *testing.T) {
	h := stdHost(t)
	genTestKeys()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &testRSA2.PublicKey, testRSA2)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(h.dir, "idp.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	m := mustStep(t, h, sts.ModeValidate, "signing: {certificate: idp.crt, alg: PS256}\n")
	k, _ := keys.NewKey(keys.KeyOptions{Key: testRSA2, Alg: "PS256"})
	tok := craft(`{"alg":"PS256"}`, `{"exp":`+itoa(time.Now().Unix()+60)+`}`, signWith(t, k))
	if _, err := validateCall(m, tok); err != nil {
		t.Fatal(err)
	}
	// The same key signing RS256 is refused: the certificate's key is bound to PS256.
	k2, _ := keys.NewKey(keys.KeyOptions{Key: testRSA2, Alg: "RS256"})
	wantReject(t, m, craft(`{"alg":"RS256"}`, `{"exp":`+itoa(time.Now().Unix()+60)+`}`, signWith(t, k2)), ErrAlgNotAllowed)
	// A private key file is refused as a "certificate".
	if _, err := newStep(t, h, sts.ModeValidate, "signing: {certificate: keys/rs256.pem}\n"); err == nil || !strings.Contains(err.Error(), "private") {
		t.Fatalf("private key accepted as certificate: %v", err)
	}
}

func TestSigningOverrides(t *testing.T) {
	h := stdHost(t)
	u := func(attrs ...*sts.Attribute) *sts.STSUU {
		x := sts.NewSTSUU()
		x.SetPrincipalName("alice")
		x.Context = append(x.Context, attrs...)
		return x
	}
	override := sts.NewAttribute("signing.cert", sts.TypeJWT, "rs256")
	plain := mustStep(t, h, sts.ModeIssue, "signing: {keystore: sig, label: es256}\n")
	hdr, _ := decodeClaims(t, issueCall(t, plain, u(override)))
	if hdr["alg"] != "ES256" {
		t.Fatalf("override applied without allow_overrides: %v", hdr)
	}
	allowed := mustStep(t, h, sts.ModeIssue, "signing: {keystore: sig, label: es256}\nallow_overrides: [signing.cert, signing.alg]\n")
	hdr, _ = decodeClaims(t, issueCall(t, allowed, u(override)))
	if hdr["alg"] != "RS256" {
		t.Fatalf("allowed override not applied: %v", hdr)
	}
	// An override naming a key bound to another alg fails closed.
	c := &sts.Call{Request: &sts.Request{}, User: u(override, sts.NewAttribute("signing.alg", sts.TypeJWT, "PS256"))}
	if err := allowed.IssueToken(t.Context(), c); err == nil {
		t.Fatal("override with a mismatched alg issued a token")
	}
	c = &sts.Call{Request: &sts.Request{}, User: u(sts.NewAttribute("signing.alg", sts.TypeJWT, "none"))}
	if err := allowed.IssueToken(t.Context(), c); err == nil {
		t.Fatal(`signing.alg "none" issued a token`)
	}
	if _, err := newStep(t, h, sts.ModeIssue, "signing: {keystore: sig, label: es256}\nallow_overrides: [signing.jwksUri]\n"); err == nil {
		t.Fatal("unknown override name accepted")
	}
}

func TestIssueConfigFailsClosed(t *testing.T) {
	h := newHost(t, map[string]string{"keystores": `
stores:
  pub: {files: [pub.pem]}
`})
	genTestKeys()
	der, _ := x509.MarshalPKIXPublicKey(&testEC256.PublicKey)
	os.WriteFile(filepath.Join(h.dir, "pub.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	_, err := newStep(t, h, sts.ModeIssue, "signing: {keystore: pub}\n")
	var ce *sts.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "no signing key") {
		t.Fatalf("public-only keystore accepted for signing: %v", err)
	}
	if _, err := newStep(t, h, sts.ModeIssue, "signing: {keystore: nope}\n"); err == nil {
		t.Fatal("dangling keystore accepted")
	}
	if _, err := newStep(t, h, sts.ModeValidate, "signing: {keystore: pub}\nlifetime: 1h\n"); err == nil {
		t.Fatal("issue-only key accepted on a validate step")
	}
}

func TestIDTokenProfile(t *testing.T) {
	h := stdHost(t)
	m := mustStep(t, h, sts.ModeIssue, "profile: id_token\nsigning: {keystore: sig, label: es256}\niss: https://op\naud: [rp]\n")
	u := sts.NewSTSUU()
	u.SetPrincipalName("alice")
	u.Attributes.Add(sts.NewAttribute("nonce", sts.TypeJWTIssueClaim, "n-1"))
	_, c := decodeClaims(t, issueCall(t, m, u))
	for _, n := range []string{"iss", "sub", "aud", "exp", "iat", "nonce"} {
		if c[n] == nil {
			t.Fatalf("id_token lacks %s: %v", n, c)
		}
	}
	val := mustStep(t, h, sts.ModeValidate, "profile: id_token\nsigning: {keystore: sig, label: es256}\niss: https://op\naud: [rp]\n")
	if _, err := validateCall(val, issueCall(t, m, u)); err != nil {
		t.Fatal(err)
	}
}

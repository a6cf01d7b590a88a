package jwt

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/chainsts/chainsts/keys"
	"github.com/chainsts/chainsts/sts"
)

// RFC 7515 Appendix A.1: HS256. The JWS verifies; the JWT layer refuses it
// because its exp (2011) has passed.
const (
	rfc7515A1Key   = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
	rfc7515A1Token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

func TestRFC7515A1(t *testing.T) {
	secret, _ := b64.DecodeString(rfc7515A1Key)
	k, err := keys.NewKey(keys.KeyOptions{Key: secret, Alg: "HS256"})
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyJWSWithKeys(rfc7515A1Token, []*keys.Key{k}); err != nil {
		t.Fatalf("RFC 7515 A.1 JWS refused: %v", err)
	}
	h := newHost(t, nil)
	m := mustStep(t, h, sts.ModeValidate, "signing: {symmetric_key: {value: "+rfc7515A1Key+", encoding: base64url, alg: HS256}}\n")
	if _, err := validateCall(m, rfc7515A1Token); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired RFC 7515 A.1 JWT: err = %v, want expired", err)
	}
	// One flipped signature bit is refused.
	bad := rfc7515A1Token[:len(rfc7515A1Token)-2] + "Xj"
	if err := verifyJWSWithKeys(bad, []*keys.Key{k}); err == nil {
		t.Fatal("modified signature accepted")
	}
}

// RFC 8037 Appendix A.4: Ed25519 signing is deterministic, so chainsts's
// signature must equal the RFC's byte for byte.
func TestRFC8037Ed25519(t *testing.T) {
	seed, _ := b64.DecodeString("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
	priv := ed25519.NewKeyFromSeed(seed)
	if x := b64.EncodeToString(priv.Public().(ed25519.PublicKey)); x != "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" {
		t.Fatalf("public key %s", x)
	}
	k, err := keys.NewKey(keys.KeyOptions{Key: priv, Alg: "EdDSA"})
	if err != nil {
		t.Fatal(err)
	}
	const want = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
	input := want[:strings.LastIndexByte(want, '.')]
	sig, err := k.Sign([]byte(input))
	if err != nil {
		t.Fatal(err)
	}
	if got := input + "." + b64.EncodeToString(sig); got != want {
		t.Fatalf("RFC 8037 A.4 signature differs:\n got %s\nwant %s", got, want)
	}
	if err := verifyJWSWithKeys(want, []*keys.Key{k}); err != nil {
		t.Fatal(err)
	}
}

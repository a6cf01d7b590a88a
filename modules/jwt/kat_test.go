package jwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

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

// RFC 7515 Appendix A.2 (RS256, byte-exact: PKCS#1 v1.5 is deterministic),
// A.3 (ES256) and A.4 (ES512). The A.2 and A.3 payload is A.1's claim set,
// whose exp has passed: the JWS layer accepts them, the JWT layer refuses.
const (
	rfc7515Payload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
	rfc7515A2N     = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
	rfc7515A2D     = "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ"
	rfc7515A2P     = "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc"
	rfc7515A2Q     = "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc"
	rfc7515A2Sig   = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
	rfc7515A3X     = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
	rfc7515A3Y     = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
	rfc7515A3Sig   = "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
	rfc7515A4X     = "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk"
	rfc7515A4Y     = "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"
	rfc7515A4Token = "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn"
)

func bigB64(t *testing.T, s string) *big.Int {
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return new(big.Int).SetBytes(b)
}

func TestRFC7515A2(t *testing.T) {
	priv := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: bigB64(t, rfc7515A2N), E: 65537}, D: bigB64(t, rfc7515A2D),
		Primes: []*big.Int{bigB64(t, rfc7515A2P), bigB64(t, rfc7515A2Q)}}
	priv.Precompute()
	if err := priv.Validate(); err != nil {
		t.Fatal(err)
	}
	k, err := keys.NewKey(keys.KeyOptions{Key: priv, Alg: "RS256"})
	if err != nil {
		t.Fatal(err)
	}
	input := "eyJhbGciOiJSUzI1NiJ9." + rfc7515Payload
	sig, err := k.Sign([]byte(input))
	if err != nil {
		t.Fatal(err)
	}
	if got := b64.EncodeToString(sig); got != rfc7515A2Sig {
		t.Fatalf("RS256 signature differs from RFC 7515 A.2:\n got %s\nwant %s", got, rfc7515A2Sig)
	}
	if err := verifyJWSWithKeys(input+"."+rfc7515A2Sig, []*keys.Key{k}); err != nil {
		t.Fatal(err)
	}
}

func TestRFC7515A3A4(t *testing.T) {
	for _, tc := range []struct {
		name, x, y, alg, token string
		curve                  elliptic.Curve
		jwt                    bool
	}{
		{"A.3 ES256", rfc7515A3X, rfc7515A3Y, "ES256", "eyJhbGciOiJFUzI1NiJ9." + rfc7515Payload + "." + rfc7515A3Sig, elliptic.P256(), true},
		{"A.4 ES512", rfc7515A4X, rfc7515A4Y, "ES512", rfc7515A4Token, elliptic.P521(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub := &ecdsa.PublicKey{Curve: tc.curve, X: bigB64(t, tc.x), Y: bigB64(t, tc.y)}
			k, err := keys.NewKey(keys.KeyOptions{Key: pub, Alg: tc.alg})
			if err != nil {
				t.Fatal(err)
			}
			if err := verifyJWSWithKeys(tc.token, []*keys.Key{k}); err != nil {
				t.Fatalf("RFC JWS refused: %v", err)
			}
			bad := []byte(tc.token)
			bad[len(bad)-2] ^= 1
			if err := verifyJWSWithKeys(string(bad), []*keys.Key{k}); err == nil {
				t.Fatal("modified signature accepted")
			}
			if tc.jwt {
				// As a JWT the RFC token (exp 2011) is refused.
				v := &Validator{maxSize: DefaultMaxTokenSize, algs: []string{tc.alg}, validateExp: true, now: time.Now,
					issuers: []*trustedIssuer{{algs: []string{tc.alg}, static: map[string][]*keys.Key{"": {k}}}}}
				if _, err := v.Verify(context.Background(), []byte(tc.token), VerifyOptions{}); !errors.Is(err, ErrExpired) {
					t.Fatalf("expired RFC JWT: err = %v", err)
				}
			}
		})
	}
}

package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Key uses.
const (
	UseSig = "sig"
	UseEnc = "enc"
)

// Key is one labelled key, bound to exactly one algorithm. Asymmetric keys
// carry their public half and, when the private half is held, a
// crypto.Signer; HMAC and AES keys carry their secret. A Key is immutable
// after load and safe for concurrent use.
type Key struct {
	// Store is the name of the keystore holding the key ("" for keys
	// outside any keystore, e.g. from a remote JWK Set).
	Store string
	// Label is the key's name within its keystore (ISAM signing.cert).
	Label string
	// KID is the JWS/JWE "kid": the RFC 7638 thumbprint unless configured.
	KID string
	// Alg is the one algorithm the key is used with (a JWS alg, or a JWE key
	// management alg for encryption keys).
	Alg string
	// Use is "sig" or "enc".
	Use string
	// Public is the public key (*rsa.PublicKey, *ecdsa.PublicKey,
	// ed25519.PublicKey); nil for symmetric keys.
	Public crypto.PublicKey
	// Signer signs with the private half; nil for public-only keys. An
	// HSM/KMS signer plugs in here.
	Signer crypto.Signer
	// Private is the in-memory private key when there is one (needed for
	// JWE decryption); nil for public-only keys and external signers.
	Private crypto.PrivateKey
	// Secret is the symmetric key of an HMAC or AES key.
	Secret []byte
	// Certificates is the X.509 chain the key came with, leaf first.
	Certificates []*x509.Certificate
	// Generated is true for a development key chainsts generated.
	Generated bool

	alg *Algorithm // nil for JWE keys
	// weakSecret marks an HMAC secret loaded under AllowWeak: it verifies
	// but never signs.
	weakSecret bool
}

// Algorithm returns the JWS algorithm of a signing key, or nil for an
// encryption key.
func (k *Key) Algorithm() *Algorithm { return k.alg }

// IsSymmetric reports whether the key is a shared secret.
func (k *Key) IsSymmetric() bool { return k.Secret != nil }

// CanSign reports whether the key can produce signatures.
func (k *Key) CanSign() bool { return k.Use == UseSig && (k.Signer != nil || k.Secret != nil) }

// String names the key for logs and errors without any key material.
func (k *Key) String() string {
	return fmt.Sprintf("%s/%s (kid %q, %s)", k.Store, k.Label, k.KID, k.Alg)
}

// ErrWrongAlgorithm is returned when a key is asked to sign or verify with
// an algorithm it is not bound to.
var ErrWrongAlgorithm = errors.New("key is not bound to this algorithm")

// Sign returns the JWS signature over signingInput (the ASCII
// "header.payload") with the key's algorithm: PKCS#1 v1.5 or PSS with salt
// length equal to the hash size for RSA, raw fixed-length r||s for ECDSA
// (RFC 7518 §3.4), Ed25519 over the message, HMAC for secrets. It fails
// closed: a public-only key cannot sign.
func (k *Key) Sign(signingInput []byte) ([]byte, error) {
	a := k.alg
	if a == nil || k.Use != UseSig {
		return nil, fmt.Errorf("key %s: %w", k, ErrWrongAlgorithm)
	}
	if a.Family == FamilyHMAC {
		if k.Secret == nil || k.weakSecret {
			return nil, fmt.Errorf("key %s: no usable secret: cannot sign", k)
		}
		m := hmac.New(a.Hash.New, k.Secret)
		m.Write(signingInput)
		return m.Sum(nil), nil
	}
	if k.Signer == nil {
		return nil, fmt.Errorf("key %s has no private key: cannot sign", k)
	}
	if a.Family == FamilyEdDSA {
		return k.Signer.Sign(rand.Reader, signingInput, crypto.Hash(0))
	}
	h := a.Hash.New()
	h.Write(signingInput)
	digest := h.Sum(nil)
	switch a.Family {
	case FamilyRSA:
		return k.Signer.Sign(rand.Reader, digest, a.Hash)
	case FamilyRSAPSS:
		return k.Signer.Sign(rand.Reader, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: a.Hash})
	case FamilyECDSA:
		der, err := k.Signer.Sign(rand.Reader, digest, a.Hash)
		if err != nil {
			return nil, err
		}
		return ecdsaDERToRaw(der, (a.Curve.Params().BitSize+7)/8)
	}
	return nil, fmt.Errorf("key %s: unsupported family %s", k, a.Family)
}

// ecdsaDERToRaw converts an ASN.1 ECDSA signature into JWS's fixed-length
// big-endian r||s.
func ecdsaDERToRaw(der []byte, size int) ([]byte, error) {
	var r, s []byte
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() {
		return nil, errors.New("malformed ECDSA signature from signer")
	}
	r, s = trimZeros(r), trimZeros(s)
	if len(r) > size || len(s) > size {
		return nil, errors.New("ECDSA signature component too long")
	}
	out := make([]byte, 2*size)
	copy(out[size-len(r):size], r)
	copy(out[2*size-len(s):], s)
	return out, nil
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// Verify checks a JWS signature made with alg over signingInput. The key
// must be bound to alg (SECURITY §1.2): an RSA key bound to RS256 does not
// verify PS256, and a public key never verifies an HS* MAC. RSA and RSA-PSS
// go through golang-jwt's methods (PS* being chainsts's strict ones);
// ECDSA, EdDSA and HMAC are checked directly with crypto/*, with the same
// rules: an ECDSA signature is exactly the raw r||s of the curve's size,
// and a MAC is compared in constant time.
func (k *Key) Verify(alg string, signingInput string, sig []byte) error {
	return k.VerifyBytes(alg, []byte(signingInput), sig)
}

// VerifyBytes is Verify for a signing input held as bytes (the hot path:
// no copy for ECDSA, EdDSA and HMAC).
func (k *Key) VerifyBytes(alg string, signingInput, sig []byte) error {
	a := k.alg
	if a == nil || a.Name != alg || k.Use != UseSig {
		return ErrWrongAlgorithm
	}
	switch a.Family {
	case FamilyHMAC:
		m := hmac.New(a.Hash.New, k.Secret)
		m.Write(signingInput)
		var buf [64]byte
		if !hmac.Equal(m.Sum(buf[:0]), sig) {
			return ErrBadSignature
		}
		return nil
	case FamilyECDSA:
		pub := k.Public.(*ecdsa.PublicKey)
		size := (a.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return ErrBadSignature
		}
		h := a.Hash.New()
		h.Write(signingInput)
		var buf [64]byte
		// The JOSE form R || S becomes the DER form crypto/ecdsa verifies,
		// on the stack; VerifyASN1 refuses r or s outside [1, n-1].
		var der [2*(2+1+66) + 3]byte
		if !ecdsa.VerifyASN1(pub, h.Sum(buf[:0]), ecdsaDER(der[:0], sig[:size], sig[size:])) {
			return ErrBadSignature
		}
		return nil
	case FamilyEdDSA:
		if !ed25519.Verify(k.Public.(ed25519.PublicKey), signingInput, sig) {
			return ErrBadSignature
		}
		return nil
	case FamilyRSA, FamilyRSAPSS:
		// crypto/rsa directly rather than through golang-jwt's method,
		// which copies the signing input twice; PS* verify with the same
		// strict options as StrictPS256 and its siblings.
		pub, ok := k.Public.(*rsa.PublicKey)
		if !ok {
			return ErrWrongAlgorithm
		}
		h := a.Hash.New()
		h.Write(signingInput)
		var buf [64]byte
		var err error
		if a.Family == FamilyRSA {
			err = rsa.VerifyPKCS1v15(pub, a.Hash, h.Sum(buf[:0]), sig)
		} else {
			err = rsa.VerifyPSS(pub, a.Hash, h.Sum(buf[:0]), sig, a.method.(*jwt.SigningMethodRSAPSS).VerifyOptions)
		}
		if err != nil {
			return ErrBadSignature
		}
		return nil
	}
	return a.method.Verify(string(signingInput), sig, k.Public)
}

// ecdsaDER appends the DER SEQUENCE of the two big-endian integers r and s
// (RFC 3279 Ecdsa-Sig-Value) in minimal form, so that crypto/ecdsa's
// strict parser accepts exactly one encoding per signature. r and s are at
// most 66 bytes (P-521).
func ecdsaDER(b, r, s []byte) []byte {
	r, s = bytes.TrimLeft(r, "\x00"), bytes.TrimLeft(s, "\x00")
	intLen := func(v []byte) int {
		if len(v) == 0 || v[0]&0x80 != 0 {
			return len(v) + 1 // a leading zero: non-negative, or the value 0
		}
		return len(v)
	}
	n := 2 + intLen(r) + 2 + intLen(s)
	b = append(b, 0x30)
	if n >= 0x80 {
		b = append(b, 0x81)
	}
	b = append(b, byte(n))
	for _, v := range [][]byte{r, s} {
		l := intLen(v)
		b = append(b, 0x02, byte(l))
		if l > len(v) {
			b = append(b, 0)
		}
		b = append(b, v...)
	}
	return b
}

// ErrBadSignature is returned by Verify for a signature that does not
// verify.
var ErrBadSignature = errors.New("signature does not verify")

// b64 is the unpadded base64url encoding JOSE uses.
var b64 = base64.RawURLEncoding

// PublicJWK returns the public JWK of an asymmetric key with kid, kty, alg
// and use, and nothing private (RFC 7517). Symmetric keys have no public
// form and return an error.
func (k *Key) PublicJWK() (map[string]any, error) {
	m, err := publicJWKMembers(k.Public)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", k, err)
	}
	m["kid"] = k.KID
	m["alg"] = k.Alg
	m["use"] = k.Use
	return m, nil
}

// publicJWKMembers returns the required public members of a key's JWK.
func publicJWKMembers(pub crypto.PublicKey) (map[string]any, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return map[string]any{"kty": "RSA", "n": b64.EncodeToString(p.N.Bytes()),
			"e": b64.EncodeToString(big.NewInt(int64(p.E)).Bytes())}, nil
	case *ecdsa.PublicKey:
		crv, err := curveName(p.Curve)
		if err != nil {
			return nil, err
		}
		size := (p.Curve.Params().BitSize + 7) / 8
		raw, err := p.Bytes() // uncompressed point: 0x04 || X || Y
		if err != nil {
			return nil, err
		}
		return map[string]any{"kty": "EC", "crv": crv,
			"x": b64.EncodeToString(raw[1 : 1+size]), "y": b64.EncodeToString(raw[1+size:])}, nil
	case ed25519.PublicKey:
		return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64.EncodeToString(p)}, nil
	}
	return nil, fmt.Errorf("no public JWK form for %T", pub)
}

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url) of a
// public key: the hash of the required members in lexicographic order.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	m, err := publicJWKMembers(pub)
	if err != nil {
		return "", err
	}
	// encoding/json sorts map keys and writes no whitespace, which is
	// exactly RFC 7638 §3's canonical form for these string members.
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return b64.EncodeToString(sum[:]), nil
}

// Fingerprint returns a short, non-reversible name for a token or secret for
// logs (SECURITY §4.1): the first 12 base64url characters of its SHA-256.
func Fingerprint(b []byte) string {
	sum := sha256.Sum256(b)
	return b64.EncodeToString(sum[:9])
}

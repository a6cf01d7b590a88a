package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
)

// MinRSABits is the smallest RSA modulus chainsts accepts (SECURITY §1.7).
const MinRSABits = 2048

// ErrWeakKey marks a key refused because it is too weak (short RSA modulus,
// short HMAC secret).
var ErrWeakKey = errors.New("key too weak")

// KeyOptions describe a key to build with NewKey.
type KeyOptions struct {
	Store string
	Label string
	// Alg binds the key to one algorithm; empty infers it from the key
	// (RSA → RS256 or RSA-OAEP-256, EC → ES256/384/512 by curve or ECDH-ES,
	// Ed25519 → EdDSA, secrets → HS256).
	Alg string
	// KID overrides the RFC 7638 thumbprint (for secrets, the label).
	KID string
	// Use is "sig" (default) or "enc".
	Use string
	// Key is a private key (*rsa.PrivateKey, *ecdsa.PrivateKey,
	// ed25519.PrivateKey, or any crypto.Signer), a public key, or a []byte
	// secret.
	Key any
	// Certificates is the X.509 chain of the key, leaf first; the leaf must
	// hold the key's public half.
	Certificates []*x509.Certificate
	// AllowWeak loads weak keys (returning ErrWeakKey wrapped in a
	// *WeakKeyWarning) instead of refusing them. Weak keys never sign.
	AllowWeak bool
}

// WeakKeyWarning is returned with a usable key when AllowWeak let a weak key
// load; the caller logs it.
type WeakKeyWarning struct{ Err error }

func (w *WeakKeyWarning) Error() string { return w.Err.Error() }
func (w *WeakKeyWarning) Unwrap() error { return w.Err }

// NewKey validates key material and binds it to one algorithm. It refuses
// unknown key types and curves, algorithms that do not fit the key, RSA
// moduli under MinRSABits and HMAC secrets shorter than the hash (unless
// AllowWeak, which returns the key together with a *WeakKeyWarning).
func NewKey(o KeyOptions) (*Key, error) {
	k := &Key{Store: o.Store, Label: o.Label, KID: o.KID, Use: o.Use, Certificates: o.Certificates}
	if k.Use == "" {
		k.Use = UseSig
	}
	if k.Use != UseSig && k.Use != UseEnc {
		return nil, fmt.Errorf("use %q: must be sig or enc", k.Use)
	}
	var weak error
	switch m := o.Key.(type) {
	case []byte:
		if len(m) == 0 {
			return nil, errors.New("empty secret")
		}
		k.Secret = append([]byte(nil), m...)
	case *rsa.PrivateKey:
		k.Signer, k.Private, k.Public = m, m, &m.PublicKey
	case *ecdsa.PrivateKey:
		k.Signer, k.Private, k.Public = m, m, &m.PublicKey
	case ed25519.PrivateKey:
		k.Signer, k.Private, k.Public = m, m, m.Public()
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		k.Public = m
	case *ed25519.PrivateKey:
		k.Signer, k.Private, k.Public = *m, *m, m.Public()
	case crypto.Signer:
		// An external signer (HSM, KMS): only the public half is in memory.
		k.Signer, k.Public = m, m.Public()
	default:
		return nil, fmt.Errorf("unsupported key type %T", o.Key)
	}
	family := familyUnknown
	switch p := k.Public.(type) {
	case *rsa.PublicKey:
		family = FamilyRSA
		if p.N.BitLen() < MinRSABits {
			weak = fmt.Errorf("%w: RSA key of %d bits (minimum %d)", ErrWeakKey, p.N.BitLen(), MinRSABits)
		}
	case *ecdsa.PublicKey:
		family = FamilyECDSA
		if _, err := curveName(p.Curve); err != nil {
			return nil, err
		}
	case ed25519.PublicKey:
		family = FamilyEdDSA
		if len(p) != ed25519.PublicKeySize {
			return nil, errors.New("malformed Ed25519 key")
		}
	case nil:
		family = FamilyHMAC
	default:
		return nil, fmt.Errorf("unsupported public key type %T", k.Public)
	}
	if o.Alg == "" {
		o.Alg = inferAlg(k, family)
		if o.Alg == "" {
			return nil, errors.New("alg must be configured for this key")
		}
	}
	if IsNone(o.Alg) {
		return nil, errors.New(`alg "none" is never allowed`)
	}
	k.Alg = o.Alg
	if k.Use == UseSig {
		a, ok := LookupAlgorithm(o.Alg)
		if !ok {
			return nil, fmt.Errorf("unknown signing algorithm %q", o.Alg)
		}
		af := a.Family
		if af == FamilyRSAPSS {
			af = FamilyRSA
		}
		if af != family {
			return nil, fmt.Errorf("algorithm %s does not fit a %s key", o.Alg, family)
		}
		if a.Family == FamilyECDSA && k.Public.(*ecdsa.PublicKey).Curve != a.Curve {
			return nil, fmt.Errorf("algorithm %s needs curve %s", o.Alg, a.Curve.Params().Name)
		}
		if a.Family == FamilyHMAC && len(k.Secret) < a.MinSecret {
			weak = fmt.Errorf("%w: %s secret of %d bytes (minimum %d)", ErrWeakKey, o.Alg, len(k.Secret), a.MinSecret)
		}
		k.alg = a
	} else {
		f, ok := IsJWEKeyAlgorithm(o.Alg)
		if !ok {
			return nil, fmt.Errorf("unknown key encryption algorithm %q", o.Alg)
		}
		if f != family {
			return nil, fmt.Errorf("algorithm %s does not fit a %s key", o.Alg, family)
		}
	}
	if len(o.Certificates) > 0 && k.Public != nil {
		leaf, ok := o.Certificates[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !leaf.Equal(k.Public) {
			return nil, errors.New("certificate does not hold the key's public half")
		}
	}
	if k.KID == "" {
		var err error
		// A secret's thumbprint is a hash of the secret, which would help
		// an offline guess of a weak one: secrets are named by label.
		if k.Secret != nil {
			k.KID = o.Label
		} else if k.KID, err = Thumbprint(k.Public); err != nil {
			return nil, err
		}
	}
	if weak != nil {
		if !o.AllowWeak {
			return nil, weak
		}
		// A weak key may verify (where the operator accepted the risk) but
		// never signs (SECURITY §4.3: signing fails closed).
		k.Signer, k.Private = nil, nil
		if k.Secret != nil && k.Use == UseSig {
			k.weakSecret = true
		}
		return k, &WeakKeyWarning{Err: weak}
	}
	return k, nil
}

func inferAlg(k *Key, f Family) string {
	switch f {
	case FamilyRSA:
		if k.Use == UseEnc {
			return "RSA-OAEP-256"
		}
		return "RS256"
	case FamilyECDSA:
		if k.Use == UseEnc {
			return "ECDH-ES"
		}
		return esAlgForCurve(k.Public.(*ecdsa.PublicKey).Curve)
	case FamilyEdDSA:
		return "EdDSA"
	case FamilyHMAC:
		if k.Use == UseSig {
			return "HS256"
		}
	}
	return ""
}

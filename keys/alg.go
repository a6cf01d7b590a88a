package keys

import (
	"crypto"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"sort"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Family is the kind of key an algorithm needs.
type Family string

// The key families.
const (
	FamilyRSA     Family = "RSA"     // RS256/384/512 (PKCS#1 v1.5)
	FamilyRSAPSS  Family = "RSA-PSS" // PS256/384/512
	FamilyECDSA   Family = "EC"      // ES256/384/512
	FamilyEdDSA   Family = "OKP"     // EdDSA (Ed25519)
	FamilyHMAC    Family = "oct"     // HS256/384/512
	familyUnknown Family = ""
)

// Algorithm is a JWS algorithm (RFC 7518 §3, RFC 8037) chainsts signs and
// verifies with.
type Algorithm struct {
	// Name is the JWS "alg" value.
	Name string
	// Family is the key family the algorithm needs.
	Family Family
	// Hash is the digest the signature covers (0 for EdDSA, which signs the
	// message itself).
	Hash crypto.Hash
	// Curve is the curve an ES* algorithm requires.
	Curve elliptic.Curve
	// MinSecret is the minimum HMAC secret length in bytes (RFC 7518 §3.2:
	// at least the hash size).
	MinSecret int

	method jwt.SigningMethod
}

// Method returns the golang-jwt signing method that verifies this algorithm.
// For PS* it is chainsts's strict method (salt length = hash length).
func (a *Algorithm) Method() jwt.SigningMethod { return a.method }

// strictPSS builds an RSA-PSS signing method whose verifier insists on the
// salt length RFC 7518 §3.5 prescribes (equal to the hash size). golang-jwt's
// own PS* methods verify with PSSSaltLengthAuto and so accept any salt
// length (SECURITY §1.7).
func strictPSS(name string, h crypto.Hash) *jwt.SigningMethodRSAPSS {
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
	return &jwt.SigningMethodRSAPSS{
		SigningMethodRSA: &jwt.SigningMethodRSA{Name: name, Hash: h},
		Options:          opts,
		VerifyOptions:    opts,
	}
}

// StrictPS256, StrictPS384 and StrictPS512 are the strict RSA-PSS methods.
// They are registered with golang-jwt under the standard names, replacing
// the lenient ones for every user of golang-jwt in the process.
var (
	StrictPS256 = strictPSS("PS256", crypto.SHA256)
	StrictPS384 = strictPSS("PS384", crypto.SHA384)
	StrictPS512 = strictPSS("PS512", crypto.SHA512)
)

var algorithms = map[string]*Algorithm{}

func init() {
	for _, m := range []*jwt.SigningMethodRSAPSS{StrictPS256, StrictPS384, StrictPS512} {
		jwt.RegisterSigningMethod(m.Alg(), func() jwt.SigningMethod { return m })
	}
	add := func(a *Algorithm) { algorithms[a.Name] = a }
	add(&Algorithm{Name: "RS256", Family: FamilyRSA, Hash: crypto.SHA256, method: jwt.SigningMethodRS256})
	add(&Algorithm{Name: "RS384", Family: FamilyRSA, Hash: crypto.SHA384, method: jwt.SigningMethodRS384})
	add(&Algorithm{Name: "RS512", Family: FamilyRSA, Hash: crypto.SHA512, method: jwt.SigningMethodRS512})
	add(&Algorithm{Name: "PS256", Family: FamilyRSAPSS, Hash: crypto.SHA256, method: StrictPS256})
	add(&Algorithm{Name: "PS384", Family: FamilyRSAPSS, Hash: crypto.SHA384, method: StrictPS384})
	add(&Algorithm{Name: "PS512", Family: FamilyRSAPSS, Hash: crypto.SHA512, method: StrictPS512})
	add(&Algorithm{Name: "ES256", Family: FamilyECDSA, Hash: crypto.SHA256, Curve: elliptic.P256(), method: jwt.SigningMethodES256})
	add(&Algorithm{Name: "ES384", Family: FamilyECDSA, Hash: crypto.SHA384, Curve: elliptic.P384(), method: jwt.SigningMethodES384})
	add(&Algorithm{Name: "ES512", Family: FamilyECDSA, Hash: crypto.SHA512, Curve: elliptic.P521(), method: jwt.SigningMethodES512})
	add(&Algorithm{Name: "EdDSA", Family: FamilyEdDSA, method: jwt.SigningMethodEdDSA})
	add(&Algorithm{Name: "HS256", Family: FamilyHMAC, Hash: crypto.SHA256, MinSecret: 32, method: jwt.SigningMethodHS256})
	add(&Algorithm{Name: "HS384", Family: FamilyHMAC, Hash: crypto.SHA384, MinSecret: 48, method: jwt.SigningMethodHS384})
	add(&Algorithm{Name: "HS512", Family: FamilyHMAC, Hash: crypto.SHA512, MinSecret: 64, method: jwt.SigningMethodHS512})
}

// LookupAlgorithm returns the JWS algorithm with the exact (case-sensitive)
// name. "none" is never an algorithm here.
func LookupAlgorithm(name string) (*Algorithm, bool) {
	a, ok := algorithms[name]
	return a, ok
}

// AlgorithmNames lists the supported JWS algorithms, sorted.
func AlgorithmNames() []string {
	out := make([]string, 0, len(algorithms))
	for n := range algorithms {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// IsNone reports whether alg is the unsecured "none" algorithm in any
// capitalisation (SECURITY §1.2).
func IsNone(alg string) bool { return strings.EqualFold(strings.TrimSpace(alg), "none") }

// JWE key management and content encryption algorithms chainsts accepts
// (RFC 7518 §4, §5). PBES2 is deliberately absent (SECURITY §1.8); RSA1_5 is
// accepted only where a step enables it.
var (
	jweKeyAlgs = map[string]Family{
		"RSA-OAEP": FamilyRSA, "RSA-OAEP-256": FamilyRSA, "RSA1_5": FamilyRSA,
		"ECDH-ES": FamilyECDSA, "ECDH-ES+A128KW": FamilyECDSA, "ECDH-ES+A192KW": FamilyECDSA, "ECDH-ES+A256KW": FamilyECDSA,
		"A128KW": FamilyHMAC, "A192KW": FamilyHMAC, "A256KW": FamilyHMAC, "dir": FamilyHMAC,
		"A128GCMKW": FamilyHMAC, "A192GCMKW": FamilyHMAC, "A256GCMKW": FamilyHMAC,
	}
	jweContentAlgs = map[string]bool{
		"A128GCM": true, "A192GCM": true, "A256GCM": true,
		"A128CBC-HS256": true, "A192CBC-HS384": true, "A256CBC-HS512": true,
	}
)

// IsJWEKeyAlgorithm reports whether name is a JWE key management algorithm
// chainsts supports, and the key family it needs.
func IsJWEKeyAlgorithm(name string) (Family, bool) {
	f, ok := jweKeyAlgs[name]
	return f, ok
}

// IsJWEContentAlgorithm reports whether name is a supported JWE content
// encryption algorithm ("enc").
func IsJWEContentAlgorithm(name string) bool { return jweContentAlgs[name] }

// curveName returns the JWK "crv" name of a supported NIST curve.
func curveName(c elliptic.Curve) (string, error) {
	switch c {
	case elliptic.P256():
		return "P-256", nil
	case elliptic.P384():
		return "P-384", nil
	case elliptic.P521():
		return "P-521", nil
	}
	return "", fmt.Errorf("unsupported curve %v", c.Params().Name)
}

// esAlgForCurve returns the ES* algorithm a curve implies.
func esAlgForCurve(c elliptic.Curve) string {
	switch c {
	case elliptic.P256():
		return "ES256"
	case elliptic.P384():
		return "ES384"
	case elliptic.P521():
		return "ES512"
	}
	return ""
}

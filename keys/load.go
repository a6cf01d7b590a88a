package keys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/MicahParks/jwkset"
)

// LoadedKey is key material read from a file, before it is bound to an
// algorithm.
type LoadedKey struct {
	// Label is the file's base name without extension, or for a JWK Set
	// member its kid (or "<file>-<index>").
	Label string
	// Key is the private key, public key or []byte secret.
	Key any
	// Certificates is the X.509 chain found with the key.
	Certificates []*x509.Certificate
	// Alg, KID, Use and KeyOps are the JWK's own members, when the file was
	// a JWK.
	Alg, KID, Use string
	KeyOps        []string
	// Secret reports whether the material is private (a private key or a
	// secret), which is what the file permission rule protects.
	Secret bool
	// File is where it came from.
	File string

	generated bool
}

// keyFileExts are the file extensions a keystore directory is scanned for.
var keyFileExts = map[string]bool{".pem": true, ".key": true, ".crt": true, ".cer": true, ".json": true, ".jwk": true, ".jwks": true}

// ErrLoosePermissions marks a private key file readable by others.
var ErrLoosePermissions = errors.New("key file permissions are wider than 0600")

// CheckPermissions returns ErrLoosePermissions (wrapped) when a file holding
// private material is accessible by anyone but its owner, or has any bit
// beyond 0600 set (SECURITY §4.2).
func CheckPermissions(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&^0o600 != 0 {
		return fmt.Errorf("%s has mode %04o: %w", path, perm, ErrLoosePermissions)
	}
	return nil
}

// LoadFile reads the keys in one PEM, JWK or JWK Set file.
func LoadFile(path string) ([]LoadedKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	trimmed := bytes.TrimSpace(data)
	var out []LoadedKey
	if len(trimmed) > 0 && trimmed[0] == '{' {
		out, err = parseJWKFile(trimmed, base)
	} else {
		var lk LoadedKey
		lk, err = parsePEM(data)
		lk.Label = base
		out = []LoadedKey{lk}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i := range out {
		out[i].File = path
	}
	return out, nil
}

// ParsePEM reads one key (and its certificates) from PEM data: a private
// key in PKCS#1 ("RSA PRIVATE KEY"), PKCS#8 ("PRIVATE KEY") or SEC1 ("EC
// PRIVATE KEY") form, optionally followed by its certificate chain; or a
// public key ("PUBLIC KEY", "RSA PUBLIC KEY"); or certificates alone, whose
// leaf supplies a verify-only public key.
func ParsePEM(data []byte) (LoadedKey, error) { return parsePEM(data) }

func parsePEM(data []byte) (LoadedKey, error) {
	var lk LoadedKey
	var priv, pub any
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		var err error
		switch b.Type {
		case "RSA PRIVATE KEY":
			//lint:ignore SA1019 detecting an encrypted key to refuse it, not decrypting it
			if x509.IsEncryptedPEMBlock(b) {
				return lk, errors.New("encrypted PEM keys are not supported")
			}
			err = setOnce(&priv, b.Type, func() (any, error) { return x509.ParsePKCS1PrivateKey(b.Bytes) })
		case "PRIVATE KEY":
			err = setOnce(&priv, b.Type, func() (any, error) { return x509.ParsePKCS8PrivateKey(b.Bytes) })
		case "EC PRIVATE KEY":
			err = setOnce(&priv, b.Type, func() (any, error) { return x509.ParseECPrivateKey(b.Bytes) })
		case "PUBLIC KEY":
			err = setOnce(&pub, b.Type, func() (any, error) { return x509.ParsePKIXPublicKey(b.Bytes) })
		case "RSA PUBLIC KEY":
			err = setOnce(&pub, b.Type, func() (any, error) { return x509.ParsePKCS1PublicKey(b.Bytes) })
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(b.Bytes); err == nil {
				lk.Certificates = append(lk.Certificates, c)
			}
		case "EC PARAMETERS":
			// openssl ecparam writes the curve name before the key; the key
			// itself names its curve.
		case "ENCRYPTED PRIVATE KEY":
			return lk, errors.New("encrypted PEM keys are not supported")
		default:
			return lk, fmt.Errorf("unsupported PEM block %q", b.Type)
		}
		if err != nil {
			return lk, fmt.Errorf("PEM block %q: %w", b.Type, err)
		}
	}
	switch {
	case priv != nil:
		lk.Key, lk.Secret = priv, true
	case pub != nil:
		lk.Key = pub
	case len(lk.Certificates) > 0:
		lk.Key = lk.Certificates[0].PublicKey
	default:
		return lk, errors.New("no PEM key or certificate found")
	}
	if k, ok := lk.Key.(*ed25519.PrivateKey); ok {
		lk.Key = *k
	}
	return lk, nil
}

func setOnce(dst *any, typ string, parse func() (any, error)) error {
	if *dst != nil {
		return fmt.Errorf("more than one key in the file (%s)", typ)
	}
	v, err := parse()
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

// parseJWKFile reads a JWK or a JWK Set.
func parseJWKFile(data []byte, base string) ([]LoadedKey, error) {
	var probe struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if probe.Keys == nil {
		lk, err := ParseJWK(data)
		if err != nil {
			return nil, err
		}
		lk.Label = base
		if lk.KID != "" {
			lk.Label = lk.KID
		}
		return []LoadedKey{lk}, nil
	}
	out := make([]LoadedKey, 0, len(probe.Keys))
	for i, raw := range probe.Keys {
		lk, err := ParseJWK(raw)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		lk.Label = base + "-" + strconv.Itoa(i)
		if lk.KID != "" {
			lk.Label = lk.KID
		}
		out = append(out, lk)
	}
	return out, nil
}

// ParseJWK reads one JWK (RFC 7517) with its private members when present.
func ParseJWK(data []byte) (LoadedKey, error) {
	var lk LoadedKey
	j, err := jwkset.NewJWKFromRawJSON(data, jwkset.JWKMarshalOptions{Private: true},
		jwkset.JWKValidateOptions{SkipX5UScheme: true})
	if err != nil {
		return lk, fmt.Errorf("invalid JWK: %w", err)
	}
	m := j.Marshal()
	if m.X5U != "" {
		// A key file naming a URL for its certificates would make loading
		// depend on the network; keystores are local.
		return lk, errors.New("JWK x5u is not supported in keystores")
	}
	lk.Alg, lk.KID, lk.Use = string(m.ALG), m.KID, string(m.USE)
	for _, op := range m.KEYOPS {
		lk.KeyOps = append(lk.KeyOps, string(op))
	}
	lk.Certificates = j.X509().X5C
	switch k := j.Key().(type) {
	case []byte:
		lk.Key, lk.Secret = k, true
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
		lk.Key, lk.Secret = k, true
	case ed25519.PrivateKey:
		lk.Key, lk.Secret = k, true
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		lk.Key = k
	default:
		return lk, fmt.Errorf("unsupported JWK key type %T", k)
	}
	return lk, nil
}

// CheckKeyOps refuses a JWK whose key_ops (RFC 7517 §4.3) do not allow
// the use it is loaded for: a signing key must list sign or verify, an
// encryption key one of encrypt, decrypt, wrapKey, unwrapKey,
// deriveKey, deriveBits.
func (lk LoadedKey) CheckKeyOps(use string) error {
	if len(lk.KeyOps) == 0 {
		return nil
	}
	allowed := map[string][]string{UseSig: {"sign", "verify"},
		UseEnc: {"encrypt", "decrypt", "wrapKey", "unwrapKey", "deriveKey", "deriveBits"}}[use]
	for _, op := range lk.KeyOps {
		for _, a := range allowed {
			if op == a {
				return nil
			}
		}
	}
	return fmt.Errorf("key_ops %v do not allow use %q", lk.KeyOps, use)
}

// LoadDir reads every key file (*.pem, *.key, *.crt, *.cer, *.json, *.jwk,
// *.jwks) in dir, in name order. Files holding private material must not be
// readable by others: with strictPerms the first such file is an error,
// otherwise it is reported through warn.
func LoadDir(dir string, strictPerms bool, warn func(error)) ([]LoadedKey, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() && keyFileExts[strings.ToLower(filepath.Ext(e.Name()))] {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var out []LoadedKey
	for _, n := range names {
		p := filepath.Join(dir, n)
		lks, err := LoadFile(p)
		if err != nil {
			return nil, err
		}
		for _, lk := range lks {
			if lk.Secret {
				if err := CheckPermissions(p); err != nil {
					if strictPerms {
						return nil, err
					}
					warn(err)
				}
				break
			}
		}
		out = append(out, lks...)
	}
	return out, nil
}

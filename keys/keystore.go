package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Keystore is a named set of labelled keys (ISAM signing.db). It is built
// once at load and read concurrently afterwards.
type Keystore struct {
	// Name is the keystore's configured name.
	Name string
	// Public marks a keystore whose public keys are published at /jwks.json.
	Public bool

	keys    []*Key
	byLabel map[string]*Key
	byKID   map[string][]*Key
}

// NewKeystore returns a keystore holding keys. Labels must be unique.
func NewKeystore(name string, public bool, keys ...*Key) (*Keystore, error) {
	s := &Keystore{Name: name, Public: public, byLabel: map[string]*Key{}, byKID: map[string][]*Key{}}
	for _, k := range keys {
		if err := s.add(k); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Keystore) add(k *Key) error {
	if _, dup := s.byLabel[k.Label]; dup {
		return fmt.Errorf("keystore %q: label %q used twice", s.Name, k.Label)
	}
	k.Store = s.Name
	s.keys = append(s.keys, k)
	s.byLabel[k.Label] = k
	s.byKID[k.KID] = append(s.byKID[k.KID], k)
	return nil
}

// Keys returns the keys in load order.
func (s *Keystore) Keys() []*Key { return s.keys }

// Key returns the key with the label.
func (s *Keystore) Key(label string) (*Key, bool) {
	k, ok := s.byLabel[label]
	return k, ok
}

// KeysByKID returns the keys with the kid (several when one key material
// is loaded under several labels and algorithms).
func (s *Keystore) KeysByKID(kid string) []*Key { return s.byKID[kid] }

// SigningKey returns the first key that can sign with alg, or nil.
func (s *Keystore) SigningKey(alg string) *Key {
	for _, k := range s.keys {
		if k.Alg == alg && k.CanSign() {
			return k
		}
	}
	return nil
}

// Dev key file names, one per generated algorithm.
const (
	DevES256File = "es256.pem"
	DevRS256File = "rs256.pem"
)

// EnsureDevKeys makes sure dir holds a development ES256 (P-256) and RS256
// (RSA-2048) private key, generating each missing one once. Existing files
// are never regenerated or rewritten, so tokens signed before a restart stay
// valid. Files are written with mode 0600 in a 0700 directory. It returns
// the files it created.
func EnsureDevKeys(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("dev keys: %w", err)
	}
	var created []string
	for _, spec := range []struct {
		file string
		gen  func() (any, error)
	}{
		{DevES256File, func() (any, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }},
		{DevRS256File, func() (any, error) { return rsa.GenerateKey(rand.Reader, 2048) }},
	} {
		p := filepath.Join(dir, spec.file)
		if _, err := os.Stat(p); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return created, fmt.Errorf("dev keys: %w", err)
		}
		k, err := spec.gen()
		if err != nil {
			return created, fmt.Errorf("dev keys: generate %s: %w", spec.file, err)
		}
		if err := WritePrivateKeyPEM(p, k); err != nil {
			return created, fmt.Errorf("dev keys: %w", err)
		}
		created = append(created, p)
	}
	return created, nil
}

// WritePrivateKeyPEM writes a private key as PKCS#8 PEM to a new file with
// mode 0600. It never overwrites an existing file: the file is created
// exclusively, so two processes starting at once cannot both write it.
func WritePrivateKeyPEM(path string, key any) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

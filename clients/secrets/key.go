package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// NewKey returns KeySize random bytes.
func NewKey() []byte {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(err)
	}
	return k
}

// EncodeKey writes a key the way key files and variables hold it.
func EncodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// DecodeKey reads a base64 (standard or URL alphabet, padded or not) key of
// KeySize bytes.
func DecodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("key must be %d bytes, got %d", KeySize, len(k))
			}
			return k, nil
		}
	}
	return nil, errors.New("key is not base64")
}

// ReadKeyFile reads a base64 key file. Files readable by group or others
// are refused: a key anyone on the machine can read protects nothing.
func ReadKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s has mode %v: make it readable by its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := DecodeKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// WriteKeyFile creates a key file with mode 0600; it never overwrites an
// existing file.
func WriteKeyFile(path string, k []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(EncodeKey(k) + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadOrCreateKeyFile reads the key file at path, creating it with a new
// random key when it does not exist. created reports whether it did.
func LoadOrCreateKeyFile(path string) (k []byte, created bool, err error) {
	k, err = ReadKeyFile(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return k, false, err
	}
	k = NewKey()
	if err := WriteKeyFile(path, k); err != nil {
		if errors.Is(err, os.ErrExist) {
			// Another process created it first: use theirs.
			k, err = ReadKeyFile(path)
			return k, false, err
		}
		return nil, false, err
	}
	return k, true, nil
}

// Generate returns a new client secret: 256 random bits written with the
// unreserved characters of RFC 3986 (base64url without padding, 43
// characters), so it needs no escaping in HTTP Basic credentials, forms or
// URLs.
func Generate() string {
	return base64.RawURLEncoding.EncodeToString(NewKey())
}

package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EncryptedPrefix starts an encrypted value.
const EncryptedPrefix = "ENC:"

// KeySize is the size of an encryption or hashing key in bytes.
const KeySize = 32

// Environment variables naming the encryption key for ENC: values.
const (
	// EnvEncryptionKey holds the key itself, base64 encoded.
	EnvEncryptionKey = "CHAINSTS_ENCRYPTION_KEY"
	// EnvEncryptionKeyFile names a file holding the key, base64 encoded.
	EnvEncryptionKeyFile = "CHAINSTS_ENCRYPTION_KEY_FILE"
	// DefaultEncryptionKeyFile is the key file's name in the data directory,
	// used when neither variable is set.
	DefaultEncryptionKeyFile = "encryption.key"
)

// additionalData binds ciphertexts to their purpose and format version, so
// an ENC: value cannot be confused with other data encrypted under the key.
var additionalData = []byte("chainsts secret v1")

// Encrypt encrypts v with AES-256-GCM under key and returns an ENC: value
// (base64url of the 12-byte nonce followed by the sealed value).
func Encrypt(key []byte, v string) (string, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := aead.Seal(nonce, nonce, []byte(v), additionalData)
	return EncryptedPrefix + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Decrypt reverses Encrypt. A wrong key and a damaged value give the same
// error.
func Decrypt(key []byte, v string) (string, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(v, EncryptedPrefix))
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", errors.New("malformed ENC: value")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], additionalData)
	if err != nil {
		return "", errors.New("ENC: value does not decrypt with the configured key")
	}
	return string(plain), nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("encryption key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// EncryptionKeySource finds the key for ENC: values, in this order: the
// CHAINSTS_ENCRYPTION_KEY variable (the key, base64), the file named by
// CHAINSTS_ENCRYPTION_KEY_FILE, then encryption.key in dataDir (when
// dataDir is not empty). It never creates a key. It returns the key and a
// description of where it came from, for messages.
func EncryptionKeySource(lookupEnv func(string) (string, bool), dataDir string) ([]byte, string, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	if v, ok := lookupEnv(EnvEncryptionKey); ok {
		k, err := DecodeKey(v)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", EnvEncryptionKey, err)
		}
		return k, "$" + EnvEncryptionKey, nil
	}
	if p, ok := lookupEnv(EnvEncryptionKeyFile); ok {
		k, err := ReadKeyFile(p)
		return k, p, err
	}
	if dataDir != "" {
		p := filepath.Join(dataDir, DefaultEncryptionKeyFile)
		k, err := ReadKeyFile(p)
		if err != nil && errors.Is(err, os.ErrNotExist) {
			return nil, "", fmt.Errorf("no encryption key: set %s or %s, or create %s with `chainsts secret keygen --out %s`",
				EnvEncryptionKey, EnvEncryptionKeyFile, p, p)
		}
		return k, p, err
	}
	return nil, "", fmt.Errorf("no encryption key: set %s or %s", EnvEncryptionKey, EnvEncryptionKeyFile)
}

package clients

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// KeyedHashPrefix starts a keyed hash of a generated secret.
const KeyedHashPrefix = "hmac-sha256:"

// Default slow-hash parameters for `chainsts secret hash`.
const (
	DefaultBcryptCost = 10
	// The argon2id defaults follow OWASP's password storage recommendation
	// (19 MiB, 2 iterations, 1 lane).
	DefaultArgon2Memory  = 19 * 1024
	DefaultArgon2Time    = 2
	DefaultArgon2Threads = 1
)

// maxSecretLen bounds presented secrets; nothing legitimate is longer and it
// keeps the slow hashes from being fed megabytes.
const maxSecretLen = 1024

// KeyID returns the short identifier of a hash key that keyed hashes carry,
// so that a hash made under another key is reported as such at load time
// instead of failing every request.
func KeyID(key []byte) string {
	h := sha256.New()
	h.Write([]byte("chainsts client hash key id\x00"))
	h.Write(key)
	return hex.EncodeToString(h.Sum(nil)[:4])
}

func keyedMAC(key []byte, secret string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("chainsts client secret\x00"))
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// KeyedHash returns the stored form of a generated secret under the client
// hash key: "hmac-sha256:KID:MAC".
func KeyedHash(key []byte, secret string) string {
	return KeyedHashPrefix + KeyID(key) + ":" + base64.RawURLEncoding.EncodeToString(keyedMAC(key, secret))
}

func parseKeyedHash(s string) (kid string, mac []byte, err error) {
	rest := strings.TrimPrefix(s, KeyedHashPrefix)
	kid, m, ok := strings.Cut(rest, ":")
	if !ok || len(kid) != 8 {
		return "", nil, errors.New("malformed keyed hash: want hmac-sha256:KID:MAC")
	}
	mac, err = base64.RawURLEncoding.DecodeString(m)
	if err != nil || len(mac) != sha256.Size {
		return "", nil, errors.New("malformed keyed hash: MAC is not 32 bytes of base64url")
	}
	return kid, mac, nil
}

// Algorithm names a slow password hash.
type Algorithm string

// The slow hashes `chainsts secret hash` produces.
const (
	Bcrypt   Algorithm = "bcrypt"
	Argon2id Algorithm = "argon2id"
)

// HashOptions tune HashSecret; zero values mean the defaults.
type HashOptions struct {
	BcryptCost    int
	Argon2Memory  uint32 // KiB
	Argon2Time    uint32
	Argon2Threads uint8
}

// HashSecret hashes an operator-chosen secret with a slow password hash.
func HashSecret(alg Algorithm, secret string, o HashOptions) (string, error) {
	if secret == "" {
		return "", errors.New("empty secret")
	}
	switch alg {
	case Bcrypt, "":
		cost := o.BcryptCost
		if cost == 0 {
			cost = DefaultBcryptCost
		}
		b, err := bcrypt.GenerateFromPassword([]byte(secret), cost)
		if err != nil {
			return "", fmt.Errorf("bcrypt: %w", err)
		}
		return string(b), nil
	case Argon2id:
		p := argon2Params{memory: o.Argon2Memory, time: o.Argon2Time, threads: o.Argon2Threads}
		if p.memory == 0 {
			p.memory = DefaultArgon2Memory
		}
		if p.time == 0 {
			p.time = DefaultArgon2Time
		}
		if p.threads == 0 {
			p.threads = DefaultArgon2Threads
		}
		p.salt = make([]byte, 16)
		if _, err := rand.Read(p.salt); err != nil {
			return "", err
		}
		p.hash = argon2.IDKey([]byte(secret), p.salt, p.time, p.memory, p.threads, 32)
		return p.String(), nil
	}
	return "", fmt.Errorf("unknown hash algorithm %q (bcrypt or argon2id)", alg)
}

type argon2Params struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	hash    []byte
}

func (p argon2Params) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(p.salt), base64.RawStdEncoding.EncodeToString(p.hash))
}

// parseArgon2id reads a PHC string "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH".
func parseArgon2id(s string) (argon2Params, error) {
	var p argon2Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, errors.New("malformed argon2id hash")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, fmt.Errorf("unsupported argon2id version %q", parts[2])
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &threads); err != nil {
		return p, errors.New("malformed argon2id parameters")
	}
	if p.memory < 8 || p.memory > 4*1024*1024 || p.time < 1 || p.time > 100 || threads < 1 || threads > 255 {
		return p, errors.New("argon2id parameters out of range")
	}
	p.threads = uint8(threads)
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(p.salt) < 8 {
		return p, errors.New("malformed argon2id salt")
	}
	if p.hash, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.hash) < 16 {
		return p, errors.New("malformed argon2id hash value")
	}
	return p, nil
}

func (p argon2Params) verify(secret string) bool {
	got := argon2.IDKey([]byte(secret), p.salt, p.time, p.memory, p.threads, uint32(len(p.hash)))
	return subtle.ConstantTimeCompare(got, p.hash) == 1
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

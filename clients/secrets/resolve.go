package secrets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Source says how a resolved secret was written in the configuration.
type Source int

// The sources of a secret value.
const (
	// SourceLiteral is a value written as is in the configuration.
	SourceLiteral Source = iota
	// SourceEnv is a ${env:NAME} reference.
	SourceEnv
	// SourceFile is an @path reference.
	SourceFile
	// SourceObfuscated is an OBF: value (possibly behind a reference).
	SourceObfuscated
	// SourceEncrypted is an ENC: value (possibly behind a reference).
	SourceEncrypted
)

// String names the source for messages.
func (s Source) String() string {
	switch s {
	case SourceEnv:
		return "environment variable"
	case SourceFile:
		return "file"
	case SourceObfuscated:
		return "OBF: value"
	case SourceEncrypted:
		return "ENC: value"
	}
	return "literal value"
}

// Resolved is a secret value with where it came from.
type Resolved struct {
	Value  string
	Source Source
}

// Resolver turns configured secret values into the secrets themselves.
type Resolver struct {
	// Dir is the directory relative @path references are read from (the
	// configuration directory).
	Dir string
	// LookupEnv reads an environment variable; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// EncryptionKey returns the key for ENC: values. It is called only when
	// an ENC: value is met; nil means no key is available.
	EncryptionKey func() ([]byte, error)
}

// Resolve returns the secret a configured value stands for. Errors name the
// reference (variable or file) but never contain secret material.
func (r *Resolver) Resolve(v string) (Resolved, error) {
	out := Resolved{Value: v, Source: SourceLiteral}
	switch {
	case strings.HasPrefix(v, "${env:"):
		name, ok := strings.CutSuffix(strings.TrimPrefix(v, "${env:"), "}")
		if !ok || name == "" || strings.ContainsAny(name, "${}") {
			return out, fmt.Errorf("malformed environment reference: write ${env:NAME}")
		}
		lookup := r.LookupEnv
		if lookup == nil {
			lookup = os.LookupEnv
		}
		val, found := lookup(name)
		if !found {
			return out, fmt.Errorf("environment variable %s is not set", name)
		}
		out = Resolved{Value: val, Source: SourceEnv}
	case strings.HasPrefix(v, "@"):
		p := strings.TrimPrefix(v, "@")
		if p == "" {
			return out, errors.New("malformed file reference: write @path")
		}
		if !filepath.IsAbs(p) && r.Dir != "" {
			p = filepath.Join(r.Dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			// The path is configuration, not a secret: keep it in the error.
			return out, fmt.Errorf("reading secret file: %w", err)
		}
		s := strings.TrimSuffix(string(b), "\n")
		s = strings.TrimSuffix(s, "\r")
		out = Resolved{Value: s, Source: SourceFile}
	}
	switch {
	case strings.HasPrefix(out.Value, ObfuscatedPrefix):
		plain, err := Deobfuscate(out.Value)
		if err != nil {
			return out, err
		}
		return Resolved{Value: plain, Source: SourceObfuscated}, nil
	case strings.HasPrefix(out.Value, EncryptedPrefix):
		if r.EncryptionKey == nil {
			return out, errors.New("ENC: value but no encryption key is configured")
		}
		key, err := r.EncryptionKey()
		if err != nil {
			return out, fmt.Errorf("encryption key: %w", err)
		}
		plain, err := Decrypt(key, out.Value)
		if err != nil {
			return out, err
		}
		return Resolved{Value: plain, Source: SourceEncrypted}, nil
	}
	return out, nil
}

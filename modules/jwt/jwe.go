package jwt

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/chainsts/chainsts/keys"
	"github.com/chainsts/chainsts/sts"
)

// defaultJWEAlgs and defaultJWEEncs are what a validate step decrypts when
// it does not narrow them. PBES2 is absent and cannot be configured; RSA1_5
// needs allow_rsa1_5 (SECURITY §1.8).
var (
	defaultJWEAlgs = []string{"RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW",
		"A128KW", "A192KW", "A256KW", "A128GCMKW", "A192GCMKW", "A256GCMKW", "dir"}
	defaultJWEEncs = []string{"A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"}
)

// decrypter holds a validate step's JWE keys and allow-lists.
type decrypter struct {
	algs     []string
	encs     []string
	keys     []*keys.Key
	required bool
	maxSize  int
}

func (m *Module) provisionDecrypt(host sts.Host) (*decrypter, error) {
	e := m.Encryption
	if e.Keystore == "" && e.SymmetricKey == nil {
		if e.Required || len(e.Algs) > 0 || len(e.Encs) > 0 || e.Label != "" || e.Alg != "" {
			return nil, sts.ConfigErrorf("encryption", "decryption needs a keystore or symmetric_key")
		}
		return nil, nil
	}
	if e.JWKSURI != "" || e.KID != "" || e.Enc != "" {
		return nil, sts.ConfigErrorf("encryption", "jwks_uri, kid and enc apply to issue steps; validate uses algs and encs")
	}
	d := &decrypter{required: e.Required, maxSize: e.MaxDecryptedSize}
	if d.maxSize == 0 {
		d.maxSize = DefaultMaxTokenSize
	}
	d.algs = e.Algs
	if len(d.algs) == 0 {
		d.algs = slices.Clone(defaultJWEAlgs)
		if e.AllowRSA1_5 {
			d.algs = append(d.algs, "RSA1_5")
		}
	}
	for i, a := range d.algs {
		if _, ok := keys.IsJWEKeyAlgorithm(a); !ok {
			return nil, sts.ConfigErrorf("encryption.algs["+strconv.Itoa(i)+"]", "unsupported key management algorithm %q (PBES2 is never accepted)", a)
		}
		if a == "RSA1_5" && !e.AllowRSA1_5 {
			return nil, sts.ConfigErrorf("encryption.algs["+strconv.Itoa(i)+"]", "RSA1_5 needs allow_rsa1_5: true")
		}
	}
	d.encs = e.Encs
	if len(d.encs) == 0 {
		d.encs = defaultJWEEncs
	}
	for i, c := range d.encs {
		if !keys.IsJWEContentAlgorithm(c) {
			return nil, sts.ConfigErrorf("encryption.encs["+strconv.Itoa(i)+"]", "unsupported content encryption %q", c)
		}
	}
	if e.Keystore != "" {
		if m.app == nil {
			return nil, sts.ConfigErrorf("encryption.keystore", "no keystores app")
		}
		ks, ok := m.app.Keystore(e.Keystore)
		if !ok {
			return nil, sts.ConfigErrorf("encryption.keystore", "no keystore %q", e.Keystore)
		}
		for _, k := range ks.Keys() {
			if k.Use == keys.UseEnc && (e.Label == "" || k.Label == e.Label) && (k.Private != nil || k.Secret != nil) {
				d.keys = append(d.keys, k)
			}
		}
	}
	if e.SymmetricKey != nil {
		alg := first(e.Alg, e.SymmetricKey.Alg)
		if alg == "" {
			return nil, sts.ConfigErrorf("encryption.symmetric_key.alg", "a symmetric decryption key needs its alg (A128KW, dir...)")
		}
		k, err := readSecretKey(host, "encryption.symmetric_key", e.SymmetricKey, alg, keys.UseEnc)
		if err != nil {
			return nil, err
		}
		d.keys = append(d.keys, k)
	}
	if len(d.keys) == 0 {
		return nil, sts.ConfigErrorf("encryption", "no decryption keys (use: enc keys with private parts)")
	}
	return d, nil
}

// decrypt checks the JWE protected header itself (no zip, alg and enc on
// the allow-lists, no crit) before go-jose sees the token, then decrypts
// with the keys bound to the header's alg, and bounds the plaintext size.
func (d *decrypter) decrypt(c *compact) ([]byte, error) {
	hdr, _, err := parseObject(c.header)
	if err != nil {
		return nil, fmt.Errorf("%w: JWE header: %v", ErrMalformed, err)
	}
	if _, has := hdr["zip"]; has {
		return nil, fmt.Errorf("%w: compressed (zip) JWE", ErrEncryption)
	}
	if _, has := hdr["crit"]; has {
		return nil, ErrCrit
	}
	alg, _ := hdr["alg"].(string)
	enc, _ := hdr["enc"].(string)
	if !slices.Contains(d.algs, alg) {
		return nil, fmt.Errorf("%w: key management %q not allowed", ErrEncryption, alg)
	}
	if !slices.Contains(d.encs, enc) {
		return nil, fmt.Errorf("%w: content encryption %q not allowed", ErrEncryption, enc)
	}
	if cty, ok := hdr["cty"].(string); ok && normTyp(cty) != "jwt" {
		return nil, fmt.Errorf("%w: cty %q: only nested JWTs are accepted", ErrEncryption, cty)
	}
	obj, err := jose.ParseEncryptedCompact(string(c.raw), []jose.KeyAlgorithm{jose.KeyAlgorithm(alg)}, []jose.ContentEncryption{jose.ContentEncryption(enc)})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	kid, _ := hdr["kid"].(string)
	var lastErr error = ErrNoKey
	for _, k := range d.keys {
		if k.Alg != alg || (kid != "" && k.KID != kid) {
			continue
		}
		var key any = k.Private
		if k.Secret != nil {
			key = k.Secret
		}
		pt, err := obj.Decrypt(key)
		if err != nil {
			lastErr = err
			continue
		}
		if len(pt) > d.maxSize {
			return nil, fmt.Errorf("%w: decrypted payload exceeds %d bytes", ErrEncryption, d.maxSize)
		}
		return pt, nil
	}
	return nil, fmt.Errorf("%w: decryption failed: %v", ErrEncryption, lastErr)
}

// encrypter is an issue step's JWE recipient.
type encrypter struct {
	alg, enc string
	key      *keys.Key // static recipient
	remote   *keys.RemoteSet
	kid      string
}

func (m *Module) provisionEncrypt(host sts.Host) (*encrypter, error) {
	e := m.Encryption
	if e.Alg == "" && e.Keystore == "" && e.JWKSURI == "" && e.SymmetricKey == nil {
		if e.Enc != "" || e.Label != "" || e.KID != "" {
			return nil, sts.ConfigErrorf("encryption", "encryption needs alg and a recipient key")
		}
		return nil, nil
	}
	if len(e.Algs) > 0 || len(e.Encs) > 0 || e.Required || e.AllowRSA1_5 || e.MaxDecryptedSize != 0 {
		return nil, sts.ConfigErrorf("encryption", "algs, encs, required, allow_rsa1_5 and max_decrypted_size apply to validate steps")
	}
	x := &encrypter{alg: e.Alg, enc: first(e.Enc, "A256GCM"), kid: e.KID}
	if _, ok := keys.IsJWEKeyAlgorithm(x.alg); !ok || x.alg == "RSA1_5" {
		return nil, sts.ConfigErrorf("encryption.alg", "unsupported key management algorithm %q", x.alg)
	}
	if !keys.IsJWEContentAlgorithm(x.enc) {
		return nil, sts.ConfigErrorf("encryption.enc", "unsupported content encryption %q", x.enc)
	}
	switch {
	case e.Keystore != "":
		if m.app == nil {
			return nil, sts.ConfigErrorf("encryption.keystore", "no keystores app")
		}
		ks, ok := m.app.Keystore(e.Keystore)
		if !ok {
			return nil, sts.ConfigErrorf("encryption.keystore", "no keystore %q", e.Keystore)
		}
		for _, k := range ks.Keys() {
			if k.Use == keys.UseEnc && k.Alg == x.alg && (e.Label == "" || k.Label == e.Label) && (e.KID == "" || k.KID == e.KID) {
				x.key = k
				break
			}
		}
		if x.key == nil {
			return nil, sts.ConfigErrorf("encryption.label", "keystore %q has no enc key for %s matching label %q kid %q", e.Keystore, x.alg, e.Label, e.KID)
		}
	case e.JWKSURI != "":
		r, err := m.app.RemoteJWKS(e.JWKSURI)
		if err != nil {
			return nil, sts.ConfigErrorf("encryption.jwks_uri", "%v", err)
		}
		x.remote = r
	case e.SymmetricKey != nil:
		k, err := readSecretKey(host, "encryption.symmetric_key", e.SymmetricKey, x.alg, keys.UseEnc)
		if err != nil {
			return nil, err
		}
		x.key = k
	default:
		return nil, sts.ConfigErrorf("encryption", "encryption needs keystore, jwks_uri or symmetric_key")
	}
	return x, nil
}

// encrypt wraps a signed JWT in a JWE with cty JWT (RFC 7519 §5.2).
func (x *encrypter) encrypt(ctx context.Context, jws []byte) ([]byte, error) {
	k := x.key
	if x.remote != nil {
		var err error
		if k, err = x.remote.EncryptionKey(ctx, x.alg, x.kid); err != nil {
			return nil, fmt.Errorf("recipient key: %w", err)
		}
	}
	var key any = k.Public
	if k.Secret != nil {
		key = k.Secret
	}
	opts := (&jose.EncrypterOptions{}).WithContentType("JWT")
	enc, err := jose.NewEncrypter(jose.ContentEncryption(x.enc), jose.Recipient{Algorithm: jose.KeyAlgorithm(x.alg), Key: key, KeyID: k.KID}, opts)
	if err != nil {
		return nil, err
	}
	obj, err := enc.Encrypt(jws)
	if err != nil {
		return nil, err
	}
	s, err := obj.CompactSerialize()
	return []byte(s), err
}

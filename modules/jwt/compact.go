package jwt

import (
	"encoding/base64"
	"errors"
)

// DefaultMaxTokenSize is the default cap on a compact token's length
// (SECURITY §1.1).
const DefaultMaxTokenSize = 16 << 10

// maxJSONDepth bounds nesting in headers and claims.
const maxJSONDepth = 32

// b64 is JOSE's base64url without padding, strict about trailing bits so
// that every value has exactly one accepted encoding.
var b64 = base64.RawURLEncoding.Strict()

// Errors of the pre-parse checks. They are causes (logged), never shown to
// callers.
var (
	errEmpty        = errors.New("empty token")
	errTooLarge     = errors.New("token exceeds the size cap")
	errCharset      = errors.New("token holds characters outside base64url and '.'")
	errParts        = errors.New("token must have 3 (JWS) or 5 (JWE) parts")
	errNotCanonical = errors.New("token part is not canonical base64url")
)

// compact is a compact JWS or JWE split into its decoded parts.
type compact struct {
	// raw holds the segments as they appeared (for the JWS signing input
	// and for JWE decryption).
	raw   []byte
	dots  [4]int
	nDots int
	// header and payload are decoded (payload only for JWS).
	header  []byte
	payload []byte
	sig     []byte
	buf     []byte
}

// isJWE reports whether the token has the five-part JWE form.
func (c *compact) isJWE() bool { return c.nDots == 4 }

// signingInput returns "header.payload" as it appeared.
func (c *compact) signingInput() []byte { return c.raw[:c.dots[1]] }

// splitCompact applies the pre-parse checks of SECURITY §1.1 before any
// library sees the token: size cap, allowed characters only, exactly three
// or five parts, canonical unpadded base64url in every part.
func splitCompact(tok []byte, maxSize int) (*compact, error) {
	if len(tok) == 0 {
		return nil, errEmpty
	}
	if len(tok) > maxSize {
		return nil, errTooLarge
	}
	c := &compact{raw: tok}
	for i, ch := range tok {
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '-', ch == '_':
		case ch == '.':
			if c.nDots == 4 {
				return nil, errParts
			}
			c.dots[c.nDots] = i
			c.nDots++
		default:
			return nil, errCharset
		}
	}
	if c.nDots != 2 && c.nDots != 4 {
		return nil, errParts
	}
	seg := func(i int) []byte {
		start := 0
		if i > 0 {
			start = c.dots[i-1] + 1
		}
		end := len(tok)
		if i < c.nDots {
			end = c.dots[i]
		}
		return tok[start:end]
	}
	// One buffer holds every decoded part.
	c.buf = make([]byte, 0, b64.DecodedLen(len(tok)))
	var err error
	if c.header, err = c.decodeSeg(seg(0)); err != nil || len(c.header) == 0 {
		return nil, errNotCanonical
	}
	if c.nDots == 2 {
		// An empty payload is a valid JWS; the JWT layer refuses it when
		// it looks for a claim set.
		if c.payload, err = c.decodeSeg(seg(1)); err != nil {
			return nil, errNotCanonical
		}
		if c.sig, err = c.decodeSeg(seg(2)); err != nil || len(c.sig) == 0 {
			return nil, errNotCanonical
		}
		return c, nil
	}
	// JWE: encrypted key (empty for dir and ECDH-ES), IV, ciphertext, tag;
	// decoded again by go-jose, checked here for canonical form.
	for i := 1; i <= 4; i++ {
		s := seg(i)
		if _, err := c.decodeSeg(s); err != nil || (i > 1 && len(s) == 0) {
			return nil, errNotCanonical
		}
	}
	return c, nil
}

// decodeSeg decodes one part into the shared buffer and returns its slice
// of it (capacity clipped, so later parts never overwrite it).
func (c *compact) decodeSeg(s []byte) ([]byte, error) {
	start := len(c.buf)
	out, err := b64.AppendDecode(c.buf, s)
	if err != nil {
		return nil, err
	}
	c.buf = out
	return out[start:len(out):len(out)], nil
}

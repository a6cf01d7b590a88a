package jwt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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
	var err error
	if c.header, err = decodeSeg(seg(0)); err != nil || len(c.header) == 0 {
		return nil, errNotCanonical
	}
	if c.nDots == 2 {
		// An empty payload is a valid JWS; the JWT layer refuses it when
		// it looks for a claim set.
		if c.payload, err = decodeSeg(seg(1)); err != nil {
			return nil, errNotCanonical
		}
		if c.sig, err = decodeSeg(seg(2)); err != nil || len(c.sig) == 0 {
			return nil, errNotCanonical
		}
		return c, nil
	}
	// JWE: encrypted key (empty for dir and ECDH-ES), IV, ciphertext, tag;
	// decoded again by go-jose, checked here for canonical form.
	for i := 1; i <= 4; i++ {
		s := seg(i)
		if _, err := decodeSeg(s); err != nil || (i > 1 && len(s) == 0) {
			return nil, errNotCanonical
		}
	}
	return c, nil
}

func decodeSeg(s []byte) ([]byte, error) {
	out := make([]byte, b64.DecodedLen(len(s)))
	n, err := b64.Decode(out, s)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}

// parseObject decodes a JSON object, keeping numbers as json.Number, and
// refuses duplicate member names at any depth, nesting deeper than
// maxJSONDepth, and trailing data. It returns the top-level member names in
// their order of appearance.
func parseObject(data []byte) (map[string]any, []string, error) {
	s := dupScanner{b: data}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return nil, nil, errors.New("not a JSON object")
	}
	order, err := s.object(0, true)
	if err != nil {
		return nil, nil, err
	}
	s.ws()
	if s.i != len(s.b) {
		return nil, nil, errors.New("data after the JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, nil, err
	}
	return m, order, nil
}

// dupScanner walks JSON text just far enough to see object member names.
// It trusts encoding/json to validate scalars afterwards; what it must get
// right is the structure, so that it never mistakes a string's content for
// a member name.
type dupScanner struct {
	b []byte
	i int
}

func (s *dupScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

var errJSONSyntax = errors.New("malformed JSON")

func (s *dupScanner) value(depth int) error {
	if depth > maxJSONDepth {
		return errors.New("JSON nested too deeply")
	}
	s.ws()
	if s.i >= len(s.b) {
		return errJSONSyntax
	}
	switch s.b[s.i] {
	case '{':
		_, err := s.object(depth, false)
		return err
	case '[':
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) {
				return errJSONSyntax
			}
			if s.b[s.i] == ']' {
				s.i++
				return nil
			}
			if s.b[s.i] != ',' {
				return errJSONSyntax
			}
			s.i++
		}
	case '"':
		_, _, err := s.str()
		return err
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return nil
		}
		s.i++
	}
	return nil
}

// str reads a string and returns its raw content and whether it holds
// escapes.
func (s *dupScanner) str() ([]byte, bool, error) {
	s.i++ // opening quote
	start, esc := s.i, false
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			esc = true
			s.i += 2
			continue
		case '"':
			raw := s.b[start:s.i]
			s.i++
			return raw, esc, nil
		}
		s.i++
	}
	return nil, false, errJSONSyntax
}

func (s *dupScanner) object(depth int, top bool) ([]string, error) {
	s.i++ // {
	var names []string
	var seen map[string]struct{}
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return names, nil
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return nil, errJSONSyntax
		}
		raw, esc, err := s.str()
		if err != nil {
			return nil, err
		}
		name := string(raw)
		if esc {
			// "\u0061" and "a" are the same member name.
			q := make([]byte, 0, len(raw)+2)
			q = append(append(append(q, '"'), raw...), '"')
			var u string
			if err := json.Unmarshal(q, &u); err != nil {
				return nil, errJSONSyntax
			}
			name = u
		}
		if seen == nil {
			seen = make(map[string]struct{}, 8)
		}
		if _, dup := seen[name]; dup {
			return nil, fmt.Errorf("duplicate JSON member %q", name)
		}
		seen[name] = struct{}{}
		if top {
			names = append(names, name)
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return nil, errJSONSyntax
		}
		s.i++
		if err := s.value(depth + 1); err != nil {
			return nil, err
		}
		s.ws()
		if s.i >= len(s.b) {
			return nil, errJSONSyntax
		}
		if s.b[s.i] == '}' {
			s.i++
			return names, nil
		}
		if s.b[s.i] != ',' {
			return nil, errJSONSyntax
		}
		s.i++
	}
}

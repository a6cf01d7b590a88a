package jwt

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// A small JSON reader and writer for headers and claim sets. They replace
// encoding/json on the token hot path (reflection and per-call buffers cost
// more than the rest of validation together) and do what the generic
// decoder cannot: refuse duplicate member names at any depth, bound the
// nesting, and keep every number as its json.Number literal. The fuzz
// target FuzzParseObject checks them against encoding/json.

var errJSONSyntax = errors.New("malformed JSON")

// parseObject decodes a JSON object (RFC 8259), keeping numbers as
// json.Number, and refuses duplicate member names at any depth, nesting
// deeper than maxJSONDepth, invalid UTF-8 and trailing data. It returns the
// top-level member names in their order of appearance.
func parseObject(data []byte) (map[string]any, []string, error) {
	return parseObjectString(string(data), true)
}

// parseObjectString is parseObject reading a string: member names and
// unescaped string values are substrings of data, so a claim set costs one
// copy of its bytes (shared with claim_json) instead of one per string.
// The order is only collected when withOrder is set.
func parseObjectString(data string, withOrder bool) (map[string]any, []string, error) {
	p := jsonParser{b: data}
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return nil, nil, errors.New("not a JSON object")
	}
	var order []string
	var op *[]string
	if withOrder {
		order = make([]string, 0, 16)
		op = &order
	}
	v, err := p.object(0, op)
	if err != nil {
		return nil, nil, err
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, nil, errors.New("data after the JSON object")
	}
	return v, order, nil
}

type jsonParser struct {
	b string
	i int
}

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	p.ws()
	if p.i >= len(p.b) {
		return nil, errJSONSyntax
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth, nil)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == 't':
		return true, p.lit("true")
	case c == 'f':
		return false, p.lit("false")
	case c == 'n':
		return nil, p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return nil, errJSONSyntax
}

func (p *jsonParser) lit(s string) error {
	if len(p.b)-p.i < len(s) || p.b[p.i:p.i+len(s)] != s {
		return errJSONSyntax
	}
	p.i += len(s)
	return nil
}

// number reads an RFC 8259 number and keeps its literal.
func (p *jsonParser) number() (any, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return nil, errJSONSyntax
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, errJSONSyntax
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, errJSONSyntax
		}
	}
	return json.Number(p.b[start:p.i]), nil
}

// str reads a string. The common case (no escapes) is a substring of the
// input, no allocation; escaped strings are decoded by encoding/json's
// rules.
func (p *jsonParser) str() (string, error) {
	p.i++ // opening quote
	start, esc := p.i, false
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '\\':
			esc = true
			p.i += 2
			continue
		case c == '"':
			raw := p.b[start:p.i]
			p.i++
			if !esc {
				if !utf8.ValidString(raw) {
					return "", errors.New("invalid UTF-8 in JSON string")
				}
				return raw, nil
			}
			var s string
			if err := json.Unmarshal([]byte(p.b[start-1:p.i]), &s); err != nil {
				return "", errJSONSyntax
			}
			if !utf8.ValidString(p.b[start-1 : p.i]) {
				return "", errors.New("invalid UTF-8 in JSON string")
			}
			return s, nil
		case c < 0x20:
			return "", errJSONSyntax
		}
		p.i++
	}
	return "", errJSONSyntax
}

func (p *jsonParser) array(depth int) (any, error) {
	p.i++ // [
	out := []any{}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return out, nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		p.ws()
		if p.i >= len(p.b) {
			return nil, errJSONSyntax
		}
		switch p.b[p.i] {
		case ']':
			p.i++
			return out, nil
		case ',':
			p.i++
		default:
			return nil, errJSONSyntax
		}
	}
}

// object reads an object; when order is not nil it receives the member
// names in order.
func (p *jsonParser) object(depth int, order *[]string) (map[string]any, error) {
	p.i++ // {
	hint := 4
	if order != nil {
		// A claim set: size the map for a typical token in one go.
		hint = 16
	}
	out := make(map[string]any, hint)
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return out, nil
	}
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, errJSONSyntax
		}
		name, err := p.str()
		if err != nil {
			return nil, err
		}
		// Escaped and plain spellings decode to the same name, so "\u0073ub"
		// duplicates "sub".
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("duplicate JSON member %q", name)
		}
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, errJSONSyntax
		}
		p.i++
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out[name] = v
		if order != nil {
			*order = append(*order, name)
		}
		p.ws()
		if p.i >= len(p.b) {
			return nil, errJSONSyntax
		}
		switch p.b[p.i] {
		case '}':
			p.i++
			return out, nil
		case ',':
			p.i++
		default:
			return nil, errJSONSyntax
		}
	}
}

// appendJSON writes a normalized value (string, json.Number, bool, nil,
// []any, map[string]any with sorted keys) as compact JSON without HTML
// escaping, the form encoding/json would write with SetEscapeHTML(false).
func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendJSONString(b, x), nil
	case json.Number:
		if !validNumber(string(x)) {
			return nil, fmt.Errorf("invalid number literal %q", string(x))
		}
		return append(b, x...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case nil:
		return append(b, "null"...), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, x[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	// Anything else (an sts.XML value, a Go type a caller put in claims)
	// goes through encoding/json.
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

func validNumber(s string) bool {
	p := jsonParser{b: s}
	if s == "" {
		return false
	}
	_, err := p.number()
	return err == nil && p.i == len(s)
}

const hexDigits = "0123456789abcdef"

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

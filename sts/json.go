package sts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"unicode/utf8"
)

// The canonical JSON form of an STSUU (docs/stsuu.md):
//
//	{"principal":[attr], "groups":[{"name","type","attributes":[attr]}],
//	 "attributes":[attr], "rst":[attr], "context":[attr],
//	 "statements":[{"id"?, "attributes":[attr]}]}
//
// with attr = {"name", "type", "nickname"?, "values":[...]}. Values keep
// their JSON types; an XML value is the object {"$xml": "<fragment/>"}.
// On input the IVIAOP test-harness keys "uid" (the principal name),
// "attributeContainer" (attributes) and "contextAttributes" (context) are
// accepted as well.

// xmlValueKey is the only member of the JSON object that stands for an XML
// value.
const xmlValueKey = "$xml"

// ParseJSON reads an STSUU from its JSON form with the DefaultLimits. See
// ParseJSONLimits.
func ParseJSON(data []byte) (*STSUU, error) {
	return ParseJSONLimits(data, DefaultLimits)
}

// ParseJSONLimits reads an STSUU from the canonical JSON form or the IVIAOP
// shape. It is strict: unknown keys, duplicate keys, wrong types, invalid
// UTF-8 and trailing data are errors, and lim bounds size and nesting.
// Numbers keep their literal (json.Number), so integers beyond 2^53 are
// exact. Attributes with the same name and type within a section are merged
// as ISAM's addAttribute does; statements with neither id nor attributes are
// dropped, as in the XML form.
func ParseJSONLimits(data []byte, lim Limits) (*STSUU, error) {
	lim = lim.withDefaults()
	v, err := decodeJSONValue(data, lim)
	if err != nil {
		return nil, fmt.Errorf("stsuu json: %w", err)
	}
	u, err := stsuuFromJSON(v, lim)
	if err != nil {
		return nil, fmt.Errorf("stsuu json: %w", err)
	}
	return u, nil
}

var stsuuJSONKeys = map[string]bool{
	"principal": true, "groups": true, "attributes": true, "rst": true,
	"context": true, "statements": true,
	"uid": true, "attributeContainer": true, "contextAttributes": true,
}

func stsuuFromJSON(v any, lim Limits) (*STSUU, error) {
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("document is a JSON %s, want an object", KindOf(v))
	}
	for _, k := range sortedMapKeys(top) {
		if !stsuuJSONKeys[k] {
			return nil, fmt.Errorf("unknown key %q", k)
		}
	}
	u := NewSTSUU()
	for _, sec := range []struct {
		key  string
		into *Attributes
	}{
		{"principal", &u.Principal},
		{"attributes", &u.Attributes},
		{"attributeContainer", &u.Attributes},
		{"rst", &u.RST},
		{"context", &u.Context},
		{"contextAttributes", &u.Context},
	} {
		if raw, ok := top[sec.key]; ok {
			if err := jsonAttributes(raw, sec.key, sec.into, lim); err != nil {
				return nil, err
			}
		}
	}
	if raw, ok := top["uid"]; ok {
		uid, ok := raw.(string)
		if !ok || uid == "" {
			return nil, errors.New("uid: want a non-empty string")
		}
		if u.Principal.Get(PrincipalNameAttribute) != nil {
			return nil, errors.New("uid: the principal already has a name")
		}
		u.SetPrincipalName(uid)
	}
	if raw, ok := top["groups"]; ok {
		list, ok := raw.([]any)
		if !ok {
			return nil, fmt.Errorf("groups: want an array, got %s", KindOf(raw))
		}
		for i, e := range list {
			path := fmt.Sprintf("groups[%d]", i)
			obj, err := jsonObject(e, path, "name", "type", "attributes")
			if err != nil {
				return nil, err
			}
			name, err := jsonString(obj, "name", path, true)
			if err != nil {
				return nil, err
			}
			typ, err := jsonString(obj, "type", path, false)
			if err != nil {
				return nil, err
			}
			g := &Group{Name: name, Type: typ}
			if raw, ok := obj["attributes"]; ok {
				if err := jsonAttributes(raw, path+".attributes", &g.Attributes, lim); err != nil {
					return nil, err
				}
			}
			u.Groups = append(u.Groups, g)
		}
	}
	if raw, ok := top["statements"]; ok {
		list, ok := raw.([]any)
		if !ok {
			return nil, fmt.Errorf("statements: want an array, got %s", KindOf(raw))
		}
		for i, e := range list {
			path := fmt.Sprintf("statements[%d]", i)
			obj, err := jsonObject(e, path, "id", "attributes")
			if err != nil {
				return nil, err
			}
			id, err := jsonString(obj, "id", path, false)
			if err != nil {
				return nil, err
			}
			s := &AttributeStatement{ID: id}
			if raw, ok := obj["attributes"]; ok {
				if err := jsonAttributes(raw, path+".attributes", &s.Attributes, lim); err != nil {
					return nil, err
				}
			}
			if s.ID != "" || len(s.Attributes) > 0 {
				u.Statements = append(u.Statements, s)
			}
		}
	}
	mergeDuplicates(u)
	return u, nil
}

func jsonObject(v any, path string, keys ...string) (map[string]any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want an object, got %s", path, KindOf(v))
	}
	for _, k := range sortedMapKeys(obj) {
		known := false
		for _, want := range keys {
			known = known || k == want
		}
		if !known {
			return nil, fmt.Errorf("%s: unknown key %q", path, k)
		}
	}
	return obj, nil
}

func jsonString(obj map[string]any, key, path string, required bool) (string, error) {
	raw, ok := obj[key]
	if !ok {
		if required {
			return "", fmt.Errorf("%s: %s is required", path, key)
		}
		return "", nil
	}
	s, ok := raw.(string)
	if !ok {
		return "", fmt.Errorf("%s.%s: want a string, got %s", path, key, KindOf(raw))
	}
	// Names, types and ids become XML attribute values, which cannot
	// carry control characters; refusing them here keeps every accepted
	// document writable as XML without loss.
	if !isXMLSafe(s) {
		return "", fmt.Errorf("%s.%s: contains a character XML cannot carry", path, key)
	}
	return s, nil
}

func jsonAttributes(raw any, path string, into *Attributes, lim Limits) error {
	list, ok := raw.([]any)
	if !ok {
		return fmt.Errorf("%s: want an array, got %s", path, KindOf(raw))
	}
	for i, e := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		obj, err := jsonObject(e, p, "name", "type", "nickname", "values")
		if err != nil {
			return err
		}
		name, err := jsonString(obj, "name", p, true)
		if err != nil {
			return err
		}
		typ, err := jsonString(obj, "type", p, false)
		if err != nil {
			return err
		}
		nick, err := jsonString(obj, "nickname", p, false)
		if err != nil {
			return err
		}
		a := &Attribute{Name: name, Type: typ, Nickname: nick, Values: []any{}}
		if rv, ok := obj["values"]; ok {
			vals, ok := rv.([]any)
			if !ok {
				return fmt.Errorf("%s.values: want an array, got %s", p, KindOf(rv))
			}
			for j, v := range vals {
				if x, isXML, err := jsonXMLValue(v, lim); isXML {
					if err != nil {
						return fmt.Errorf("%s.values[%d]: %w", p, j, err)
					}
					v = x
				}
				a.Values = append(a.Values, v)
			}
		}
		*into = append(*into, a) // merged in one pass by mergeDuplicates
	}
	return nil
}

// jsonXMLValue recognizes {"$xml": "..."} and returns the canonical XML value.
func jsonXMLValue(v any, lim Limits) (XML, bool, error) {
	obj, ok := v.(map[string]any)
	if !ok || len(obj) != 1 {
		return "", false, nil
	}
	raw, ok := obj[xmlValueKey]
	if !ok {
		return "", false, nil
	}
	s, ok := raw.(string)
	if !ok {
		return "", true, fmt.Errorf("%s: want a string, got %s", xmlValueKey, KindOf(raw))
	}
	x, err := parseXMLFragmentLimits(s, lim)
	if err != nil {
		return "", true, fmt.Errorf("%s: %w", xmlValueKey, err)
	}
	return x, true, nil
}

// decodeJSONValue decodes one JSON value into the normalized value kinds
// with the checks ParseJSON promises: size, depth, valid UTF-8, no duplicate
// keys, no trailing data.
func decodeJSONValue(data []byte, lim Limits) (any, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("document is %d bytes, larger than the limit of %d", len(data), lim.MaxBytes)
	}
	if !utf8.Valid(data) {
		return nil, errors.New("document is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readJSONValue(dec, 0, lim.MaxDepth)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

func readJSONValue(dec *json.Decoder, depth, maxDepth int) (any, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		return nil, errors.New("unexpected end of JSON input")
	}
	if err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth+1 > maxDepth {
		return nil, fmt.Errorf("JSON nested deeper than the limit of %d", maxDepth)
	}
	switch d {
	case '{':
		m := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("malformed JSON: %w", err)
			}
			key, ok := kt.(string)
			if !ok {
				return nil, errors.New("malformed JSON: object key is not a string")
			}
			if _, dup := m[key]; dup {
				return nil, fmt.Errorf("duplicate key %q", key)
			}
			v, err := readJSONValue(dec, depth+1, maxDepth)
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("malformed JSON: %w", err)
		}
		return m, nil
	case '[':
		out := []any{}
		for dec.More() {
			v, err := readJSONValue(dec, depth+1, maxDepth)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("malformed JSON: %w", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("malformed JSON: unexpected %v", d)
}

// JSON writes the STSUU in the canonical JSON form: compact, every section
// present in the order principal, groups, attributes, rst, context,
// statements, attribute members in the order name, type, nickname (when
// set), values, and object members sorted, so equal users give equal bytes.
func (u *STSUU) JSON() []byte {
	var b bytes.Buffer
	b.WriteString(`{"principal":`)
	writeJSONAttributes(&b, u.Principal)
	b.WriteString(`,"groups":[`)
	for i, g := range u.Groups {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":`)
		writeJSONString(&b, g.Name)
		b.WriteString(`,"type":`)
		writeJSONString(&b, g.Type)
		b.WriteString(`,"attributes":`)
		writeJSONAttributes(&b, g.Attributes)
		b.WriteByte('}')
	}
	b.WriteString(`],"attributes":`)
	writeJSONAttributes(&b, u.Attributes)
	b.WriteString(`,"rst":`)
	writeJSONAttributes(&b, u.RST)
	b.WriteString(`,"context":`)
	writeJSONAttributes(&b, u.Context)
	b.WriteString(`,"statements":[`)
	first := true
	for _, s := range u.Statements {
		if s.ID == "" && len(s.Attributes) == 0 {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteByte('{')
		if s.ID != "" {
			b.WriteString(`"id":`)
			writeJSONString(&b, s.ID)
			b.WriteByte(',')
		}
		b.WriteString(`"attributes":`)
		writeJSONAttributes(&b, s.Attributes)
		b.WriteByte('}')
	}
	b.WriteString("]}")
	return b.Bytes()
}

// MarshalJSON implements json.Marshaler with the canonical JSON form.
func (u *STSUU) MarshalJSON() ([]byte, error) {
	return u.JSON(), nil
}

// UnmarshalJSON implements json.Unmarshaler with ParseJSON.
func (u *STSUU) UnmarshalJSON(data []byte) error {
	v, err := ParseJSON(data)
	if err != nil {
		return err
	}
	*u = *v
	return nil
}

func writeJSONAttributes(b *bytes.Buffer, attrs Attributes) {
	b.WriteByte('[')
	for i, a := range attrs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":`)
		writeJSONString(b, a.Name)
		b.WriteString(`,"type":`)
		writeJSONString(b, a.Type)
		if a.Nickname != "" {
			b.WriteString(`,"nickname":`)
			writeJSONString(b, a.Nickname)
		}
		b.WriteString(`,"values":[`)
		for j, v := range a.Values {
			if j > 0 {
				b.WriteByte(',')
			}
			if x, ok := v.(XML); ok {
				b.WriteString(`{"` + xmlValueKey + `":`)
				writeJSONString(b, string(x))
				b.WriteByte('}')
				continue
			}
			writeJSONValue(b, v)
		}
		b.WriteString("]}")
	}
	b.WriteByte(']')
}

// writeJSONValue writes a normalized value as compact JSON with sorted
// object members. Nested XML values are written as strings.
func writeJSONValue(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case string:
		writeJSONString(b, x)
	case XML:
		writeJSONString(b, string(x))
	case json.Number:
		if validJSONNumber(string(x)) {
			b.WriteString(string(x))
		} else {
			writeJSONString(b, string(x))
		}
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case nil:
		b.WriteString("null")
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONValue(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedMapKeys(x) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			writeJSONValue(b, x[k])
		}
		b.WriteByte('}')
	default:
		if n, err := NormalizeValue(v); err == nil {
			writeJSONValue(b, n)
			return
		}
		writeJSONString(b, StringValue(v))
	}
}

const hexDigits = "0123456789abcdef"

// writeJSONString writes s as a JSON string. Unlike encoding/json it does
// not escape <, > and & (XML values stay readable), and it escapes every
// character XML 1.0 cannot carry (controls, U+FFFE, U+FFFF) as well as
// U+2028 and U+2029, so the output is safe as XML text and as JavaScript.
// Invalid UTF-8 becomes U+FFFD, as with encoding/json.
func writeJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20:
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xF])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\ufffd`)
		case r == 0x2028 || r == 0x2029 || r == 0xFFFE || r == 0xFFFF:
			b.WriteString(`\u`)
			b.WriteString(strconv.FormatInt(int64(r), 16))
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

// validJSONNumber checks the JSON number grammar (RFC 8259 §6).
func validJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

func sortedMapKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

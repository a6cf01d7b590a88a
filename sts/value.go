package sts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Attribute values keep their JSON types. A value held in an Attribute is
// always one of:
//
//	string          a JSON string (and every value read from ISAM's XML form)
//	json.Number     a JSON number, kept as its literal so integers up to and
//	                beyond 2^53 survive exactly
//	bool            true or false
//	nil             JSON null
//	[]any           a JSON array of values of these kinds
//	map[string]any  a JSON object whose members are values of these kinds
//	XML             an XML fragment (the RST Claims element, SAML content)
//
// NormalizeValue converts Go values (int, float64, []string, ...) into this
// set; every constructor in this package calls it.

// XML is the raw text of an XML fragment held as an attribute value, kept as
// XML rather than flattened to text (ISAM-COMPAT §1.1: a Value may hold XML).
type XML string

// Kind names the JSON type of a value.
type Kind string

// The kinds of values.
const (
	KindString Kind = "string"
	KindNumber Kind = "number"
	KindBool   Kind = "boolean"
	KindNull   Kind = "null"
	KindArray  Kind = "array"
	KindObject Kind = "object"
	KindXML    Kind = "xml"
)

// KindOf returns the kind of a normalized value.
func KindOf(v any) Kind {
	switch v.(type) {
	case string:
		return KindString
	case json.Number:
		return KindNumber
	case bool:
		return KindBool
	case nil:
		return KindNull
	case []any:
		return KindArray
	case map[string]any:
		return KindObject
	case XML:
		return KindXML
	}
	return ""
}

// NormalizeValue converts v into one of the value kinds listed above. Integer
// and float Go types become json.Number; slices and maps are converted
// recursively. Floats that are not finite are refused, as JSON has no form
// for them.
func NormalizeValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, string, bool, XML:
		return x, nil
	case json.Number:
		if !isJSONNumber(string(x)) {
			return nil, fmt.Errorf("invalid number %q", string(x))
		}
		return x, nil
	case int:
		return json.Number(strconv.FormatInt(int64(x), 10)), nil
	case int8:
		return json.Number(strconv.FormatInt(int64(x), 10)), nil
	case int16:
		return json.Number(strconv.FormatInt(int64(x), 10)), nil
	case int32:
		return json.Number(strconv.FormatInt(int64(x), 10)), nil
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), nil
	case uint:
		return json.Number(strconv.FormatUint(uint64(x), 10)), nil
	case uint8:
		return json.Number(strconv.FormatUint(uint64(x), 10)), nil
	case uint16:
		return json.Number(strconv.FormatUint(uint64(x), 10)), nil
	case uint32:
		return json.Number(strconv.FormatUint(uint64(x), 10)), nil
	case uint64:
		return json.Number(strconv.FormatUint(x, 10)), nil
	case float32:
		return NumberFromFloat(float64(x))
	case float64:
		return NumberFromFloat(x)
	case *big.Int:
		return json.Number(x.String()), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := NormalizeValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, err := NormalizeValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out, nil
	case json.RawMessage:
		return ParseJSONValue(x)
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}

// MustValue is NormalizeValue for values known to be valid (constants in
// code); it panics otherwise.
func MustValue(v any) any {
	n, err := NormalizeValue(v)
	if err != nil {
		panic(err)
	}
	return n
}

// NumberFromFloat converts a float64 into a json.Number. Integral values
// within ±2^53 are written without a fraction or exponent ("3600", not
// "3.6e3"); other finite values use the shortest round-tripping form.
func NumberFromFloat(f float64) (json.Number, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("number %v has no JSON form", f)
	}
	if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		return json.Number(strconv.FormatInt(int64(f), 10)), nil
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
}

func isJSONNumber(s string) bool {
	if s == "" {
		return false
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return false
	}
	n, ok := v.(json.Number)
	return ok && string(n) == s && !dec.More()
}

// ParseJSONValue decodes one JSON value into the normalized value kinds,
// keeping numbers as json.Number. Trailing data is an error.
func ParseJSONValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	// Anything but the end of input after the value is an error, including
	// a stray closing bracket (which More and Token report differently).
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after JSON value")
	}
	return v, nil
}

// StringValue returns ISAM's string view of a value: strings as they are,
// numbers as their literal ("3600"), booleans as "true"/"false", null as the
// empty string, arrays and objects as compact JSON, and XML as its text.
func StringValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	case XML:
		return string(x)
	case []any, map[string]any:
		// The same text as the XML form's typed values and the JSON form:
		// sorted members, and no HTML escaping of <, > and &, which rules
		// comparing strings would trip over.
		var b bytes.Buffer
		writeJSONValue(&b, x)
		return b.String()
	}
	return fmt.Sprint(v)
}

// equalNumbers compares two number literals by value. JSON integers have
// no leading zeros, so two integer literals are equal only when they are the
// same text (or both zero: "-0" and "0"); this is exact at any size. Other
// numbers are compared as binary floating point with a 256-bit mantissa,
// which tells apart any two literals a token could reasonably carry;
// literals longer than maxNumberCompare are compared as text, so a hostile
// document cannot make a comparison expensive.
func equalNumbers(x, y string) bool {
	if isIntLiteral(x) && isIntLiteral(y) {
		return strings.TrimPrefix(x, "-") == "0" && strings.TrimPrefix(y, "-") == "0"
	}
	if len(x) > maxNumberCompare || len(y) > maxNumberCompare {
		return false
	}
	fx, _, err1 := big.ParseFloat(x, 10, 256, big.ToNearestEven)
	fy, _, err2 := big.ParseFloat(y, 10, 256, big.ToNearestEven)
	return err1 == nil && err2 == nil && fx.Cmp(fy) == 0
}

const maxNumberCompare = 400

func isIntLiteral(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".eE")
}

// CloneValue returns a deep copy of a normalized value.
func CloneValue(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = CloneValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = CloneValue(e)
		}
		return out
	}
	return v
}

// EqualValues reports whether two normalized values are equal, comparing
// numbers by their numeric value ("1.0" equals "1").
func EqualValues(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		return equalNumbers(string(x), string(y))
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !EqualValues(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			f, ok := y[k]
			if !ok || !EqualValues(e, f) {
				return false
			}
		}
		return true
	}
	return a == b
}

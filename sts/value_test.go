package sts

import (
	"encoding/json"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeValue(t *testing.T) {
	big1, _ := new(big.Int).SetString("18446744073709551617", 10)
	tests := []struct {
		in      any
		want    any
		wantErr bool
	}{
		{in: "s", want: "s"},
		{in: nil, want: nil},
		{in: true, want: true},
		{in: XML("<a/>"), want: XML("<a/>")},
		{in: 42, want: json.Number("42")},
		{in: int64(-9007199254740993), want: json.Number("-9007199254740993")},
		{in: uint64(math.MaxUint64), want: json.Number("18446744073709551615")},
		{in: int8(-8), want: json.Number("-8")},
		{in: float64(3600), want: json.Number("3600")},
		{in: 1.5, want: json.Number("1.5")},
		{in: 1e300, want: json.Number("1e+300")},
		{in: float32(0.25), want: json.Number("0.25")},
		{in: big1, want: json.Number("18446744073709551617")},
		{in: json.Number("1.0"), want: json.Number("1.0")},
		{in: []string{"a", "b"}, want: []any{"a", "b"}},
		{in: map[string]string{"k": "v"}, want: map[string]any{"k": "v"}},
		{in: []any{1, map[string]any{"x": []any{2.5}}}, want: []any{json.Number("1"), map[string]any{"x": []any{json.Number("2.5")}}}},
		{in: json.RawMessage(`{"n":9007199254740993}`), want: map[string]any{"n": json.Number("9007199254740993")}},
		{in: math.NaN(), wantErr: true},
		{in: math.Inf(1), wantErr: true},
		{in: []any{math.Inf(-1)}, wantErr: true},
		{in: json.Number("07"), wantErr: true},
		{in: json.Number("1 "), wantErr: true},
		{in: json.Number(""), wantErr: true},
		{in: struct{}{}, wantErr: true},
		{in: json.RawMessage(`1]`), wantErr: true},
	}
	for _, tt := range tests {
		got, err := NormalizeValue(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("NormalizeValue(%#v) = %#v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("NormalizeValue(%#v): %v", tt.in, err)
			continue
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("NormalizeValue(%#v) (-want +got):\n%s", tt.in, d)
		}
	}
}

func TestParseJSONValueTrailingData(t *testing.T) {
	for _, s := range []string{`1]`, `{}}`, `1 2`, `"a" x`, `[1]]`} {
		if v, err := ParseJSONValue([]byte(s)); err == nil {
			t.Errorf("ParseJSONValue(%q) = %#v, want an error", s, v)
		}
	}
	v, err := ParseJSONValue([]byte(" [1, true] \n"))
	if err != nil || !EqualValues(v, []any{json.Number("1"), true}) {
		t.Errorf("got %#v, %v", v, err)
	}
}

func TestStringValue(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{"x", "x"},
		{json.Number("1767225600"), "1767225600"},
		{json.Number("9007199254740993"), "9007199254740993"},
		{true, "true"},
		{nil, ""},
		{XML(`<a b="1"/>`), `<a b="1"/>`},
		{[]any{"a", json.Number("1"), nil}, `["a",1,null]`},
		// Sorted members, and <, > and & left alone.
		{map[string]any{"z": "<b>&", "a": []any{}}, `{"a":[],"z":"<b>&"}`},
	}
	for _, tt := range tests {
		if got := StringValue(tt.in); got != tt.want {
			t.Errorf("StringValue(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEqualValues(t *testing.T) {
	tests := []struct {
		a, b any
		want bool
	}{
		{json.Number("1"), json.Number("1.0"), true},
		{json.Number("1e3"), json.Number("1000"), true},
		{json.Number("-0"), json.Number("0"), true},
		{json.Number("9007199254740993"), json.Number("9007199254740992"), false},
		{json.Number("18446744073709551617"), json.Number("18446744073709551616"), false},
		{json.Number("0.1"), json.Number("0.10000000000000001"), false},
		{json.Number("-0"), json.Number("-0.0"), true},
		{json.Number("1e999999999"), json.Number("1.0e999999999"), true},
		{json.Number("123456789012345678901234567890"), json.Number("123456789012345678901234567890.0"), true},
		// Beyond maxNumberCompare only identical literals are equal.
		{json.Number(strings.Repeat("9", 500) + ".5"), json.Number(strings.Repeat("9", 500) + ".50"), false},
		{json.Number("1"), "1", false},
		{"a", XML("a"), false},
		{nil, nil, true},
		{nil, "", false},
		{[]any{json.Number("1")}, []any{json.Number("1.0")}, true},
		{[]any{"a"}, []any{"a", "b"}, false},
		{map[string]any{"a": true}, map[string]any{"a": true}, true},
		{map[string]any{"a": true}, map[string]any{"b": true}, false},
		{map[string]any{"a": true}, []any{true}, false},
	}
	for _, tt := range tests {
		if got := EqualValues(tt.a, tt.b); got != tt.want {
			t.Errorf("EqualValues(%#v, %#v) = %v", tt.a, tt.b, got)
		}
		if got := EqualValues(tt.b, tt.a); got != tt.want {
			t.Errorf("EqualValues(%#v, %#v) = %v (reversed)", tt.b, tt.a, got)
		}
	}
}

func TestCloneValueIsDeep(t *testing.T) {
	v := []any{map[string]any{"k": []any{"x"}}}
	c := CloneValue(v).([]any)
	c[0].(map[string]any)["k"].([]any)[0] = "changed"
	if StringValue(v) != `[{"k":["x"]}]` {
		t.Errorf("clone shares memory: %s", StringValue(v))
	}
}

func TestKindOf(t *testing.T) {
	for v, k := range map[any]Kind{"s": KindString, json.Number("1"): KindNumber, true: KindBool, XML("x"): KindXML} {
		if KindOf(v) != k {
			t.Errorf("KindOf(%#v) = %q", v, KindOf(v))
		}
	}
	if KindOf(nil) != KindNull || KindOf([]any{}) != KindArray || KindOf(map[string]any{}) != KindObject || KindOf(1) != "" {
		t.Error("KindOf of null, array, object, int")
	}
}

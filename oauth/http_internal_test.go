package oauth

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// encoderJSON is what writeJSON must produce: encoding/json without HTML
// escaping.
func encoderJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

func TestWriteJSONMatchesEncoder(t *testing.T) {
	for _, v := range []any{
		"", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", "urn:ietf:params:oauth:token-type:jwt", "read write",
		`quote"inside`, `back\slash`, "tab\there", "line\nbreak", "<html>&", "ünïcødé", "\u2028", "\x7f", "bad\xffutf8",
		int64(0), int64(-5), int64(299), 42, 3.5, true, nil, []string{"a", "b"}, map[string]any{"k": "v"},
	} {
		var b bytes.Buffer
		writeJSON(&b, v)
		if got, want := b.String(), encoderJSON(v); got != want {
			t.Errorf("writeJSON(%#v) = %s, want %s", v, got, want)
		}
	}
}

// FuzzWriteJSON checks the string fast path against the encoder on any
// input.
func FuzzWriteJSON(f *testing.F) {
	f.Add("eyJhbGciOiJFUzI1NiJ9")
	f.Add("a\"b\\c\x00\u2028<>&\xff")
	f.Fuzz(func(t *testing.T, s string) {
		var b bytes.Buffer
		writeJSON(&b, s)
		if got, want := b.String(), encoderJSON(s); got != want {
			t.Fatalf("writeJSON(%q) = %s, want %s", s, got, want)
		}
	})
}

// TestReadBody reads bodies with and without Content-Length, at, under
// and over the limit, and a Content-Length that lies.
func TestReadBody(t *testing.T) {
	const max = 1000
	for _, tc := range []struct {
		name string
		body string
		cl   int64 // -1: unknown
	}{
		{"empty", "", 0},
		{"small", "a=b", 3},
		{"unknown length", strings.Repeat("x", 700), -1},
		{"at limit", strings.Repeat("x", max), max},
		{"over limit", strings.Repeat("x", 3*max), 3 * max},
		{"over limit, unknown length", strings.Repeat("x", 3*max), -1},
		{"short length", strings.Repeat("x", 900), 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(strings.NewReader(tc.body)))
			r.ContentLength = tc.cl
			got, err := readBody(r, max)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.body
			if len(want) > max+1 {
				want = want[:max+1]
			}
			if string(got) != want {
				t.Errorf("read %d bytes, want %d", len(got), len(want))
			}
		})
	}
}

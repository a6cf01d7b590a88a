package jwt

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/sts"
)

// FuzzParseObject checks the hot-path JSON reader against encoding/json:
// whatever it accepts, encoding/json decodes to the same value; whatever
// encoding/json accepts as a valid UTF-8 object without duplicate members
// and within the depth bound, it accepts too; and appendJSON writes it
// back to something that parses to the same value.
func FuzzParseObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":[1,2,{"b":null}],"c":"\u0041\n","d":-0.5e+3,"e":true}`,
		`{"a":1,"a":2}`, `{"a":"\ud800"}`, `{"x":01}`, `{"x":1.}`, " {\"k\" : [ ] } ", `{"\u0061":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, order, err := parseObject(data)
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var want map[string]any
		stdErr := dec.Decode(&want)
		if stdErr == nil && len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) > 0 {
			stdErr = errJSONSyntax // trailing data
		}
		if err == nil {
			if stdErr != nil {
				t.Fatalf("accepted %q that encoding/json refuses: %v", data, stdErr)
			}
			if !cmp.Equal(got, want) {
				t.Fatalf("%q: got %v, encoding/json %v", data, got, want)
			}
			if len(order) != len(got) {
				t.Fatalf("order %v for %v", order, got)
			}
			out, err := appendJSON(nil, got)
			if err != nil {
				t.Fatal(err)
			}
			again, _, err := parseObject(out)
			if err != nil || !cmp.Equal(again, got) {
				t.Fatalf("round trip of %q via %q: %v %v", data, out, again, err)
			}
			return
		}
		if stdErr == nil && want != nil && utf8.Valid(data) && !bytes.Contains(data, []byte(`\u`)) && maxDepth(data) <= maxJSONDepth && !hasDup(data) {
			t.Fatalf("refused %q (%v) that encoding/json accepts", data, err)
		}
	})
}

func maxDepth(b []byte) int {
	d, m, in := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == '{' || c == '['):
			d++
			m = max(m, d)
		case !in && (c == '}' || c == ']'):
			d--
		}
	}
	return m
}

// hasDup reports duplicate member names anywhere, by decoding with the
// token API.
func hasDup(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		obj  bool
		key  bool
		seen map[string]bool
	}
	var st []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				st = append(st, &frame{obj: true, key: true, seen: map[string]bool{}})
				continue
			case '[':
				st = append(st, &frame{})
				continue
			default:
				st = st[:len(st)-1]
			}
		case string:
			if len(st) > 0 && st[len(st)-1].obj && st[len(st)-1].key {
				f := st[len(st)-1]
				if f.seen[v] {
					return true
				}
				f.seen[v] = true
				f.key = false
				continue
			}
		}
		if len(st) > 0 && st[len(st)-1].obj {
			st[len(st)-1].key = true
		}
	}
}

// FuzzVerify feeds arbitrary tokens to a validate step: it must never
// panic, and never accept anything (no token signed by its key is in the
// corpus except the seed, which it must accept).
func FuzzVerify(f *testing.F) {
	h := stdHost(f)
	iss := mustStep(f, h, sts.ModeIssue, "signing: {keystore: sig, label: es256}\niss: https://idp\nlifetime: 87600h\n")
	val := mustStep(f, h, sts.ModeValidate, "signing: {keystore: sig, label: es256}\niss: https://idp\n")
	good := issueCall(f, iss, nil)
	f.Add([]byte(good))
	f.Add([]byte("a.b.c"))
	f.Add([]byte("a.b.c.d.e"))
	f.Fuzz(func(t *testing.T, tok []byte) {
		_, err := val.val.Verify(context.Background(), tok, VerifyOptions{})
		if err == nil && string(tok) != good {
			t.Fatalf("accepted a token the step never issued: %q", tok)
		}
	})
}

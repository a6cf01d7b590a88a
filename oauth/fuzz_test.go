package oauth

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzParseForm feeds arbitrary bodies to the token endpoint's form parser:
// it must never panic, and whatever it accepts has no repeated parameter
// other than audience and resource.
func FuzzParseForm(f *testing.F) {
	for _, s := range []string{
		"grant_type=client_credentials&scope=read",
		"audience=a&audience=b&resource=https%3A%2F%2Fx",
		"grant_type=a&grant_type=b",
		"%zz=1", "a=%", ";;;", "",
	} {
		f.Add(s)
	}
	a := &App{MaxBodyBytes: 4096}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form, err := a.parseForm(r)
		if err != nil {
			return
		}
		for k, v := range form {
			if len(v) > 1 && !repeatable[k] {
				t.Fatalf("repeated %q accepted", k)
			}
		}
	})
}

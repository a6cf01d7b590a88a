package clients

import (
	"encoding/base64"
	"net/url"
	"testing"
)

// FuzzParseBasic feeds arbitrary Authorization values to the Basic parser:
// it must never panic, and whatever it accepts must round-trip through the
// encoding a conforming client uses.
func FuzzParseBasic(f *testing.F) {
	for _, s := range []string{
		"Basic " + base64.StdEncoding.EncodeToString([]byte("demo:secret")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("a%20b:c%2Bd+e")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte(":")),
		"Basic !!!", "Basic", "basic ZGVtbzo=", "Basic " + base64.StdEncoding.EncodeToString([]byte("%zz:x")),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, authz string) {
		id, secret, err := parseBasic(authz)
		if err != nil {
			return
		}
		if id == "" {
			t.Fatal("accepted an empty client id")
		}
		enc := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
		id2, secret2, err := parseBasic(enc)
		if err != nil || id2 != id || secret2 != secret {
			t.Fatalf("round trip of %q/%q: %q/%q %v", id, secret, id2, secret2, err)
		}
	})
}

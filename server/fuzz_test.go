package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzAPIRequest feeds arbitrary bodies to the native API's decoder and
// request builder: malformed input must be an invalid_request, never a
// panic, and an accepted request must carry a normalized request type.
func FuzzAPIRequest(f *testing.F) {
	for _, s := range []string{
		okBody,
		`{"request_type":"validate","token":{"principal":{"name":"a"}},"claims":{"n":12345678901234567890,"o":{"a":[1,true,null]}},"context":{"a":"b","c":["d"]}}`,
		`{"request_type":"exchange","actor_token":"x","actor_token_type":"t","audience":["a"],"scope":"a b","include":["stsuu"]}`,
		`{"request_type":""}`, `[]`, `null`, `{"token":1}`, `{"request_type":"issue"}{}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, APIPath, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var b APIRequest
		if err := decodeJSONBody(r, &b); err != nil {
			return
		}
		req, err := b.toRequest(1 << 16)
		if err != nil {
			return
		}
		if req.Type == "" {
			t.Fatal("accepted a request without a type")
		}
	})
}

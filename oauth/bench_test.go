package oauth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkTokenExchange measures one RFC 8693 exchange (ES256 subject in,
// ES256 access token out, the oauth policy step) through the server's
// handler, without a network: the endpoint's own cost next to the chain's.
func BenchmarkTokenExchange(b *testing.B) {
	e := newEnv(b, "")
	body := exchangeForm(e.subjectToken(nil)).Encode()
	h := e.srv.Config.Handler
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("app", secret)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// RequestID returns the id of the request the context belongs to.
func RequestID(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil {
		return st.id
	}
	return ""
}

// Logger returns the request's logger, which carries its request id; a
// null logger outside a request.
func Logger(ctx context.Context) hclog.Logger {
	if st := stateFrom(ctx); st != nil && st.log != nil {
		return st.log
	}
	return hclog.NewNullLogger()
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts an incoming id only when it is short and plain,
// so a caller cannot inject log lines or headers through it.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// ErrorBody is the JSON error response (RFC 6749 §5.2).
type ErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// WriteError answers with err as JSON {error, error_description} and the
// sts.Error's status. The hidden cause is logged under the request id:
// at info for the caller's errors, at error for server faults.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	se := sts.AsError(err)
	log := Logger(r.Context())
	if se.Status >= 500 {
		log.Error("request failed", "error", se.Code, "cause", causeOf(se))
	} else {
		log.Info("request refused", "error", se.Code, "cause", causeOf(se))
	}
	if se.Status == http.StatusUnauthorized && r.Header.Get("Authorization") != "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="chainsts", charset="UTF-8"`)
	}
	if se.Status == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	WriteJSON(w, se.Status, ErrorBody{Error: se.Code, Description: se.Description})
}

func causeOf(e *sts.Error) string {
	if e.Cause == nil {
		return e.Description
	}
	return e.Cause.Error()
}

// WriteJSON writes v as a JSON response that no cache may keep (token
// responses must not be stored: RFC 6749 §5.1).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

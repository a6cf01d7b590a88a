package oauth

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/chainsts/chainsts/server"
	"github.com/chainsts/chainsts/sts"
)

// repeatable are the parameters RFC 8693 §2.1 lets a request repeat; every
// other parameter may appear at most once (RFC 6749 §3.2).
var repeatable = map[string]bool{"audience": true, "resource": true}

// Response formats of the seed's `format` parameter.
const (
	FormatJSON       = "json"
	FormatURLEncoded = "urlencoded"
	FormatXML        = "xml"
)

// exchange is one endpoint request being served.
type exchange struct {
	w      http.ResponseWriter
	r      *http.Request
	form   url.Values
	format string
}

// endpoint wraps a POST endpoint handler: the per-address rate limit, the
// deadline, strict form parsing (SECURITY §2.2–2.3), and the error answer.
func (a *App) endpoint(h func(*exchange) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := a.timeout(r.Context())
		defer cancel()
		if ctx != r.Context() {
			r = r.WithContext(ctx)
		}
		x := &exchange{w: w, r: r, format: FormatJSON}
		noStore(w)
		if retry, ok := a.limits.allowAddress(r.RemoteAddr); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(retry))
			x.fail(sts.ErrTooManyRequests.WithCause(fmt.Errorf("rate limit for address %s", r.RemoteAddr)))
			return
		}
		form, err := a.parseForm(r)
		if err != nil {
			x.fail(err)
			return
		}
		x.form = form
		switch f := form.Get("format"); f {
		case "", FormatJSON:
		case FormatURLEncoded, FormatXML:
			x.format = f
		default:
			x.fail(sts.ErrInvalidRequest.WithDescription("unsupported format"))
			return
		}
		if err := h(x); err != nil {
			x.fail(err)
		}
	})
}

// parseForm reads an application/x-www-form-urlencoded body of at most
// MaxBodyBytes, refusing repeated parameters and any URL query (OAuth
// parameters, credentials included, never travel in the URL).
func (a *App) parseForm(r *http.Request) (url.Values, error) {
	if r.URL.RawQuery != "" {
		return nil, sts.ErrInvalidRequest.WithDescription("parameters must be sent in the request body, not the URL query")
	}
	// The exact media type, which is what clients send, needs no parsing.
	if ct := r.Header.Get("Content-Type"); ct != formType {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != formType {
			return nil, sts.ErrInvalidRequest.WithDescription("the request body must be application/x-www-form-urlencoded")
		}
	}
	body, err := readBody(r, a.MaxBodyBytes)
	if err != nil {
		return nil, sts.ErrInvalidRequest.WithDescription("the request body could not be read").WithCause(err)
	}
	if int64(len(body)) > a.MaxBodyBytes {
		return nil, (&sts.Error{Code: "invalid_request", Status: http.StatusRequestEntityTooLarge, Description: "the request body is too large"}).
			WithCause(fmt.Errorf("body over %d bytes", a.MaxBodyBytes))
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, sts.ErrInvalidRequest.WithDescription("the request body is not a valid form").WithCause(err)
	}
	for k, v := range form {
		if len(v) > 1 && !repeatable[k] {
			return nil, sts.ErrInvalidRequest.WithDescription("parameter %s is repeated", k)
		}
	}
	r.PostForm = form
	return form, nil
}

const formType = "application/x-www-form-urlencoded"

// readBody reads at most max+1 bytes of the body (one more than allowed,
// so the caller sees an oversized body), into a buffer sized from
// Content-Length when the client sent one, instead of growing one.
func readBody(r *http.Request, max int64) ([]byte, error) {
	size := int64(512)
	if cl := r.ContentLength; cl > 0 && cl <= max {
		size = cl + 1 // room to read EOF without growing
	}
	lr := io.LimitReader(r.Body, max+1)
	body := make([]byte, 0, size)
	for {
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
		n, err := lr.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if err == io.EOF {
			return body, nil
		}
		if err != nil {
			return body, err
		}
	}
}

// noStore sets the cache headers every token endpoint response carries
// (RFC 6749 §5.1, SECURITY §2.5).
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// field is one response member; ordered so that every format writes the
// members in the same order.
type field struct {
	name  string
	value any
}

// reply writes a successful response in the request's format.
func (x *exchange) reply(status int, fields []field) {
	writeFields(x.w, status, x.format, "response", fields)
}

func writeFields(w http.ResponseWriter, status int, format, root string, fields []field) {
	var body []byte
	switch format {
	case FormatURLEncoded:
		v := url.Values{}
		for _, f := range fields {
			v.Set(f.name, sts.StringValue(mustValue(f.value)))
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		body = []byte(v.Encode())
	case FormatXML:
		var b bytes.Buffer
		b.WriteString(xml.Header)
		b.WriteString("<" + root + ">")
		for _, f := range fields {
			b.WriteString("<" + f.name + ">")
			_ = xml.EscapeText(&b, []byte(sts.StringValue(mustValue(f.value))))
			b.WriteString("</" + f.name + ">")
		}
		b.WriteString("</" + root + ">")
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		body = b.Bytes()
	default:
		var b bytes.Buffer
		b.WriteByte('{')
		b.Grow(64)
		for i, f := range fields {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(&b, f.name)
			b.WriteByte(':')
			writeJSON(&b, f.value)
		}
		b.WriteByte('}')
		w.Header().Set("Content-Type", "application/json")
		body = b.Bytes()
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeJSON writes v as encoding/json with HTML escaping off writes it.
// Strings that need no escaping (tokens, token types, scopes) and integers
// are written directly; anything else goes through the encoder.
func writeJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case string:
		if plainJSONString(x) {
			b.WriteByte('"')
			b.WriteString(x)
			b.WriteByte('"')
			return
		}
	case int64:
		b.Write(strconv.AppendInt(b.AvailableBuffer(), x, 10))
		return
	case int:
		b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(x), 10))
		return
	}
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	b.Truncate(b.Len() - 1) // Encode's newline
}

// plainJSONString reports whether s is printable ASCII without '"' or
// a backslash, which encoding/json writes unchanged between quotes.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func mustValue(v any) any {
	n, err := sts.NormalizeValue(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return n
}

// fail answers with err (RFC 6749 §5.2): the code and a generic
// description, the status, WWW-Authenticate for a failed Basic
// authentication; the cause goes to the log under the request id.
func (x *exchange) fail(err error) {
	se := sts.AsError(err)
	log := server.Logger(x.r.Context())
	if se.Status >= 500 {
		log.Error("oauth request failed", "path", x.r.URL.Path, "error", se.Code, "cause", causeOf(se))
	} else {
		log.Info("oauth request refused", "path", x.r.URL.Path, "error", se.Code, "cause", causeOf(se))
	}
	if se.Status == http.StatusUnauthorized {
		if x.r.Header.Get("Authorization") != "" {
			x.w.Header().Set("WWW-Authenticate", `Basic realm="chainsts", error="invalid_client"`)
		} else {
			x.w.Header().Set("WWW-Authenticate", `Basic realm="chainsts"`)
		}
	}
	if se.Status == http.StatusTooManyRequests && x.w.Header().Get("Retry-After") == "" {
		x.w.Header().Set("Retry-After", "1")
	}
	fields := []field{{"error", se.Code}}
	if se.Description != "" {
		fields = append(fields, field{"error_description", se.Description})
	}
	noStore(x.w)
	writeFields(x.w, se.Status, x.format, "error", fields)
}

func causeOf(e *sts.Error) string {
	if e.Cause == nil {
		return ""
	}
	return e.Cause.Error()
}

// sortedKeys returns the map's keys in order, for deterministic output.
func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/chainsts/chainsts/clients"
	"github.com/chainsts/chainsts/sts"
)

// APIPath is the native STS API's path (PRODUCT §4.3).
const APIPath = "/sts/v1/request"

// APIRequest is the body of POST /sts/v1/request.
type APIRequest struct {
	// RequestType is issue, validate, exchange... or a WS-Trust URI.
	RequestType string `json:"request_type"`
	// Issuer and AppliesTo are the addresses chains are looked up by.
	Issuer               string `json:"issuer,omitempty"`
	AppliesTo            string `json:"applies_to,omitempty"`
	AppliesToServiceName string `json:"applies_to_service_name,omitempty"`
	// TokenType is the input token's type URI.
	TokenType string `json:"token_type,omitempty"`
	// Token is the input token: a JSON string (a JWT, an XML document), or
	// a JSON object or array taken as the token's bytes (an STSUU in JSON).
	Token json.RawMessage `json:"token,omitempty"`
	// ActorToken and ActorTokenType carry an optional actor token.
	ActorToken     json.RawMessage `json:"actor_token,omitempty"`
	ActorTokenType string          `json:"actor_token_type,omitempty"`
	// Claims are per-request claims (e.g. signing.jwksUri), JSON-typed.
	Claims map[string]any `json:"claims,omitempty"`
	// Context holds request parameters modules see as context attributes:
	// each member is a string or an array of strings.
	Context map[string]any `json:"context,omitempty"`
	// Scope (space separated), Audience, Resource and RequestedTokenType
	// are the RFC 8693 parameters of the same names.
	Scope              string   `json:"scope,omitempty"`
	Audience           []string `json:"audience,omitempty"`
	Resource           []string `json:"resource,omitempty"`
	RequestedTokenType string   `json:"requested_token_type,omitempty"`
	// Include asks for debug output: "stsuu" (the final universal user) and
	// "trace" (the steps, with the universal user after each). Only clients
	// with debug: true may ask.
	Include []string `json:"include,omitempty"`
}

// APIResponse is the successful answer of POST /sts/v1/request.
type APIResponse struct {
	Token     string `json:"token"`
	TokenType string `json:"token_type"`
	// ExpiresIn is the issued token's lifetime in seconds, when known.
	ExpiresIn int64 `json:"expires_in,omitempty"`
	// Chain, STSUU and Trace are debug output.
	Chain string          `json:"chain,omitempty"`
	STSUU json.RawMessage `json:"stsuu,omitempty"`
	Trace []APITraceStep  `json:"trace,omitempty"`
}

// APITraceStep is one step of the debug trace.
type APITraceStep struct {
	Step       string          `json:"step"`
	Module     string          `json:"module"`
	Mode       sts.Mode        `json:"mode"`
	DurationMS float64         `json:"duration_ms"`
	Changes    []string        `json:"changes,omitempty"`
	Error      string          `json:"error,omitempty"`
	After      json.RawMessage `json:"stsuu_after,omitempty"`
}

var (
	errDebugDenied = sts.ErrAccessDenied.WithDescription("this client may not request debug output")
	errNoAuth      = sts.ErrInvalidClient.WithCause(errors.New("no client credentials"))
)

// handleAPI serves POST /sts/v1/request.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	e := entryFrom(ctx)
	cfg := e.cfg
	log := Logger(ctx)

	client, err := s.authenticateAPI(r, e)
	if err != nil {
		if errors.Is(err, errNoAuth) {
			w.Header().Set("WWW-Authenticate", `Basic realm="chainsts", charset="UTF-8"`)
		}
		var ra *retryAfterError
		if errors.As(err, &ra) {
			w.Header().Set("Retry-After", strconv.Itoa(ra.seconds))
		}
		WriteError(w, r, err)
		return
	}
	var body APIRequest
	if err := decodeJSONBody(r, &body); err != nil {
		WriteError(w, r, err)
		return
	}
	req, err := body.toRequest(cfg.Limits.MaxTokenBytes)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	req.ID = RequestID(ctx)
	wantSTSUU, wantTrace := false, false
	for _, inc := range body.Include {
		switch inc {
		case "stsuu":
			wantSTSUU = true
		case "trace":
			wantTrace = true
		default:
			WriteError(w, r, sts.ErrInvalidRequest.WithDescription("include accepts \"stsuu\" and \"trace\""))
			return
		}
	}
	if (wantSTSUU || wantTrace) && (client == nil || !client.Debug) {
		WriteError(w, r, errDebugDenied)
		return
	}
	req.Trace = wantTrace
	clientID := ""
	if client != nil {
		clientID = client.ID
		req.ClientID = client.ID
	}

	resp, err := RuntimeFrom(ctx).Run(ctx, req)
	chain := ""
	if resp != nil {
		chain = resp.Chain
	}
	var inFP string
	if req.Base != nil {
		inFP = Fingerprint(req.Base.Data)
	}
	if err != nil {
		log.Info("token denied", "chain", chain, "client_id", clientID, "request_type", req.Type, "input_fp", inFP, "error", Result(err))
		WriteError(w, r, err)
		return
	}
	if resp.Token == nil {
		WriteError(w, r, sts.ErrServerError.WithCause(fmt.Errorf("chain %q issued no token", chain)))
		return
	}
	log.Info("token issued", "chain", chain, "client_id", clientID, "request_type", req.Type,
		"input_fp", inFP, "output_fp", Fingerprint(resp.Token.Data), "token_type", resp.Token.Type)

	out := APIResponse{Token: string(resp.Token.Data), TokenType: resp.Token.Type}
	if !resp.Token.ExpiresAt.IsZero() {
		if d := resp.Token.ExpiresAt.Sub(s.now()); d > 0 {
			out.ExpiresIn = int64(d.Seconds())
		}
	}
	if wantSTSUU || wantTrace {
		out.Chain = chain
	}
	if wantSTSUU && resp.User != nil {
		out.STSUU = resp.User.JSON()
	}
	if wantTrace {
		out.Trace = traceSteps(resp.Trace)
	}
	WriteJSON(w, http.StatusOK, out)
}

func traceSteps(steps []sts.TraceStep) []APITraceStep {
	out := make([]APITraceStep, len(steps))
	for i, t := range steps {
		out[i] = APITraceStep{
			Step: t.Step, Module: t.Module, Mode: t.Mode,
			DurationMS: float64(t.Duration.Microseconds()) / 1000,
			Changes:    t.Changes, Error: t.Error,
		}
		if t.After != nil {
			out[i].After = t.After.JSON()
		}
	}
	return out
}

// authenticateAPI returns the calling client, or nil for an anonymous call
// that the configuration allows.
func (s *Server) authenticateAPI(r *http.Request, e *routerEntry) (*clients.Client, error) {
	ca, err := e.clients()
	if err != nil {
		return nil, sts.ErrServerError.WithCause(err)
	}
	rl := e.cfg.API.RateLimit
	if wait, blocked := s.limits.addressBlocked(rl, r.RemoteAddr); blocked {
		return nil, tooMany(wait, "too many failed client authentications from this address")
	}
	c, err := ca.Authenticate(r, nil)
	if errors.Is(err, clients.ErrNoCredentials) {
		if e.cfg.API.AllowAnonymousLoopback && s.publicLoopback && isLoopbackRemote(r.RemoteAddr) {
			return nil, nil
		}
		return nil, errNoAuth
	}
	if err != nil {
		if errors.Is(err, sts.ErrInvalidClient) {
			s.limits.authFailed(rl, r.RemoteAddr)
		}
		return nil, err
	}
	if wait, ok := s.limits.allowClient(rl, c.ID); !ok {
		return nil, tooMany(wait, fmt.Sprintf("client %q is over its rate limit", c.ID))
	}
	return c, nil
}

// retryAfterError is a 429 carrying its Retry-After delay.
type retryAfterError struct {
	err     *sts.Error
	seconds int
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

func tooMany(wait int, cause string) error {
	if wait < 1 {
		wait = 1
	}
	return &retryAfterError{err: sts.ErrTooManyRequests.WithCause(errors.New(cause)), seconds: wait}
}

func isLoopbackRemote(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// decodeJSONBody reads a JSON request body strictly: a JSON content type,
// no unknown fields, one value, numbers kept exact.
func decodeJSONBody(r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &sts.Error{Code: "invalid_request", Status: http.StatusUnsupportedMediaType,
			Description: "the request body must be application/json"}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &sts.Error{Code: "invalid_request", Status: http.StatusRequestEntityTooLarge,
				Description: "the request body is too large", Cause: err}
		}
		return sts.ErrInvalidRequest.WithDescription("the request body is not valid: %s", jsonProblem(err)).WithCause(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return sts.ErrInvalidRequest.WithDescription("the request body is not valid: data after the JSON object")
	}
	return nil
}

// jsonProblem describes a JSON decoding error without echoing input
// values: field names and types are safe, values may be tokens.
func jsonProblem(err error) string {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute) && ute.Field == "":
		// The body itself has the wrong type ([], "x", 1).
		return "the body must be a JSON object"
	case errors.As(err, &ute):
		return fmt.Sprintf("field %q must be %s", ute.Field, jsonTypeName(ute.Type.Kind().String()))
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at offset %d", se.Offset)
	case errors.Is(err, io.EOF):
		return "empty body"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "malformed JSON"
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "of another type"
}

// tokenBytes turns the token member into the token's bytes: a JSON string
// is the token itself; an object or array is the token as JSON.
func tokenBytes(raw json.RawMessage, field string) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, sts.ErrInvalidRequest.WithDescription("%s is not a valid JSON string", field)
		}
		return []byte(s), nil
	case '{', '[':
		return raw, nil
	}
	return nil, sts.ErrInvalidRequest.WithDescription("%s must be a string, an object or an array", field)
}

// toRequest checks the body and builds the sts.Request.
func (b *APIRequest) toRequest(maxToken int) (*sts.Request, error) {
	if b.RequestType == "" {
		return nil, sts.ErrInvalidRequest.WithDescription("request_type is required")
	}
	req := &sts.Request{
		Type:                 sts.NormalizeRequestType(b.RequestType),
		Issuer:               b.Issuer,
		AppliesTo:            b.AppliesTo,
		AppliesToServiceName: b.AppliesToServiceName,
		TokenType:            b.TokenType,
		RequestedTokenType:   b.RequestedTokenType,
		Audiences:            b.Audience,
		Resources:            b.Resource,
		Scopes:               strings.Fields(b.Scope),
	}
	tok, err := tokenBytes(b.Token, "token")
	if err != nil {
		return nil, err
	}
	if len(tok) > maxToken {
		return nil, sts.ErrInvalidRequest.WithDescription("token is larger than %d bytes", maxToken)
	}
	if tok != nil {
		req.Base = &sts.Token{Type: b.TokenType, Data: tok}
	}
	act, err := tokenBytes(b.ActorToken, "actor_token")
	if err != nil {
		return nil, err
	}
	if len(act) > maxToken {
		return nil, sts.ErrInvalidRequest.WithDescription("actor_token is larger than %d bytes", maxToken)
	}
	if act != nil {
		req.Actor = &sts.Token{Type: b.ActorTokenType, Data: act}
	} else if b.ActorTokenType != "" {
		return nil, sts.ErrInvalidRequest.WithDescription("actor_token_type without actor_token")
	}
	if len(b.Claims) > 0 {
		req.Claims = make(map[string]any, len(b.Claims))
		for k, v := range b.Claims {
			n, err := sts.NormalizeValue(v)
			if err != nil {
				return nil, sts.ErrInvalidRequest.WithDescription("claim %q has an unsupported value", k)
			}
			req.Claims[k] = n
		}
	}
	if len(b.Context) > 0 {
		req.Params = make(map[string][]string, len(b.Context))
		for k, v := range b.Context {
			switch x := v.(type) {
			case string:
				req.Params[k] = []string{x}
			case []any:
				for _, e := range x {
					s, ok := e.(string)
					if !ok {
						return nil, sts.ErrInvalidRequest.WithDescription("context member %q must be a string or an array of strings", k)
					}
					req.Params[k] = append(req.Params[k], s)
				}
			default:
				return nil, sts.ErrInvalidRequest.WithDescription("context member %q must be a string or an array of strings", k)
			}
		}
	}
	return req, nil
}

package clients

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/chainsts/chainsts/sts"
)

// Method is a client authentication method beyond the secret-based ones
// the app implements itself (private_key_jwt, client_secret_jwt,
// tls_client_auth). The component that implements one registers it with
// App.RegisterMethod from its Provision.
type Method interface {
	// Name is the method's name as in auth_method (RFC 7591 §2).
	Name() string
	// Present reports whether the request carries this method's
	// credentials (for private_key_jwt: a client_assertion parameter).
	Present(r *http.Request, form url.Values) bool
	// Authenticate checks the credentials and returns the client. Errors
	// are *sts.Error values (invalid_client, invalid_request).
	Authenticate(ctx context.Context, a *App, r *http.Request, form url.Values) (*Client, error)
}

// RegisterMethod adds a client authentication method.
func (a *App) RegisterMethod(m Method) {
	a.methodsMu.Lock()
	defer a.methodsMu.Unlock()
	a.methods = append(a.methods, m)
}

// ErrNoCredentials is returned by Authenticate when the request carries no
// client credentials at all; the caller decides whether an anonymous
// request is acceptable.
var ErrNoCredentials = errors.New("no client credentials")

// Result says how a request was authenticated.
type Result struct {
	Client *Client
	// Method is the authentication method used.
	Method string
}

// queryCredentialParams are the parameters that carry client credentials;
// none may appear in the URL query (SECURITY §2.2).
var queryCredentialParams = []string{"client_id", "client_secret", "client_assertion", "client_assertion_type"}

// Authenticate authenticates the client of a token-endpoint style request
// (RFC 6749 §2.3). form must hold the request body's parameters only
// (r.PostForm), never the URL query, or nil for a body that is not a form.
// Exactly one method may be used. It returns ErrNoCredentials when the
// request has none, an *sts.Error (invalid_request for a malformed or
// ambiguous request, invalid_client for failed authentication) otherwise.
func (a *App) Authenticate(r *http.Request, form url.Values) (*Client, error) {
	res, err := a.AuthenticateMethod(r, form)
	if err != nil {
		return nil, err
	}
	return res.Client, nil
}

// AuthenticateMethod is Authenticate also returning the method used.
func (a *App) AuthenticateMethod(r *http.Request, form url.Values) (Result, error) {
	ctx := r.Context()
	if r.URL.RawQuery != "" { // parsing an empty query would only allocate
		q := r.URL.Query()
		for _, p := range queryCredentialParams {
			if q.Has(p) {
				return Result{}, sts.ErrInvalidRequest.WithDescription("client credentials must not be sent in the URL query").
					WithCause(fmt.Errorf("%s in the URL query", p))
			}
		}
	}
	for _, p := range queryCredentialParams {
		if len(form[p]) > 1 {
			return Result{}, sts.ErrInvalidRequest.WithDescription("repeated parameter %s", p)
		}
	}
	authz := r.Header.Get("Authorization")
	hasBasic := false
	if authz != "" {
		scheme, _, _ := strings.Cut(authz, " ")
		if !strings.EqualFold(scheme, "Basic") {
			return Result{}, sts.ErrInvalidClient.WithCause(fmt.Errorf("unsupported Authorization scheme %q", scheme))
		}
		hasBasic = true
	}
	var present []string
	if hasBasic {
		present = append(present, MethodBasic)
	}
	if form.Has("client_secret") {
		present = append(present, MethodPost)
	}
	a.methodsMu.RLock()
	var extra Method
	for _, m := range a.methods {
		if m.Present(r, form) {
			present = append(present, m.Name())
			extra = m
		}
	}
	a.methodsMu.RUnlock()
	if len(present) == 0 && form.Has("client_assertion") {
		return Result{}, sts.ErrInvalidClient.WithCause(errors.New("client_assertion but no assertion method is configured"))
	}
	if len(present) > 1 {
		return Result{}, sts.ErrInvalidRequest.WithDescription("use exactly one client authentication method").
			WithCause(fmt.Errorf("methods %v used together", present))
	}
	if len(present) == 0 {
		id := form.Get("client_id")
		if id == "" {
			return Result{}, ErrNoCredentials
		}
		return a.authenticatePublic(ctx, id)
	}
	var (
		c      *Client
		err    error
		method = present[0]
	)
	switch {
	case hasBasic:
		var id, secret string
		id, secret, err = parseBasic(authz)
		if err != nil {
			return Result{}, sts.ErrInvalidClient.WithCause(err)
		}
		if fid := form.Get("client_id"); fid != "" && fid != id {
			return Result{}, sts.ErrInvalidRequest.WithDescription("client_id does not match the authenticated client").
				WithCause(fmt.Errorf("client_id %q in the body, %q in Basic credentials", fid, id))
		}
		c, err = a.VerifySecret(ctx, id, secret)
	case method == MethodPost:
		id := form.Get("client_id")
		if id == "" {
			return Result{}, sts.ErrInvalidRequest.WithDescription("client_secret without client_id")
		}
		c, err = a.VerifySecret(ctx, id, form.Get("client_secret"))
	default:
		c, err = extra.Authenticate(ctx, a, r, form)
	}
	if err != nil {
		return Result{}, err
	}
	if c.AuthMethod != method {
		return Result{}, invalidClient(c.ID, fmt.Sprintf("authenticated with %s but registered for %s", method, c.AuthMethod))
	}
	return Result{Client: c, Method: method}, nil
}

// authenticatePublic identifies a public client (auth_method none) by its
// client_id alone.
func (a *App) authenticatePublic(ctx context.Context, id string) (Result, error) {
	c, err := a.Lookup(ctx, id)
	if err != nil {
		return Result{}, sts.ErrTemporarilyUnavailable.WithCause(err)
	}
	if c == nil {
		return Result{}, invalidClient(id, "unknown client")
	}
	if c.AuthMethod != MethodNone {
		return Result{}, invalidClient(id, "confidential client sent no credentials")
	}
	if !c.IsEnabled() {
		return Result{}, invalidClient(id, "client is disabled")
	}
	return Result{Client: c, Method: MethodNone}, nil
}

// parseBasic reads HTTP Basic client credentials. RFC 6749 §2.3.1 has the
// client form-urlencode its id and secret before Basic encoding them, so
// both are decoded here: a secret containing "+" or "%" is sent as "%2B",
// "%25" by conforming clients.
func parseBasic(authz string) (id, secret string, err error) {
	_, enc, _ := strings.Cut(authz, " ")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", "", errors.New("malformed Basic credentials")
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errors.New("malformed Basic credentials: no colon")
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", errors.New("malformed Basic credentials: client id is not form-urlencoded")
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", errors.New("malformed Basic credentials: secret is not form-urlencoded")
	}
	if id == "" {
		return "", "", errors.New("malformed Basic credentials: empty client id")
	}
	return id, secret, nil
}

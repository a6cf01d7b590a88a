package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/chainsts/chainsts/clients"
	"github.com/chainsts/chainsts/modules/opaque"
	"github.com/chainsts/chainsts/server"
	"github.com/chainsts/chainsts/store"
	"github.com/chainsts/chainsts/sts"
)

// callerClient authenticates the caller of introspection and revocation;
// allowPublic admits public clients identified by client_id alone.
func (a *App) callerClient(x *exchange, allowPublic bool) (*clients.Client, error) {
	c, err := a.authenticate(x)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, noClient()
	}
	if c.AuthMethod == clients.MethodNone && !allowPublic {
		return nil, sts.ErrInvalidClient.WithCause(fmt.Errorf("public client %q may not introspect", c.ID))
	}
	return c, nil
}

// inspected is a token found active, with the claims introspection
// returns.
type inspected struct {
	claims   map[string]any
	clientID string
	jti      string
	exp      any
	opaqueID string
}

// inspect finds out whether a token is active. It returns nil, nil for an
// inactive token (unknown, expired, revoked, malformed, foreign) and an
// error only when the server cannot decide (store outage, server fault),
// so that a failed check is never mistaken for an inactive token or the
// other way round.
func (a *App) inspect(ctx context.Context, caller *clients.Client, tok string) (*inspected, error) {
	log := server.Logger(ctx)
	if !strings.Contains(tok, ".") {
		t, err := opaque.Lookup(ctx, a.st, tok)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, store.Unavailable(err)
		}
		claims := map[string]any{
			"iss": a.Issuer, "exp": t.Record.ExpiresAt.Unix(), "iat": t.Record.IssuedAt.Unix(),
			"token_type": "Bearer",
		}
		if t.Record.Subject != "" {
			claims["sub"] = t.Record.Subject
		}
		if t.Record.ClientID != "" {
			claims["client_id"] = t.Record.ClientID
		}
		if t.Scope != "" {
			claims["scope"] = t.Scope
		}
		switch len(t.Audience) {
		case 0:
		case 1:
			claims["aud"] = t.Audience[0]
		default:
			claims["aud"] = t.Audience
		}
		return &inspected{claims: claims, clientID: t.Record.ClientID, opaqueID: t.Record.ID}, nil
	}
	rt, err := runtimeOf(ctx)
	if err != nil {
		return nil, err
	}
	applies := a.Introspection.AppliesTo
	if applies == "" {
		applies = a.Issuer
	}
	req := &sts.Request{
		ID: server.RequestID(ctx), Type: sts.RequestValidate, Issuer: caller.ID, AppliesTo: applies,
		TokenType: sts.TokenTypeAccessToken, ClientID: caller.ID,
		Base: &sts.Token{Type: sts.TokenTypeAccessToken, Data: []byte(tok)},
	}
	if lk, ok := rt.(lookuper); ok {
		if _, found := lk.Lookup(req); !found {
			log.Warn("no validate chain for introspection; every JWT is reported inactive", "lookup", req.Key().String())
			return nil, nil
		}
	}
	resp, err := rt.Run(ctx, req)
	if err != nil {
		se := sts.AsError(err)
		if se.Status >= 500 {
			return nil, se
		}
		log.Debug("token inactive", "cause", err.Error())
		return nil, nil
	}
	claims := map[string]any{}
	for _, at := range resp.User.Attributes {
		if at.Type != sts.TypeJWTClaim || len(at.Values) == 0 {
			continue
		}
		if len(at.Values) == 1 {
			claims[at.Name] = at.Values[0]
		} else {
			claims[at.Name] = at.Values
		}
	}
	in := &inspected{claims: claims}
	in.clientID, _ = claims["client_id"].(string)
	in.jti, _ = claims["jti"].(string)
	in.exp = claims["exp"]
	if in.jti != "" {
		revoked, err := a.st.IsRevoked(ctx, in.jti)
		if err != nil {
			return nil, store.Unavailable(err)
		}
		if revoked {
			return nil, nil
		}
	}
	if _, ok := claims["token_type"]; !ok {
		claims["token_type"] = "Bearer"
	}
	return in, nil
}

// serveIntrospect implements RFC 7662 §2.
func (a *App) serveIntrospect(x *exchange) error {
	caller, err := a.callerClient(x, false)
	if err != nil {
		return err
	}
	tok := x.form.Get("token")
	if tok == "" {
		return sts.ErrInvalidRequest.WithDescription("token is required")
	}
	in, err := a.inspect(x.r.Context(), caller, tok)
	if err != nil {
		return err
	}
	if in == nil {
		x.reply(http.StatusOK, []field{{"active", false}})
		return nil
	}
	fields := []field{{"active", true}}
	for _, k := range sortedKeys(in.claims) {
		if k == "active" {
			continue
		}
		fields = append(fields, field{k, in.claims[k]})
	}
	x.reply(http.StatusOK, fields)
	return nil
}

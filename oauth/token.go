package oauth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chainsts/chainsts/clients"
	"github.com/chainsts/chainsts/modules/opaque"
	"github.com/chainsts/chainsts/server"
	"github.com/chainsts/chainsts/store"
	"github.com/chainsts/chainsts/sts"
)

// serveToken implements the token endpoint (RFC 6749 §3.2): client
// authentication, the per-client rate limit, and the grant.
func (a *App) serveToken(x *exchange) error {
	gt := x.form.Get("grant_type")
	if gt == "" {
		return sts.ErrInvalidRequest.WithDescription("grant_type is required")
	}
	client, err := a.authenticate(x)
	if err != nil {
		return err
	}
	if !slices.Contains(a.grants, gt) {
		return sts.ErrUnsupportedGrantType.WithCause(fmt.Errorf("grant_type %q", gt))
	}
	if client != nil && len(client.GrantTypes) > 0 && !slices.Contains(client.GrantTypes, gt) {
		return sts.ErrUnauthorizedClient.WithCause(fmt.Errorf("client %q may not use %s", client.ID, gt))
	}
	switch gt {
	case GrantTokenExchange:
		if client == nil && !a.AllowAnonymousExchange {
			return noClient()
		}
		return a.tokenExchange(x, client)
	case GrantJWTBearer:
		return a.jwtBearer(x, client)
	default:
		if client == nil {
			return noClient()
		}
		if client.AuthMethod == clients.MethodNone {
			return sts.ErrUnauthorizedClient.WithCause(fmt.Errorf("public client %q may not use client_credentials", client.ID))
		}
		return a.clientCredentials(x, client)
	}
}

func noClient() error {
	return sts.ErrInvalidClient.WithCause(errors.New("no client authentication"))
}

// authenticate authenticates the client when the request carries
// credentials (nil, nil when it carries none) and applies its rate limit.
func (a *App) authenticate(x *exchange) (*clients.Client, error) {
	res, err := a.clients.AuthenticateMethod(x.r, x.form)
	if errors.Is(err, clients.ErrNoCredentials) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if retry, ok := a.limits.allowClient(res.Client.ID); !ok {
		x.w.Header().Set("Retry-After", strconv.Itoa(retry))
		return nil, sts.ErrTooManyRequests.WithCause(fmt.Errorf("rate limit for client %q", res.Client.ID))
	}
	return res.Client, nil
}

// targets reads and checks audience and resource (RFC 8693 §2.1, RFC 8707
// §2): a resource is an absolute URI without fragment; every target must be
// in each allow-list that applies.
func targets(form url.Values, allow ...[]string) (aud, res []string, err error) {
	aud, res = form["audience"], form["resource"]
	for _, r := range res {
		u, perr := url.Parse(r)
		if perr != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(r, "#") {
			return nil, nil, sts.ErrInvalidTarget.WithCause(fmt.Errorf("resource %q is not an absolute URI without fragment", r))
		}
	}
	for _, t := range append(slices.Clone(aud), res...) {
		if t == "" {
			return nil, nil, sts.ErrInvalidTarget.WithCause(errors.New("empty audience or resource"))
		}
		for _, list := range allow {
			if len(list) > 0 && !slices.Contains(list, t) {
				return nil, nil, sts.ErrInvalidTarget.WithCause(fmt.Errorf("target %q is not allowed", t))
			}
		}
	}
	return aud, res, nil
}

// scopes reads the scope parameter and checks it against the allow-lists
// that are set.
func scopes(form url.Values, allow ...[]string) ([]string, error) {
	raw := form.Get("scope")
	req := strings.Fields(raw)
	if raw != "" && len(req) == 0 {
		return nil, sts.ErrInvalidScope.WithCause(errors.New("blank scope"))
	}
	for _, s := range req {
		for i := 0; i < len(s); i++ {
			// RFC 6749 §3.3 scope-token characters.
			if c := s[i]; c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
				return nil, sts.ErrInvalidScope.WithCause(fmt.Errorf("scope %q has a forbidden character", s))
			}
		}
		for _, list := range allow {
			if len(list) > 0 && !slices.Contains(list, s) {
				return nil, sts.ErrInvalidScope.WithCause(fmt.Errorf("scope %q is not allowed", s))
			}
		}
	}
	return req, nil
}

// lookuper is the part of the chains runtime that selects a chain without
// running it.
type lookuper interface {
	Lookup(req *sts.Request) (string, bool)
}

// safeParams returns the request parameters without the secrets, for
// chains and rules.
func safeParams(form url.Values) map[string][]string {
	out := make(map[string][]string, len(form))
	for k, v := range form {
		switch k {
		case "client_secret", "client_assertion", "subject_token", "actor_token", "assertion":
			continue
		}
		out[k] = v
	}
	return out
}

func runtimeOf(ctx context.Context) (server.Runtime, error) {
	rt := server.RuntimeFrom(ctx)
	if rt == nil {
		return nil, sts.ErrTemporarilyUnavailable.WithCause(errors.New("no runtime"))
	}
	return rt, nil
}

// tokenExchange implements RFC 8693 §2.1–2.2.
func (a *App) tokenExchange(x *exchange, client *clients.Client) error {
	ctx := x.r.Context()
	f := x.form
	subject, stt := f.Get("subject_token"), f.Get("subject_token_type")
	if subject == "" || stt == "" {
		return sts.ErrInvalidRequest.WithDescription("subject_token and subject_token_type are required")
	}
	actorTok, att := f.Get("actor_token"), f.Get("actor_token_type")
	if (actorTok == "") != (att == "") {
		return sts.ErrInvalidRequest.WithDescription("actor_token and actor_token_type go together")
	}
	var clientScopes, clientAuds []string
	clientID := ""
	if client != nil {
		clientScopes, clientAuds, clientID = client.Scopes, client.Audiences, client.ID
	}
	aud, res, err := targets(f, clientAuds)
	if err != nil {
		return err
	}
	req, err := scopes(f, clientScopes)
	if err != nil {
		return err
	}
	rtt := f.Get("requested_token_type")
	rt, err := runtimeOf(ctx)
	if err != nil {
		return err
	}
	base := &sts.Request{
		ID: server.RequestID(ctx), Type: sts.RequestExchange, Issuer: clientID, TokenType: stt,
		Base: &sts.Token{Type: stt, Data: []byte(subject)}, ClientID: clientID, Scopes: req,
		RequestedTokenType: rtt, Audiences: aud, Resources: res, Params: safeParams(f),
	}
	// applies_to is each audience and resource; they must all select the
	// same chain. Without any, requested_token_type stands in.
	all := append(slices.Clone(aud), res...)
	if len(all) == 0 {
		all = []string{rtt}
	}
	base.AppliesTo = all[0]
	if lk, ok := rt.(lookuper); ok {
		first := ""
		for i, t := range all {
			r := *base
			r.AppliesTo = t
			name, found := lk.Lookup(&r)
			if !found {
				if len(aud)+len(res) > 0 {
					return sts.ErrInvalidTarget.WithCause(fmt.Errorf("no chain for %s", r.Key()))
				}
				return sts.ErrInvalidRequest.WithDescription("the subject token type or requested token type is not supported").
					WithCause(fmt.Errorf("no chain for %s", r.Key()))
			}
			if i == 0 {
				first = name
			} else if name != first {
				return sts.ErrInvalidTarget.WithDescription("the requested audiences and resources cannot be served by one token").
					WithCause(fmt.Errorf("targets select chains %q and %q", first, name))
			}
		}
	}
	g := &grant{grantType: GrantTokenExchange, client: client, requested: req}
	if client != nil && len(client.Scopes) > 0 {
		g.restrict = append(g.restrict, client.Scopes)
	}
	if actorTok != "" {
		act, err := a.validateActor(ctx, rt, base, actorTok, att)
		if err != nil {
			return err
		}
		g.actor = act
	}
	resp, err := rt.Run(withGrant(ctx, g), base)
	if err != nil {
		return exchangeError(err)
	}
	tok := resp.Token
	if tok == nil {
		return fmt.Errorf("chain %q issued no token", resp.Chain)
	}
	if err := a.checkIssued(ctx, g, resp, base); err != nil {
		a.discard(ctx, tok)
		return err
	}
	// The chain decides what a token exchange issues (an opaque issue step
	// makes opaque tokens); access_token_format applies to the grants
	// where chainsts acts as the client's authorization server.
	audit(ctx, GrantTokenExchange, clientID, resp.Chain, tok)
	fields := []field{{"access_token", string(tok.Data)}, {"issued_token_type", tok.Type}}
	if tok.IsAccessToken {
		fields = append(fields, field{"token_type", "Bearer"})
	} else {
		fields = append(fields, field{"token_type", "N_A"})
	}
	x.reply(http.StatusOK, appendExpiry(fields, tok, req))
	return nil
}

// exchangeError maps a chain failure to RFC 8693 §2.2.2: an unacceptable
// subject or actor token (whatever code the validate step chose) is
// invalid_request; target and scope refusals keep their codes; server
// faults and outages stay what they are.
func exchangeError(err error) error {
	se := sts.AsError(err)
	switch se.Code {
	case "invalid_token", "invalid_grant", "access_denied", "unauthorized_client":
		return sts.ErrInvalidRequest.WithDescription("the subject token is not acceptable").WithCause(err)
	}
	return se
}

// validateActor runs the validate chain for an actor token (request_type
// validate, token_type = actor_token_type, applies_to
// urn:chainsts:oauth:actor, issuer = the client) and returns the actor's
// identity.
func (a *App) validateActor(ctx context.Context, rt server.Runtime, base *sts.Request, tok, typ string) (*actor, error) {
	req := &sts.Request{
		ID: base.ID, Type: sts.RequestValidate, Issuer: base.Issuer, AppliesTo: ActorAppliesTo,
		TokenType: typ, Base: &sts.Token{Type: typ, Data: []byte(tok)}, ClientID: base.ClientID,
	}
	resp, err := rt.Run(ctx, req)
	if err != nil {
		se := sts.AsError(err)
		if se.Status >= 500 {
			return nil, se
		}
		return nil, sts.ErrInvalidRequest.WithDescription("the actor token is not acceptable").WithCause(err)
	}
	u := resp.User
	act := &actor{sub: u.PrincipalName()}
	if act.sub == "" {
		return nil, sts.ErrInvalidRequest.WithDescription("the actor token is not acceptable").
			WithCause(errors.New("actor token has no subject"))
	}
	act.iss, _ = claim(u, "iss").(string)
	act.act = claim(u, "act")
	return act, nil
}

// checkIssued enforces the exchange rules on what the chain produced, so a
// chain without the oauth policy step (or a rule that widened something)
// cannot hand out more than the request may have: scope within the grant,
// lifetime within the subject token's, act present when an actor was
// named, and, when configured, a subject token not on the revocation list.
func (a *App) checkIssued(ctx context.Context, g *grant, resp *sts.Response, req *sts.Request) error {
	tok := resp.Token
	issued := strings.Fields(tok.Scope)
	limit := g.requested
	if g.policyApplied {
		limit = g.granted
	}
	for _, s := range issued {
		if len(limit) > 0 && !slices.Contains(limit, s) {
			return sts.ErrServerError.WithCause(fmt.Errorf("chain %q issued scope %q outside the grant %v", resp.Chain, s, limit))
		}
		for _, allow := range g.restrict {
			if !slices.Contains(allow, s) {
				return sts.ErrServerError.WithCause(fmt.Errorf("chain %q issued scope %q the client may not have", resp.Chain, s))
			}
		}
	}
	if g.grantType != GrantTokenExchange {
		return nil
	}
	if g.actor != nil && !g.actApplied {
		return sts.ErrInvalidRequest.WithDescription("delegation is not supported for this token").
			WithCause(fmt.Errorf("chain %q has no oauth map step to set act", resp.Chain))
	}
	if !a.TokenExchange.AllowLifetimeExtension && !tok.ExpiresAt.IsZero() {
		exp := g.subjectExp
		if exp.IsZero() {
			exp, _ = subjectExpiry(resp.User)
		}
		if !exp.IsZero() && tok.ExpiresAt.After(exp.Add(time.Second)) {
			return sts.ErrServerError.WithCause(fmt.Errorf(
				"chain %q issued a token valid until %s, past the subject token's expiry %s; shorten the issue step's lifetime or set oauth.token_exchange.allow_lifetime_extension",
				resp.Chain, tok.ExpiresAt.UTC().Format(time.RFC3339), exp.UTC().Format(time.RFC3339)))
		}
	}
	if a.TokenExchange.CheckRevocation {
		if jti, ok := claim(resp.User, "jti").(string); ok && jti != "" {
			revoked, err := a.st.IsRevoked(ctx, jti)
			if err != nil {
				return store.Unavailable(err)
			}
			if revoked {
				return sts.ErrInvalidRequest.WithDescription("the subject token is not acceptable").
					WithCause(fmt.Errorf("subject token jti %s is revoked", jti))
			}
		}
	}
	return nil
}

// discard removes a token the chain issued but the endpoint refused, so
// that an opaque handle that was never handed out does not linger.
func (a *App) discard(ctx context.Context, tok *sts.Token) {
	if tok == nil || strings.Contains(string(tok.Data), ".") {
		return
	}
	_ = a.st.DeleteToken(context.WithoutCancel(ctx), store.HashHandle(string(tok.Data)))
}

// perClientFormat honours access_token_format: opaque (client credentials
// and JWT bearer grants) for a client whose chain issued a JWT access token: the endpoint keeps the chain's STSUU
// under a new handle with the same expiry and scope, and returns the
// handle. A store failure fails the request (503); nothing is returned.
func (a *App) perClientFormat(ctx context.Context, client *clients.Client, req *sts.Request, resp *sts.Response) (*sts.Token, error) {
	tok := resp.Token
	if client == nil || client.AccessTokenFormat != clients.AccessTokenOpaque || !tok.IsAccessToken || !strings.Contains(string(tok.Data), ".") {
		return tok, nil
	}
	r := *req
	r.Scopes = strings.Fields(tok.Scope)
	u := resp.User.Clone()
	u.Attributes.Remove("scope", sts.TypeJWTIssueClaim)
	c := &sts.Call{Request: &r, User: u}
	exp := tok.ExpiresAt
	if exp.IsZero() {
		exp = time.Now().Add(opaque.DefaultLifetime)
	}
	if err := opaque.Issue(ctx, a.st, c, opaque.IssueOptions{ExpiresAt: exp, TokenType: sts.TokenTypeAccessToken}); err != nil {
		return nil, err
	}
	return c.Output, nil
}

// appendExpiry adds expires_in, and scope when it differs from the request
// (RFC 6749 §5.1, RFC 8693 §2.2.1).
func appendExpiry(fields []field, tok *sts.Token, requested []string) []field {
	if !tok.ExpiresAt.IsZero() {
		secs := int64(math.Ceil(time.Until(tok.ExpiresAt).Seconds()))
		if secs < 0 {
			secs = 0
		}
		fields = append(fields, field{"expires_in", secs})
	}
	if tok.Scope != "" && tok.Scope != strings.Join(requested, " ") {
		fields = append(fields, field{"scope", tok.Scope})
	}
	return fields
}

// jwtBearer implements the JWT bearer grant (RFC 7523 §2.1, §3).
func (a *App) jwtBearer(x *exchange, client *clients.Client) error {
	ctx := x.r.Context()
	raw := x.form.Get("assertion")
	if raw == "" {
		return sts.ErrInvalidRequest.WithDescription("assertion is required")
	}
	iss, _, err := clients.PeekIssuer(raw, 0)
	if err != nil {
		return sts.ErrInvalidGrant.WithCause(err)
	}
	var ti *trustedIssuer
	for _, t := range a.issuers {
		if t.cfg.Issuer == iss {
			ti = t
			break
		}
	}
	if ti == nil {
		return sts.ErrInvalidGrant.WithCause(fmt.Errorf("assertion issuer %q is not trusted", iss))
	}
	var clientScopes, clientAuds []string
	clientID := ""
	if client != nil {
		clientScopes, clientAuds, clientID = client.Scopes, client.Audiences, client.ID
	} else if retry, ok := a.limits.allowClient("assertion:" + iss); !ok {
		x.w.Header().Set("Retry-After", strconv.Itoa(retry))
		return sts.ErrTooManyRequests.WithCause(fmt.Errorf("rate limit for issuer %q", iss))
	}
	aud, res, err := targets(x.form, clientAuds, ti.cfg.Audiences)
	if err != nil {
		return err
	}
	req, err := scopes(x.form, clientScopes, ti.cfg.Scopes)
	if err != nil {
		return err
	}
	p := &clients.AssertionPolicy{
		Issuer: iss, SubjectAllowed: ti.subjectAllowed, Audiences: a.audiences, Algorithms: ti.cfg.Algorithms,
		Keys: ti.keys, MaxLifetime: ti.cfg.MaxLifetime, IATWindow: ti.cfg.IATWindow,
		Replays: a.st, ReplayNamespace: "assertion",
	}
	as, err := p.Verify(ctx, raw)
	if err != nil {
		return clients.AssertionFailure(err, sts.ErrInvalidGrant)
	}
	rt, err := runtimeOf(ctx)
	if err != nil {
		return err
	}
	applies := GrantJWTBearer
	if all := append(slices.Clone(aud), res...); len(all) > 0 {
		applies = all[0]
	}
	r := &sts.Request{
		ID: server.RequestID(ctx), Type: sts.RequestIssue, Issuer: iss, AppliesTo: applies, TokenType: sts.TokenTypeJWT,
		Base: &sts.Token{Type: sts.TokenTypeJWT, Data: []byte(raw)}, ClientID: clientID, Scopes: req,
		Audiences: aud, Resources: res, Params: safeParams(x.form),
	}
	g := &grant{grantType: GrantJWTBearer, client: client, requested: req, assertion: as}
	for _, l := range [][]string{clientScopes, ti.cfg.Scopes} {
		if len(l) > 0 {
			g.restrict = append(g.restrict, l)
		}
	}
	return a.issueAccessToken(x, g, rt, r, sts.ErrInvalidGrant, sts.ErrInvalidGrant)
}

// clientCredentials implements RFC 6749 §4.4.
func (a *App) clientCredentials(x *exchange, client *clients.Client) error {
	ctx := x.r.Context()
	aud, res, err := targets(x.form, client.Audiences)
	if err != nil {
		return err
	}
	req, err := scopes(x.form, client.Scopes)
	if err != nil {
		return err
	}
	// The client is the only authority behind a client_credentials grant:
	// without a configured scope list it may obtain no scope at all, rather
	// than any scope it asks for (SECURITY §4.4, safe defaults).
	if len(req) > 0 && len(client.Scopes) == 0 {
		return sts.ErrInvalidScope.WithCause(fmt.Errorf("client %q has no scopes configured", client.ID))
	}
	rt, err := runtimeOf(ctx)
	if err != nil {
		return err
	}
	applies := GrantClientCredentials
	if all := append(slices.Clone(aud), res...); len(all) > 0 {
		applies = all[0]
	}
	r := &sts.Request{
		ID: server.RequestID(ctx), Type: sts.RequestIssue, Issuer: client.ID, AppliesTo: applies,
		TokenType: ClientCredentialsTokenType, ClientID: client.ID, Scopes: req,
		Audiences: aud, Resources: res, Params: safeParams(x.form),
	}
	g := &grant{grantType: GrantClientCredentials, client: client, requested: req}
	if len(client.Scopes) > 0 {
		g.restrict = append(g.restrict, client.Scopes)
	}
	return a.issueAccessToken(x, g, rt, r, sts.ErrInvalidRequest, sts.ErrUnauthorizedClient)
}

// issueAccessToken runs the chain of a grant that issues an access token
// and answers RFC 6749 §5.1. Caller errors of the chain become
// callerErr's code.
func (a *App) issueAccessToken(x *exchange, g *grant, rt server.Runtime, r *sts.Request, callerErr, noChain *sts.Error) error {
	ctx := x.r.Context()
	if lk, ok := rt.(lookuper); ok {
		if _, found := lk.Lookup(r); !found {
			return noChain.WithCause(fmt.Errorf("no chain for %s", r.Key()))
		}
	}
	resp, err := rt.Run(withGrant(ctx, g), r)
	if err != nil {
		se := sts.AsError(err)
		switch se.Code {
		case "invalid_token", "invalid_grant", "invalid_request", "access_denied":
			return callerErr.WithCause(err)
		}
		return se
	}
	if resp.Token == nil {
		return fmt.Errorf("chain %q issued no token", resp.Chain)
	}
	if err := a.checkIssued(ctx, g, resp, r); err != nil {
		a.discard(ctx, resp.Token)
		return err
	}
	tok, err := a.perClientFormat(ctx, g.client, r, resp)
	if err != nil {
		return err
	}
	audit(ctx, g.grantType, r.ClientID, resp.Chain, tok)
	typ := "Bearer"
	if !tok.IsAccessToken {
		typ = "N_A"
	}
	x.reply(http.StatusOK, appendExpiry([]field{{"access_token", string(tok.Data)}, {"token_type", typ}}, tok, r.Scopes))
	return nil
}

// audit writes the one line per issued token (PRODUCT §9.4): grant, client,
// chain, the token's fingerprint and expiry, never the token.
func audit(ctx context.Context, grant, clientID, chain string, tok *sts.Token) {
	log := server.Logger(ctx)
	if !log.IsInfo() {
		return // the fingerprint costs a hash; skip it when nobody reads it
	}
	log.Info("token issued", "grant", grant, "client_id", clientID, "chain", chain,
		"token", server.Fingerprint(tok.Data), "expires_at", tok.ExpiresAt.UTC().Format(time.RFC3339))
}

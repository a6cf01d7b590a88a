package oauth

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/chainsts/chainsts/store"
	"github.com/chainsts/chainsts/sts"
)

// revocableHints are the token_type_hint values the revocation endpoint
// understands; both search every kind of token chainsts issues.
var revocableHints = map[string]bool{"": true, "access_token": true, "refresh_token": true}

// serveRevoke implements RFC 7009 §2: an opaque token is deleted, a JWT's
// jti is put on the deny list until the token would expire. Only the client
// a token was issued to may revoke it. An unknown or invalid token is not
// an error (§2.2).
func (a *App) serveRevoke(x *exchange) error {
	ctx := x.r.Context()
	caller, err := a.callerClient(x, true)
	if err != nil {
		return err
	}
	tok := x.form.Get("token")
	if tok == "" {
		return sts.ErrInvalidRequest.WithDescription("token is required")
	}
	if hint := x.form.Get("token_type_hint"); !revocableHints[hint] {
		return sts.ErrUnsupportedTokenType.WithCause(fmt.Errorf("token_type_hint %q", hint))
	}
	in, err := a.inspect(ctx, caller, tok)
	if err != nil {
		return err
	}
	if in != nil {
		if in.clientID != caller.ID {
			return sts.ErrUnauthorizedClient.WithDescription("the token was not issued to this client").
				WithCause(fmt.Errorf("client %q revoking a token of client %q", caller.ID, in.clientID))
		}
		switch {
		case in.opaqueID != "":
			if err := a.st.DeleteToken(ctx, in.opaqueID); err != nil {
				return store.Unavailable(err)
			}
		case in.jti != "":
			exp := time.Now().Add(24 * time.Hour)
			if n, err := strconv.ParseInt(sts.StringValue(in.exp), 10, 64); err == nil {
				exp = time.Unix(n, 0)
			}
			if err := a.st.Revoke(ctx, in.jti, exp); err != nil {
				return store.Unavailable(err)
			}
		default:
			return sts.ErrUnsupportedTokenType.WithDescription("this token cannot be revoked").
				WithCause(fmt.Errorf("JWT without jti"))
		}
	}
	noStore(x.w)
	x.w.Header().Set("Content-Length", "0")
	x.w.WriteHeader(http.StatusOK)
	return nil
}

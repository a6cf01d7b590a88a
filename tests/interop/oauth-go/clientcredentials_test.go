// Package oauthgo_test runs golang.org/x/oauth2/clientcredentials, the
// OAuth client most Go services use, against a real `chainsts serve`
// process: every authentication style it has, a secret with characters
// that Basic credentials must form-encode (RFC 6749 §2.3.1), extra
// endpoint parameters (audience), the error it reports for a wrong secret,
// and the issued tokens verified with keyfunc (a JWKS client independent of
// chainsts) against /jwks.json.
package oauthgo_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/chainsts/chainsts/tests/serve"
)

// secret holds the characters that break naive Basic encoding.
const secret = "s3cr+t/with:colon%and space"

// issuer names the server in its tokens; the listener's port is only
// known once it serves, so the issuer is not its URL.
const issuer = "https://sts.interop.test"

// start writes a configuration and runs `chainsts serve` on it.
func start(t *testing.T) *serve.Process {
	t.Helper()
	hashCmd := exec.Command(serve.Binary(t), "secret", "hash", "--cost", "4")
	hashCmd.Stdin = strings.NewReader(secret)
	hashOut, err := hashCmd.Output()
	if err != nil {
		t.Fatalf("secret hash: %v", err)
	}
	hash := strings.TrimSpace(string(hashOut))
	cfg := fmt.Sprintf(`data_dir: data
server: {listen: "127.0.0.1:0", admin_listen: "off"}
logging: {level: info, format: json}
keystores:
  stores:
    internal: {dev: true, public: true}
clients:
  static:
    - {id: go-basic, secret: '%[1]s', scopes: [read, write], audiences: [https://api.example, https://other.example]}
    - {id: go-post, secret: '%[1]s', auth_method: client_secret_post}
oauth:
  issuer: "%[2]s"
chains:
  - name: client-credentials
    steps:
      - {id: in, module: oauth, mode: validate}
      - {id: policy, module: oauth, mode: map}
      - {id: out, module: jwt, mode: issue, config: {profile: access_token, iss: '%[2]s', signing: {keystore: internal, alg: ES256}, lifetime: 5m, aud: [https://api.example]}}
    lookup: {request_type: issue, token_type: "urn:ietf:params:oauth:grant-type:client_credentials"}
  - name: client-credentials-other
    steps:
      - {id: in, module: oauth, mode: validate}
      - {id: policy, module: oauth, mode: map}
      - {id: out, module: jwt, mode: issue, config: {profile: access_token, iss: '%[2]s', signing: {keystore: internal, alg: ES256}, lifetime: 5m}}
    lookup: {request_type: issue, applies_to: https://other.example, token_type: "urn:ietf:params:oauth:grant-type:client_credentials"}
`, hash, issuer)
	path := filepath.Join(t.TempDir(), "chainsts.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return serve.Start(t, path)
}

func TestClientCredentialsInterop(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	kf, err := keyfunc.NewDefaultCtx(ctx, []string{s.Public + "/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(t *testing.T, tok *oauth2.Token, aud string) jwt.MapClaims {
		t.Helper()
		claims := jwt.MapClaims{}
		parsed, err := jwt.ParseWithClaims(tok.AccessToken, claims, kf.Keyfunc,
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(issuer), jwt.WithAudience(aud),
			jwt.WithExpirationRequired(), jwt.WithIssuedAt())
		if err != nil || !parsed.Valid {
			t.Fatalf("issued token does not verify against /jwks.json: %v", err)
		}
		if typ := parsed.Header["typ"]; typ != "at+jwt" {
			t.Errorf("typ %v, want at+jwt", typ)
		}
		return claims
	}
	for _, tc := range []struct {
		name  string
		cfg   clientcredentials.Config
		aud   string
		scope string
	}{
		{"basic, form-encoded secret", clientcredentials.Config{ClientID: "go-basic", ClientSecret: secret,
			AuthStyle: oauth2.AuthStyleInHeader, Scopes: []string{"read"}}, "https://api.example", "read"},
		{"auto-detected style", clientcredentials.Config{ClientID: "go-basic", ClientSecret: secret,
			AuthStyle: oauth2.AuthStyleAutoDetect, Scopes: []string{"read", "write"}}, "https://api.example", "read write"},
		{"client_secret_post", clientcredentials.Config{ClientID: "go-post", ClientSecret: secret,
			AuthStyle: oauth2.AuthStyleInParams}, "https://api.example", ""},
		{"audience parameter selects a chain", clientcredentials.Config{ClientID: "go-basic", ClientSecret: secret,
			AuthStyle: oauth2.AuthStyleInHeader, EndpointParams: url.Values{"audience": {"https://other.example"}}},
			"https://other.example", "read write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.TokenURL = s.Public + "/oauth2/token"
			tok, err := tc.cfg.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "Bearer" || !tok.Valid() || tok.Expiry.IsZero() {
				t.Fatalf("token %+v", tok)
			}
			claims := verify(t, tok, tc.aud)
			if claims["client_id"] != tc.cfg.ClientID {
				t.Errorf("client_id %v", claims["client_id"])
			}
			if got, _ := claims["scope"].(string); got != tc.scope {
				t.Errorf("scope %q, want %q", got, tc.scope)
			}
			// The token source the library builds reuses the token.
			ts := tc.cfg.TokenSource(ctx)
			if _, err := ts.Token(); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		cfg := clientcredentials.Config{ClientID: "go-basic", ClientSecret: "wrong", TokenURL: s.Public + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInHeader}
		_, err := cfg.Token(ctx)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
			t.Fatalf("got %v, want a RetrieveError with invalid_client and 401", err)
		}
	})
	t.Run("scope the client may not have", func(t *testing.T) {
		cfg := clientcredentials.Config{ClientID: "go-basic", ClientSecret: secret, TokenURL: s.Public + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInHeader, Scopes: []string{"admin"}}
		_, err := cfg.Token(ctx)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_scope" {
			t.Fatalf("got %v, want invalid_scope", err)
		}
	})
}

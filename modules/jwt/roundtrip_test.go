package jwt

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/sts"
)

var allAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"}

func TestIssueValidateEveryAlgorithm(t *testing.T) {
	h := stdHost(t)
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			label := strings.ToLower(alg)
			iss := mustStep(t, h, sts.ModeIssue, `
signing: {keystore: sig, label: `+label+`}
iss: https://sts.example
aud: [api]
`)
			val := mustStep(t, h, sts.ModeValidate, `
signing: {keystore: sig, label: `+label+`}
iss: https://sts.example
aud: [api]
`)
			u := sts.NewSTSUU()
			u.SetPrincipalName("alice")
			u.Attributes.Add(sts.NewAttribute("groups", sts.TypeJWTIssueClaim, "a", "b"))
			tok := issueCall(t, iss, u)
			out, err := validateCall(val, tok)
			if err != nil {
				t.Fatalf("validate: %v", err)
			}
			if got := out.PrincipalName(); got != "alice" {
				t.Errorf("principal = %q", got)
			}
			g := out.Attributes.GetByNameAndType("groups", sts.TypeJWTClaim)
			if g == nil || !cmp.Equal(g.Values, []any{"a", "b"}) {
				t.Errorf("groups = %v", g)
			}
			var hdr map[string]any
			if err := json.Unmarshal([]byte(sts.StringValue(out.Context.GetByNameAndType("header", sts.TypeJWT).Value())), &hdr); err != nil {
				t.Fatal(err)
			}
			if hdr["alg"] != alg || hdr["typ"] != "JWT" {
				t.Errorf("header = %v", hdr)
			}
			if hdr["kid"] == nil || hdr["kid"] == "" {
				t.Errorf("kid missing for %s: %v", alg, hdr)
			}
		})
	}
}

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

// fill writes into an empty user from shared arrays and into a populated
// one through Attributes.Set and SetPrincipalName; both must give the same
// claims, context attributes and principal.
func TestFillEmptyAndPopulatedUser(t *testing.T) {
	h := stdHost(t)
	iss := mustStep(t, h, sts.ModeIssue, "signing: {keystore: sig, label: es256}\niss: https://sts.example\naud: [api]\n")
	val := mustStep(t, h, sts.ModeValidate, "signing: {keystore: sig, label: es256}\niss: https://sts.example\naud: [api]\n")
	tok := issueCall(t, iss, benchUser())
	fresh, err := validateCall(val, tok)
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(mustDecode(strings.Split(tok, ".")[1]), &claims); err != nil {
		t.Fatal(err)
	}
	if len(fresh.Attributes) != len(claims) || len(fresh.Context) != 3 || fresh.PrincipalName() != "alice@example.com" {
		t.Fatalf("empty user: %d attributes for %d claims, %d context attributes, principal %q", len(fresh.Attributes), len(claims), len(fresh.Context), fresh.PrincipalName())
	}
	used := sts.NewSTSUU()
	used.SetPrincipalName("old")
	used.Attributes.Add(sts.NewAttribute("kept", sts.TypeAccessManager, "x"))
	used.Attributes.Add(sts.NewAttribute("sub", sts.TypeJWTClaim, "old"))
	used.Context.Add(sts.NewAttribute("claim_json", sts.TypeJWT, "{}"))
	c := &sts.Call{Request: &sts.Request{Base: &sts.Token{Type: sts.TokenTypeJWT, Data: []byte(tok)}}, User: used}
	if err := val.ValidateToken(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(fresh.Principal, used.Principal); d != "" {
		t.Errorf("principal (-empty +populated):\n%s", d)
	}
	if d := cmp.Diff(fresh.Context, used.Context); d != "" {
		t.Errorf("context (-empty +populated):\n%s", d)
	}
	if used.Attributes.Get("kept") == nil {
		t.Error("an unrelated attribute was dropped")
	}
	for _, a := range fresh.Attributes {
		if d := cmp.Diff(a, used.Attributes.GetByNameAndType(a.Name, a.Type)); d != "" {
			t.Errorf("claim %s (-empty +populated):\n%s", a.Name, d)
		}
	}
}

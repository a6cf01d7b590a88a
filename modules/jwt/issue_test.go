package jwt

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/sts"
)

func decodeClaims(t *testing.T, tok string) (map[string]any, map[string]any) {
	t.Helper()
	p := strings.Split(tok, ".")
	h, c := map[string]any{}, map[string]any{}
	dec := func(s string, v any) {
		b, err := b64.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.UseNumber()
		if err := d.Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	dec(p[0], &h)
	dec(p[1], &c)
	return h, c
}

// TestIssueReservedClaims: the STSUU (and so a mapping rule) cannot set
// reserved claims or headers unless the step grants it (SECURITY §3.4).
func TestIssueReservedClaims(t *testing.T) {
	h := stdHost(t)
	u := sts.NewSTSUU()
	u.SetPrincipalName("alice")
	far := json.Number("9999999999")
	u.Attributes.Add(sts.NewAttribute("exp", sts.TypeJWTIssueClaim, far))
	u.Attributes.Add(sts.NewAttribute("iss", sts.TypeJWTIssueClaim, "https://evil"))
	u.Attributes.Add(sts.NewAttribute("cnf", sts.TypeJWTIssueClaim, map[string]any{"jkt": "attacker"}))
	u.Context.Add(sts.NewAttribute("claim_json", sts.TypeJWT, `{"jti":"fixed","act":{"sub":"x"}}`))
	u.Context.Add(sts.NewAttribute("typ", sts.TypeJWTHeaderClaim, "at+jwt"))
	u.Context.Add(sts.NewAttribute("jku", sts.TypeJWTHeaderClaim, "https://evil/jwks"))
	u.Context.Add(sts.NewAttribute("x-extra", sts.TypeJWTHeaderClaim, "ok"))

	m := mustStep(t, h, sts.ModeIssue, "signing: {keystore: sig, label: es256}\niss: https://sts\nlifetime: 5m\n")
	hdr, c := decodeClaims(t, issueCall(t, m, u.Clone()))
	if c["iss"] != "https://sts" || c["exp"] == far || c["cnf"] != nil || c["jti"] == "fixed" || c["act"] != nil {
		t.Fatalf("reserved claims leaked: %v", c)
	}
	if exp, _ := c["exp"].(json.Number).Int64(); exp > time.Now().Add(6*time.Minute).Unix() {
		t.Fatalf("exp %d beyond the configured lifetime", exp)
	}
	if hdr["typ"] != "JWT" || hdr["jku"] != nil || hdr["x-extra"] != "ok" {
		t.Fatalf("header = %v", hdr)
	}

	strict := mustStep(t, h, sts.ModeIssue, "signing: {keystore: sig, label: es256}\nreserved_claims: reject\n")
	c0 := &sts.Call{Request: &sts.Request{}, User: u.Clone()}
	if err := strict.IssueToken(t.Context(), c0); err == nil {
		t.Fatal("reserved claim accepted under reserved_claims: reject")
	}

	granted := mustStep(t, h, sts.ModeIssue, "signing: {keystore: sig, label: es256}\nallow_reserved: [exp, cnf, typ]\n")
	hdr, c = decodeClaims(t, issueCall(t, granted, u.Clone()))
	if c["exp"] != far || c["cnf"] == nil || c["iss"] != nil || hdr["typ"] != "at+jwt" {
		t.Fatalf("granted claims not applied: %v %v", hdr, c)
	}
}

// TestIssueLifetimeClampedToSubject: without extend_lifetime the issued
// exp never passes the validated subject token's (subject_expires_at), and
// a subject token accepted within the leeway after its exp gets nothing
// rather than a token that is already expired.
func TestIssueLifetimeClampedToSubject(t *testing.T) {
	h := stdHost(t)
	m := mustStep(t, h, sts.ModeIssue, "signing: {keystore: sig, label: es256}\nlifetime: 10m\n")
	withSubjectExp := func(exp int64) *sts.STSUU {
		u := sts.NewSTSUU()
		u.SetPrincipalName("alice")
		u.Context.Set(sts.NewAttribute(SubjectExpiresAt, TypeToken, exp))
		return u
	}
	soon := time.Now().Add(90 * time.Second).Unix()
	_, c := decodeClaims(t, issueCall(t, m, withSubjectExp(soon)))
	if exp, _ := c["exp"].(json.Number).Int64(); exp != soon {
		t.Fatalf("exp %d, want the subject token's %d", exp, soon)
	}
	for name, exp := range map[string]int64{"expired within the leeway": time.Now().Unix() - 10, "expires now": time.Now().Unix()} {
		t.Run(name, func(t *testing.T) {
			c := &sts.Call{Request: &sts.Request{}, User: withSubjectExp(exp)}
			err := m.IssueToken(t.Context(), c)
			if se := sts.AsError(err); err == nil || se.Code != "invalid_request" {
				t.Fatalf("err = %v, want invalid_request", err)
			}
			if c.Output != nil {
				t.Fatalf("a token was issued: %s", c.Output.Data)
			}
		})
	}
}

func TestIssueAccessTokenProfile(t *testing.T) {
	h := stdHost(t)
	m := mustStep(t, h, sts.ModeIssue, "profile: access_token\nsigning: {keystore: sig, label: es256}\niss: https://sts\n")
	u := sts.NewSTSUU()
	u.SetPrincipalName("alice")
	u.Attributes.Add(sts.NewAttribute("scope", sts.TypeJWTIssueClaim, "read", "write"))
	c := &sts.Call{Request: &sts.Request{ClientID: "app", Audiences: []string{"api"}}, User: u}
	if err := m.IssueToken(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	hdr, claims := decodeClaims(t, string(c.Output.Data))
	if hdr["typ"] != "at+jwt" || claims["scope"] != "read write" || claims["client_id"] != "app" || claims["aud"] != "api" || claims["sub"] != "alice" {
		t.Fatalf("access token: %v %v", hdr, claims)
	}
	if !c.Output.IsAccessToken || c.Output.Scope != "read write" {
		t.Fatalf("output = %+v", c.Output)
	}
	// Without an audience the profile refuses to issue.
	c2 := &sts.Call{Request: &sts.Request{ClientID: "app"}, User: u}
	if err := m.IssueToken(t.Context(), c2); err == nil {
		t.Fatal("access token without aud issued")
	}
}

// TestClaimTypesRoundTrip is the golden type test: claims of every JSON
// type survive validate → (claim attributes copied to issue claims, as an
// attribute map step does) → issue with the same JSON type and value.
func TestClaimTypesRoundTrip(t *testing.T) {
	h := stdHost(t)
	es, _ := keystoreOf(t, h).Key("es256")
	in := `{"iss":"https://idp","sub":"alice","exp":` + itoa(time.Now().Add(time.Hour).Unix()) +
		`,"int":9007199254740993,"neg":-5,"float":1.5,"bool":true,"null":null,"one":["x"],"empty":[],"many":["a",1,false],"obj":{"n":7,"deep":{"a":[1,2]}}}`
	tok := craft(`{"alg":"ES256","kid":"`+es.KID+`"}`, in, signWith(t, es))
	val := mustStep(t, h, sts.ModeValidate, "signing: {keystore: sig, label: es256}\niss: https://idp\n")
	u, err := validateCall(val, tok)
	if err != nil {
		t.Fatal(err)
	}
	// The map step: every validated claim becomes an issue claim.
	for _, a := range u.Attributes.ByType(sts.TypeJWTClaim) {
		c := a.Clone()
		c.Type = sts.TypeJWTIssueClaim
		u.Attributes.Set(c)
	}
	u.Context.Remove("claim_json", sts.TypeJWT)
	iss := mustStep(t, h, sts.ModeIssue, "signing: {keystore: sig, label: es256}\n")
	_, out := decodeClaims(t, issueCall(t, iss, u))
	_, want := decodeClaims(t, tok)
	for _, r := range reservedClaims {
		delete(out, r)
		delete(want, r)
	}
	if d := cmp.Diff(want, out); d != "" {
		t.Fatalf("claims changed through validate → map → issue (-want +got):\n%s", d)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

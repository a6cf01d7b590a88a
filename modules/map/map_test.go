package mapmod_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/chains"
	_ "github.com/chainsts/chainsts/modules/jwt"
	_ "github.com/chainsts/chainsts/modules/map"
	_ "github.com/chainsts/chainsts/modules/stsuu"
	_ "github.com/chainsts/chainsts/store/memory"
	"github.com/chainsts/chainsts/sts"
)

func load(t *testing.T) *chains.Runtime { return loadB(t) }

func loadB(t testing.TB) *chains.Runtime {
	t.Helper()
	rt, err := chains.Load(context.Background(), filepath.Join("testdata", "chains.yaml"), chains.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

func run(t *testing.T, rt *chains.Runtime, appliesTo string) (*sts.Response, error) {
	t.Helper()
	u := sts.NewSTSUU()
	u.SetPrincipalName("alice")
	return rt.Run(context.Background(), &sts.Request{
		ID: "test-1", Type: sts.RequestValidate, Issuer: "http://issuer/stsuu", AppliesTo: appliesTo,
		Base: &sts.Token{Type: sts.TokenTypeSTSUU, Data: u.XML()},
	})
}

// TestLocalSTSClientJWTChains has a rule issue a JWT through a real jwt
// issue chain and validate it through a real jwt validate chain.
func TestLocalSTSClientJWTChains(t *testing.T) {
	rt := load(t)
	resp, err := run(t, rt, "http://appliesto/local")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range resp.User.Attributes {
		got[a.Name] = sts.StringValue(a.Value())
	}
	want := map[string]string{
		"jwt_parts": "3", "validated_sub": "alice", "validated_dept": "eng",
		"validated_iss": "https://sts.example", "forged": "true",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// The whole universal user, value types included: nothing else was
	// added, dropped or turned into a string.
	b, err := os.ReadFile(filepath.Join("testdata", "local_sts_roundtrip.expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	expected, err := sts.ParseJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.User.Equal(expected) {
		t.Errorf("STSUU differs from testdata/local_sts_roundtrip.expected.json (-want +got):\n%s", cmp.Diff(expected, resp.User))
	}
}

func TestReservedClaims(t *testing.T) {
	rt := load(t)
	for _, at := range []string{"http://appliesto/reserved-denied", "http://appliesto/reserved-header", "http://appliesto/reserved-json"} {
		_, err := run(t, rt, at)
		if err == nil || !strings.Contains(err.Error(), "reserved claims") {
			t.Errorf("%s: error %v, want reserved claims refused", at, err)
		}
		if e := sts.AsError(err); e.Code != "server_error" {
			t.Errorf("%s: code %s", at, e.Code)
		}
	}
	u := sts.NewSTSUU()
	u.SetPrincipalName("alice")
	u.Attributes = append(u.Attributes, sts.NewAttribute("exp", sts.TypeJWTIssueClaim, 1893456000))
	u.Context = append(u.Context, sts.NewAttribute("claim_json", sts.TypeJWT, `{"iss":"https://idp.example","exp":1893456000}`))
	dropped, err := rt.Run(context.Background(), &sts.Request{Type: sts.RequestValidate, AppliesTo: "http://appliesto/reserved-dropped",
		Base: &sts.Token{Type: sts.TokenTypeSTSUU, Data: u.XML()}})
	if err != nil {
		t.Fatalf("dropping reserved claims: %v", err)
	}
	if dropped.User.Attributes.Get("exp") != nil || dropped.User.Context.Get("claim_json") != nil {
		t.Fatalf("not dropped: %s", dropped.User.JSON())
	}
	for at, wantErr := range map[string]bool{"http://appliesto/reserved-json-reformatted": false, "http://appliesto/reserved-json-escaped": true} {
		_, err := rt.Run(context.Background(), &sts.Request{Type: sts.RequestValidate, AppliesTo: at,
			Base: &sts.Token{Type: sts.TokenTypeSTSUU, Data: u.XML()}})
		if gotErr := err != nil && strings.Contains(err.Error(), "reserved claims iss"); gotErr != wantErr {
			t.Errorf("%s: error %v, want reserved iss refused: %v", at, err, wantErr)
		}
	}
	resp, err := run(t, rt, "http://appliesto/reserved-allowed")
	if err != nil {
		t.Fatal(err)
	}
	if a := resp.User.Attributes.GetByNameAndType("iss", sts.TypeJWTIssueClaim); a == nil || a.Value() != "https://partner.example" {
		t.Fatalf("granted iss not set: %v", resp.User.Attributes)
	}
}

func TestRuleErrors(t *testing.T) {
	rt := load(t)
	_, err := run(t, rt, "http://appliesto/throws")
	var se *sts.Error
	if !errors.As(err, &se) || se.Code != "invalid_request" || se.Description != "user alice is locked" {
		t.Fatalf("error %v, want invalid_request with the rule's message", err)
	}
	_, err = run(t, rt, "http://appliesto/broken")
	if e := sts.AsError(err); e.Code != "server_error" || !strings.Contains(err.Error(), `line 2 column`) {
		t.Fatalf("error %v, want server_error naming line 2", err)
	}
}

func TestPostTokenRuleReplacesOutput(t *testing.T) {
	rt := load(t)
	resp, err := run(t, rt, "http://appliesto/post")
	if err != nil {
		t.Fatal(err)
	}
	u, err := sts.ParseXML(resp.Token.Data)
	if err != nil {
		t.Fatal(err)
	}
	if a := u.Attributes.Get("post"); a == nil || a.Value() != "seen alice" {
		t.Fatalf("output not replaced: %s", resp.Token.Data)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct{ step, want string }{
		"both":     {`{rule: x, source: "1"}`, "exactly one of rule and source"},
		"neither":  {`{}`, "exactly one of rule and source"},
		"unknown":  {`{rule: no_such_rule}`, `no mapping rule named "no_such_rule"`},
		"syntax":   {`{source: "var = ;"}`, "syntax error"},
		"grant":    {`{rule: local_sts_roundtrip, allow_reserved_claims: [sub]}`, `"sub" is not a reserved claim`},
		"typo_key": {`{rulez: x}`, "rulez"},
	} {
		step, want := tc.step, tc.want
		t.Run(name, func(t *testing.T) {
			rules, err := filepath.Abs(filepath.Join("testdata", "rules"))
			if err != nil {
				t.Fatal(err)
			}
			cfg := "rules: {cache: memory, dir: " + rules + "}\n" +
				"chains:\n  - name: c\n    steps:\n      - {id: m, module: map, mode: map, config: " + step + "}\n"
			dir := t.TempDir()
			path := filepath.Join(dir, "c.yaml")
			writeFile(t, path, cfg)
			_, err = chains.Load(context.Background(), path, chains.Options{DataDir: dir})
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want %q", err, want)
			}
		})
	}
}

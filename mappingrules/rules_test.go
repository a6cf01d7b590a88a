package mappingrules

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fakeRunner stands in for the chains runtime behind LocalSTSClient: an
// issue chain for http://appliesto/jwt and a JWT validate chain for token
// type urn:com:ibm:JWT. It checks what the rule sent.
type fakeRunner struct {
	t    *testing.T
	reqs []*sts.Request
}

func (f *fakeRunner) Run(_ context.Context, req *sts.Request) (*sts.Response, error) {
	f.reqs = append(f.reqs, req)
	if req.Depth != 1 {
		return nil, fmt.Errorf("depth %d, want 1", req.Depth)
	}
	switch {
	case req.Type == sts.RequestIssue && req.AppliesTo == "http://appliesto/jwt" && req.Issuer == "http://issuer/stsuu":
		u, err := sts.ParseXML(req.Base.Data)
		if err != nil || req.Base.Type != sts.TokenTypeSTSUU {
			return nil, fmt.Errorf("issue: base %q: %v", req.Base.Type, err)
		}
		sub := sts.StringValue(u.Attributes.Get("sub").Value())
		return &sts.Response{Token: &sts.Token{Type: sts.TokenTypeJWT, Data: []byte("eyJhbGciOiJFUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"`+sub+`"}`)) + ".c2ln")}}, nil
	case req.Type == sts.RequestValidate && req.TokenType == sts.TokenTypeISAMJWT:
		if req.Base.Type != sts.TokenTypeJWT || string(req.Base.Data) != "aaa.bbb.ccc" || req.Claims["signing.jwksUri"] != "https://idp.example/jwks" {
			return nil, sts.ErrInvalidRequest.WithDescription("unexpected validate request %q %q %v", req.Base.Type, req.Base.Data, req.Claims)
		}
		u := sts.NewSTSUU()
		u.SetPrincipalName("validated-user")
		return &sts.Response{Token: &sts.Token{Type: sts.TokenTypeSTSUU, Data: u.XML()}, User: u}, nil
	}
	return nil, sts.ErrNoChain.WithCause(fmt.Errorf("%s", req.Key()))
}

func loadInput(t testing.TB) *sts.STSUU {
	t.Helper()
	data, err := os.ReadFile("testdata/input.json")
	if err != nil {
		t.Fatal(err)
	}
	u, err := sts.ParseJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func testSet(t testing.TB, cfg Config) *RuleSet {
	t.Helper()
	// The machine running the tests may be busy; only tests about the
	// deadline use a short one.
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	set, err := NewRuleSet(cfg, "", nil, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	if scriptFormOnly {
		scriptForm(set)
	}
	t.Cleanup(func() { _ = set.Close() })
	return set
}

// scriptFormOnly makes testSet return sets whose rules all run as scripts
// (TestSandboxInScriptForm).
var scriptFormOnly bool

// scriptForm makes every rule of a set run as a script, the form
// importMappingRule runs and the one rules that cannot run as a function
// keep.
func scriptForm(set *RuleSet) {
	for _, r := range set.rules {
		c := *r.compiledRule
		c.main = nil
		r.compiledRule = &c
	}
}

// TestISAMRules runs every rule in testdata/rules (ISAM style) over
// testdata/input.json and compares the resulting STSUU, or the error, with
// testdata/golden/<rule>.json.
//
// Each rule runs in the form an evaluation picks (a function when the rule
// cannot tell, see functionFormSafe) and as a script: both must give the
// golden result.
func TestISAMRules(t *testing.T) {
	set := testSet(t, Config{Dir: "testdata/rules"})
	scripts := testSet(t, Config{Dir: "testdata/rules"})
	scriptForm(scripts)
	names := set.Names()
	if len(names) < 15 {
		t.Fatalf("only %d rules", len(names))
	}
	for _, form := range []string{"picked", "script"} {
		if form == "script" {
			set = scripts
		}
		t.Run(form, func(t *testing.T) { testISAMRules(t, set, names) })
	}
}

func testISAMRules(t *testing.T, set *RuleSet, names []string) {
	for _, name := range names {
		if name == "Shared_Helpers" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			r, err := set.Rule(name)
			if err != nil {
				t.Fatal(err)
			}
			u := loadInput(t)
			runner := &fakeRunner{t: t}
			call := &sts.Call{Request: &sts.Request{ID: "req-1", Type: sts.RequestValidate}, User: u, Runner: runner, Chain: "c", Step: "map"}
			_, err = r.Evaluate(context.Background(), Input{User: u, Call: call})
			got := map[string]any{}
			if err != nil {
				got["error"] = err.Error()
				var exc *STSException
				if errors.As(err, &exc) {
					got["code"] = exc.Err.Code
					got["description"] = exc.Err.Description
				}
			} else {
				got["stsuu"] = json.RawMessage(u.JSON())
			}
			out, _ := json.MarshalIndent(got, "", "  ")
			var buf bytes.Buffer
			if err := json.Indent(&buf, out, "", "  "); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata/golden", name+".json")
			if *update && !strings.HasPrefix(t.Name(), "TestISAMRules/script/") {
				if err := os.WriteFile(golden, append(buf.Bytes(), '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(strings.TrimSpace(string(want)), strings.TrimSpace(buf.String())); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

package stsuu_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/chains"
	_ "github.com/chainsts/chainsts/modules/attributes"
	_ "github.com/chainsts/chainsts/modules/stsuu"
	"github.com/chainsts/chainsts/sts"
)

func load(t *testing.T) *chains.Runtime {
	t.Helper()
	rt, err := chains.Load(context.Background(), filepath.Join("testdata", "chains.yaml"), chains.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// TestChainRoundTrip runs the acceptance case through the real chain
// runner: an ISAM-written STSUU through stsuu validate → stsuu issue keeps
// everything; the only addition is the request's own RequestSecurityToken
// attributes.
func TestChainRoundTrip(t *testing.T) {
	rt := load(t)
	in, err := os.ReadFile(filepath.Join("testdata", "isam.xml"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.Run(context.Background(), &sts.Request{
		Type:      sts.NormalizeRequestType("http://docs.oasis-open.org/ws-sx/ws-trust/200512/Validate"),
		AppliesTo: "http://appliesto/stsuu",
		Issuer:    "http://issuer/stsuu",
		Base:      &sts.Token{Type: sts.TokenTypeSTSUU, Data: in},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Chain != "stsuu-roundtrip" || resp.Token == nil || resp.Token.Type != sts.TokenTypeSTSUU {
		t.Fatalf("response: chain %q token %+v", resp.Chain, resp.Token)
	}
	got, err := sts.ParseXML(resp.Token.Data)
	if err != nil {
		t.Fatal(err)
	}
	want, err := sts.ParseXML(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.RST) != 0 {
		t.Fatal("the sample is expected to have an empty RequestSecurityToken")
	}
	want.RST = got.RST
	if got.RST.Get("AppliesTo") == nil {
		t.Errorf("the request's RST attributes are missing: %v", got.RST)
	}
	if !got.Equal(want) {
		t.Errorf("content lost through the chain:\n%s", cmp.Diff(want, got))
	}
}

func TestChainToJSON(t *testing.T) {
	rt := load(t)
	in := `<stsuuser:STSUniversalUser xmlns:stsuuser="urn:ibm:names:ITFIM:1.0:stsuuser"><stsuuser:AttributeList>` +
		`<stsuuser:Attribute name="uid" type="urn:com:ibm:JWT:claim"><stsuuser:Value>alice</stsuuser:Value></stsuuser:Attribute>` +
		`<stsuuser:Attribute name="email" type="urn:com:ibm:JWT:claim"><stsuuser:Value>alice@example.com</stsuuser:Value></stsuuser:Attribute>` +
		`</stsuuser:AttributeList></stsuuser:STSUniversalUser>`
	resp, err := rt.Run(context.Background(), &sts.Request{
		Type: sts.RequestValidate, AppliesTo: "http://appliesto/json",
		Base: &sts.Token{Data: []byte(in)},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := sts.ParseJSON(resp.Token.Data)
	if err != nil {
		t.Fatalf("%v\n%s", err, resp.Token.Data)
	}
	if got.PrincipalName() != "alice" {
		t.Errorf("principal %q", got.PrincipalName())
	}
	want := sts.Attributes{
		sts.NewAttribute("uid", sts.TypeJWTIssueClaim, "alice"),
		sts.NewAttribute("email", sts.TypeJWTIssueClaim, "alice@example.com"),
		sts.NewAttribute("tenant", sts.TypeJWTIssueClaim, "acme"),
	}
	if d := cmp.Diff(want, got.Attributes); d != "" {
		t.Errorf("attributes (-want +got):\n%s", d)
	}
}

package stsuu

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/sts"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// newStep decodes cfg strictly, as the chain loader does, and provisions the
// instance for mode.
func newStep(t *testing.T, mode sts.Mode, cfg string) (*Module, error) {
	t.Helper()
	m := new(Module)
	if cfg != "" {
		if err := yaml.UnmarshalWithOptions([]byte(cfg), m, yaml.Strict()); err != nil {
			return nil, err
		}
	}
	if err := m.Provision(sts.ProvisionContext{Context: context.Background(), Mode: mode}); err != nil {
		return nil, err
	}
	return m, m.Validate()
}

func mustStep(t *testing.T, mode sts.Mode, cfg string) *Module {
	t.Helper()
	m, err := newStep(t, mode, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// requestUser is the universal user the chain runner starts with: the
// request's own elements in the RequestSecurityToken section.
func requestUser() *sts.STSUU {
	u := sts.NewSTSUU()
	u.RST.Add(sts.NewAttribute("AppliesTo", sts.TypeRST, "http://appliesto/stsuu"))
	return u
}

func call(u *sts.STSUU, token []byte) *sts.Call {
	return &sts.Call{Request: &sts.Request{Type: sts.RequestValidate, Base: &sts.Token{Type: sts.TokenTypeSTSUU, Data: token}}, User: u}
}

// TestValidateIssueRoundTrip is the acceptance case: an ISAM-written
// document through stsuu validate and stsuu issue loses nothing.
func TestValidateIssueRoundTrip(t *testing.T) {
	in := readFile(t, "isam.xml")
	want, err := sts.ParseXML(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{FormatXML, FormatJSON} {
		t.Run(format, func(t *testing.T) {
			c := call(sts.NewSTSUU(), in)
			if err := mustStep(t, sts.ModeValidate, "").ValidateToken(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			if err := mustStep(t, sts.ModeIssue, "format: "+format).IssueToken(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			if c.Output.Type != sts.TokenTypeSTSUU {
				t.Errorf("token type %q", c.Output.Type)
			}
			checkGolden(t, "isam-roundtrip."+format, c.Output.Data)
			var got *sts.STSUU
			if format == FormatXML {
				got, err = sts.ParseXML(c.Output.Data)
			} else {
				got, err = sts.ParseJSON(c.Output.Data)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(want) {
				t.Errorf("lost content:\n%s", cmp.Diff(want, got))
			}
		})
	}
}

func TestValidate(t *testing.T) {
	const xmlDoc = `<s:STSUniversalUser xmlns:s="urn:ibm:names:ITFIM:1.0:stsuuser"><s:Principal><s:Attribute name="name" type="urn:ibm:names:ITFIM:5.1:accessmanager"><s:Value>bob</s:Value></s:Attribute></s:Principal>` +
		`<s:AttributeList><s:Attribute name="email" type="urn:ibm:jwt:claim"><s:Value>bob@example.com</s:Value></s:Attribute></s:AttributeList>` +
		`<s:RequestSecurityToken><s:Attribute name="AppliesTo" type="http://schemas.xmlsoap.org/ws/2005/02/trust"><s:Value>http://spoofed</s:Value></s:Attribute>` +
		`<s:Attribute name="Issuer" type="http://schemas.xmlsoap.org/ws/2005/02/trust"><s:Value>http://issuer/earlier</s:Value></s:Attribute></s:RequestSecurityToken></s:STSUniversalUser>`
	const jsonDoc = `{"uid":"bob","attributeContainer":[{"name":"email","type":"urn:ibm:jwt:claim","values":["bob@example.com"]}]}`
	tests := []struct {
		name    string
		cfg     string
		token   string
		wantErr string
		check   func(t *testing.T, u *sts.STSUU)
	}{
		{name: "xml-auto", token: xmlDoc, check: func(t *testing.T, u *sts.STSUU) {
			if u.PrincipalName() != "bob" || u.Attributes.Get("email") == nil {
				t.Errorf("not merged: %s", u.JSON())
			}
			// The request's AppliesTo wins; the document's Issuer is kept.
			want := sts.Attributes{
				sts.NewAttribute("AppliesTo", sts.TypeRST, "http://appliesto/stsuu"),
				sts.NewAttribute("Issuer", sts.TypeRST, "http://issuer/earlier"),
			}
			if diff := cmp.Diff(want, u.RST); diff != "" {
				t.Errorf("rst (-want +got):\n%s", diff)
			}
			if u.Context.Get("existing") == nil {
				t.Errorf("existing context attribute lost")
			}
			if got := u.Attributes.Get("email").Values; len(got) != 1 {
				t.Errorf("email replaced, not appended: %v", got)
			}
		}},
		{name: "rst-drop", cfg: "rst: drop", token: xmlDoc, check: func(t *testing.T, u *sts.STSUU) {
			if len(u.RST) != 1 || u.RST.Get("Issuer") != nil {
				t.Errorf("rst = %v", u.RST)
			}
		}},
		{name: "json-auto-with-whitespace-and-bom", token: "\xEF\xBB\xBF \n\t" + jsonDoc, check: func(t *testing.T, u *sts.STSUU) {
			if u.PrincipalName() != "bob" {
				t.Errorf("principal %q", u.PrincipalName())
			}
		}},
		{name: "json-forced", cfg: "format: json", token: jsonDoc},
		{name: "xml-forced-on-json", cfg: "format: xml", token: jsonDoc, wantErr: "not a valid STSUU document"},
		{name: "json-forced-on-xml", cfg: "format: json", token: xmlDoc, wantErr: "not a valid STSUU document"},
		{name: "neither", token: "eyJhbGciOi.x.y", wantErr: "not a valid STSUU document"},
		{name: "empty", token: "", wantErr: "no STSUU document"},
		{name: "doctype", token: `<!DOCTYPE x><x/>`, wantErr: "not a valid STSUU document"},
		{name: "too-big", cfg: "max_bytes: 100", token: xmlDoc, wantErr: "not a valid STSUU document"},
		{name: "too-deep", cfg: "max_depth: 3", token: xmlDoc, wantErr: "not a valid STSUU document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustStep(t, sts.ModeValidate, tt.cfg)
			u := requestUser()
			u.Context.Add(sts.NewAttribute("existing", "t", "x"))
			u.Attributes.Add(sts.NewAttribute("email", sts.TypeJWTIssueClaim, "old@example.com"))
			c := call(u, []byte(tt.token))
			err := m.ValidateToken(context.Background(), c)
			if tt.wantErr != "" {
				if !errors.Is(err, sts.ErrInvalidRequest) {
					t.Fatalf("error %v, want invalid_request", err)
				}
				var se *sts.Error
				if errors.As(err, &se) && !strings.Contains(se.Description, tt.wantErr) {
					t.Errorf("description %q, want %q", se.Description, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, c.User)
			}
		})
	}
}

func TestValidateNoBase(t *testing.T) {
	m := mustStep(t, sts.ModeValidate, "")
	c := &sts.Call{Request: &sts.Request{Type: sts.RequestValidate}, User: sts.NewSTSUU()}
	if err := m.ValidateToken(context.Background(), c); !errors.Is(err, sts.ErrInvalidRequest) {
		t.Errorf("error %v", err)
	}
}

func TestIssueEmptyUser(t *testing.T) {
	c := &sts.Call{Request: &sts.Request{}}
	if err := mustStep(t, sts.ModeIssue, "").IssueToken(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	want := `<stsuuser:STSUniversalUser xmlns:stsuuser="urn:ibm:names:ITFIM:1.0:stsuuser"><stsuuser:Principal/><stsuuser:GroupList/><stsuuser:AttributeList/><stsuuser:RequestSecurityToken/><stsuuser:ContextAttributes/><stsuuser:AdditionalAttributeStatement/></stsuuser:STSUniversalUser>`
	if got := string(c.Output.Data); got != want {
		t.Errorf("got %s", got)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		mode    sts.Mode
		cfg     string
		wantErr string
		// path is the key a *sts.ConfigError must name; empty for errors
		// the YAML decoder reports itself.
		path string
	}{
		{mode: sts.ModeValidate, cfg: ""},
		{mode: sts.ModeValidate, cfg: "format: auto"},
		{mode: sts.ModeIssue, cfg: "format: json"},
		{mode: "", cfg: "format: auto"},
		{mode: sts.ModeIssue, cfg: "format: auto", wantErr: "issue needs format xml or json", path: "format"},
		{mode: sts.ModeValidate, cfg: "format: yaml", wantErr: `unknown format "yaml"`, path: "format"},
		{mode: sts.ModeValidate, cfg: "rst: keep", wantErr: `unknown value "keep"`, path: "rst"},
		{mode: sts.ModeValidate, cfg: "max_bytes: -1", wantErr: "must be between", path: "max_bytes"},
		{mode: sts.ModeValidate, cfg: "max_depth: 100000", wantErr: "must be between", path: "max_depth"},
		{mode: sts.ModeValidate, cfg: "formt: xml", wantErr: "unknown field"},
		{mode: sts.ModeValidate, cfg: "max_bytes: lots", wantErr: "max_bytes"},
	}
	for _, tt := range tests {
		_, err := newStep(t, tt.mode, tt.cfg)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%s %q: %v", tt.mode, tt.cfg, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s %q: error %v, want %q", tt.mode, tt.cfg, err, tt.wantErr)
			continue
		}
		if tt.path == "" {
			continue
		}
		var ce *sts.ConfigError
		if !errors.As(err, &ce) || ce.Path != tt.path {
			t.Errorf("%q: error %#v, want a *sts.ConfigError at %q", tt.cfg, err, tt.path)
		}
	}
}

func TestRegistered(t *testing.T) {
	mi, ok := sts.GetModule("stsuu")
	if !ok {
		t.Fatal("stsuu not registered")
	}
	if diff := cmp.Diff([]sts.Mode{sts.ModeValidate, sts.ModeIssue}, mi.Modes()); diff != "" {
		t.Errorf("modes (-want +got):\n%s", diff)
	}
}

// TestValidateLargeDocument runs validate on a document near the size limit
// with tens of thousands of attributes over a user that already has some,
// and checks the merge (replace in place, append the rest).
func TestValidateLargeDocument(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<a:STSUniversalUser xmlns:a="urn:ibm:names:ITFIM:1.0:stsuuser"><a:AttributeList>`)
	n := 0
	for ; b.Len() < 1<<20-200; n++ {
		fmt.Fprintf(&b, `<a:Attribute name="%d"><a:Value>new</a:Value></a:Attribute>`, n)
	}
	b.WriteString(`</a:AttributeList></a:STSUniversalUser>`)
	u := requestUser()
	u.Attributes.Add(sts.NewAttribute("7", "", "old"))
	u.Attributes.Add(sts.NewAttribute("kept", "", "old"))
	c := call(u, []byte(b.String()))
	if err := mustStep(t, sts.ModeValidate, "").ValidateToken(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	got := c.User.Attributes
	if len(got) != n+1 || got[0].Name != "7" || got[0].Value() != "new" || got[1].Name != "kept" || got[2].Name != "0" {
		t.Errorf("%d attributes (want %d), first %v %v %v", len(got), n+1, got[0], got[1], got[2])
	}
}

package sts

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestXMLGolden parses every sample under testdata/xml, writes it as XML and
// JSON (golden files under testdata/golden), and checks that both outputs
// read back to the same user.
func TestXMLGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/xml/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".xml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			u, err := ParseXML(data)
			if err != nil {
				t.Fatal(err)
			}
			x := u.XML()
			checkGolden(t, filepath.Join("testdata", "golden", "xml-"+name+".xml"), x)
			j := u.JSON()
			checkGolden(t, filepath.Join("testdata", "golden", "xml-"+name+".json"), j)
			assertRoundTrips(t, u)
		})
	}
}

// assertRoundTrips checks XML → XML, JSON → JSON and the cross conversions
// keep u unchanged, and that writing is idempotent.
func assertRoundTrips(t *testing.T, u *STSUU) {
	t.Helper()
	x := u.XML()
	ux, err := ParseXML(x)
	if err != nil {
		t.Fatalf("reading back XML output: %v\n%s", err, x)
	}
	if !ux.Equal(u) {
		t.Errorf("XML round trip changed the user:\n%s", cmp.Diff(u, ux))
	}
	if x2 := ux.XML(); string(x2) != string(x) {
		t.Errorf("XML output not stable:\n%s\n%s", x, x2)
	}
	j := u.JSON()
	uj, err := ParseJSON(j)
	if err != nil {
		t.Fatalf("reading back JSON output: %v\n%s", err, j)
	}
	if !uj.Equal(u) {
		t.Errorf("JSON round trip changed the user:\n%s", cmp.Diff(u, uj))
	}
	if j2 := uj.JSON(); string(j2) != string(j) {
		t.Errorf("JSON output not stable:\n%s\n%s", j, j2)
	}
	if !json.Valid(j) {
		t.Errorf("JSON output is not valid JSON: %s", j)
	}
	// Across: XML → JSON → XML gives the same bytes.
	if x3 := uj.XML(); string(x3) != string(x) {
		t.Errorf("XML from the JSON round trip differs:\n%s\n%s", x, x3)
	}
}

const (
	am  = TypeAccessManager
	jwt = TypeJWTIssueClaim
)

// TestParseXMLISAM checks the content of the ISAM-written sample field by
// field, independently of the writer.
func TestParseXMLISAM(t *testing.T) {
	u, err := ParseXML(readTestdata(t, "xml/isam.xml"))
	if err != nil {
		t.Fatal(err)
	}
	want := &STSUU{
		Principal: Attributes{{Name: "name", Type: am, Values: []any{"testuser"}}},
		Groups: []*Group{
			{Name: "manager", Type: am},
			{Name: "engineering", Type: am, Attributes: Attributes{
				{Name: "cn", Type: am, Values: []any{"Engineering & Research"}},
				{Name: "location", Type: "", Values: []any{"Austin", "Gold Coast"}},
			}},
		},
		Attributes: Attributes{
			{Name: "scope", Type: jwt, Values: []any{"read", "write"}},
			{Name: "AZN_CRED_AUTH_METHOD", Type: am, Nickname: "authMethod", Values: []any{"password"}},
			{Name: "note", Type: jwt, Values: []any{"  leading and trailing spaces kept  ", "", `<not-markup> & "quoted"`}},
			{Name: "empty", Type: jwt, Values: []any{}},
		},
		Context: Attributes{
			{Name: "claim_json", Type: TypeJWT, Values: []any{`{"sub":"testuser","tenant":{"id":7}}`}},
			{Name: "header", Type: TypeJWT, Values: []any{`{"alg":"RS256","kid":"k1"}`}},
		},
	}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("parsed user (-want +got):\n%s", diff)
	}
	x := string(u.XML())
	for _, s := range []string{
		`<stsuuser:STSUniversalUser xmlns:stsuuser="urn:ibm:names:ITFIM:1.0:stsuuser"><stsuuser:Principal>`,
		`</stsuuser:AttributeList><stsuuser:RequestSecurityToken/><stsuuser:ContextAttributes>`,
		`</stsuuser:ContextAttributes><stsuuser:AdditionalAttributeStatement/></stsuuser:STSUniversalUser>`,
		`<stsuuser:Group name="manager" type="urn:ibm:names:ITFIM:5.1:accessmanager"/>`,
		`<stsuuser:Value>read</stsuuser:Value><stsuuser:Value>write</stsuuser:Value>`,
		`<stsuuser:Value>&lt;not-markup&gt; &amp; "quoted"</stsuuser:Value>`,
	} {
		if !strings.Contains(x, s) {
			t.Errorf("XML output lacks %q:\n%s", s, x)
		}
	}
	if strings.Contains(x, "chainsts") {
		t.Errorf("a document of strings must not carry chainsts markup:\n%s", x)
	}
}

// TestISAMRuleCutting replays what public ISAM rules do with toString():
// cut the text after <stsuuser:RequestSecurityToken/> and before the
// trailing <stsuuser:AdditionalAttributeStatement/>, wrap the piece in a
// new root and parse it.
func TestISAMRuleCutting(t *testing.T) {
	u := NewSTSUU()
	u.Context.Add(NewAttribute("claim_json", TypeJWT, `{"sub":"a"}`))
	u.Context.Add(NewAttribute("exp", TypeJWT, 1767225600))
	s := string(u.XML())
	_, after, ok := strings.Cut(s, "<stsuuser:RequestSecurityToken/>")
	if !ok {
		t.Fatalf("no empty RequestSecurityToken in %s", s)
	}
	i := strings.LastIndex(after, "<stsuuser:AdditionalAttributeStatement/>")
	if i < 0 {
		t.Fatalf("no trailing AdditionalAttributeStatement in %s", s)
	}
	piece := after[:i]
	doc := `<stsuuser:STSUniversalUser xmlns:stsuuser="urn:ibm:names:ITFIM:1.0:stsuuser">` + piece + `</stsuuser:STSUniversalUser>`
	v, err := ParseXML([]byte(doc))
	if err != nil {
		t.Fatalf("the cut-out section does not stand on its own: %v\n%s", err, doc)
	}
	if diff := cmp.Diff(u.Context, v.Context); diff != "" {
		t.Errorf("context after cutting (-want +got):\n%s", diff)
	}
}

func TestParseXMLVariants(t *testing.T) {
	t.Run("rst-claims", func(t *testing.T) {
		u, err := ParseXML(readTestdata(t, "xml/rst-claims.xml"))
		if err != nil {
			t.Fatal(err)
		}
		claims := u.RST.Get("Claims")
		if claims == nil || len(claims.Values) != 1 {
			t.Fatalf("Claims = %#v", claims)
		}
		// The Claims element keeps its markup, its own prefix and gets the
		// declarations it relies on from the enclosing document.
		want := XML(`<wst:Claims Dialect="urn:ibm:names:ITFIM:1.0:stsuuser" xmlns:u="urn:ibm:names:ITFIM:1.0:stsuuser" xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512">` +
			`<u:STSUniversalUser><u:ContextAttributes><u:Attribute name="signing.alg" type="urn:ibm:JWT:header:claim"><u:Value>RS256</u:Value></u:Attribute></u:ContextAttributes></u:STSUniversalUser></wst:Claims>`)
		if diff := cmp.Diff(any(want), claims.Values[0]); diff != "" {
			t.Errorf("Claims value (-want +got):\n%s", diff)
		}
		if got := u.Statements; len(got) != 1 || got[0].ID != "stmt-1" || got[0].Attributes.Get("department") == nil {
			t.Errorf("statements = %s", cmp.Diff(nil, got))
		}
		if len(u.Principal) != 0 || len(u.Context) != 0 {
			t.Errorf("empty sections not empty: %v %v", u.Principal, u.Context)
		}
	})
	t.Run("default-namespace", func(t *testing.T) {
		u, err := ParseXML(readTestdata(t, "xml/default-namespace.xml"))
		if err != nil {
			t.Fatal(err)
		}
		if got := u.PrincipalName(); got != "alice" {
			t.Errorf("principal = %q", got)
		}
		// Repeated (name, type) attributes merge, as addAttribute does.
		if diff := cmp.Diff([]any{"alice@example.com", "alice@example.org"}, u.Attributes.Get("email").Values); diff != "" || len(u.Attributes) != 1 {
			t.Errorf("email merge (-want +got):\n%s", diff)
		}
		want := XML(`<Assertion xmlns="urn:ibm:names:ITFIM:1.0:stsuuser"/>`)
		if diff := cmp.Diff(any(want), u.Context.Get("saml").Value()); diff != "" {
			t.Errorf("XML value in a default namespace (-want +got):\n%s", diff)
		}
	})
}

// TestXMLValueTypes checks the chainsts:type marking value by value.
func TestXMLValueTypes(t *testing.T) {
	tests := []struct {
		value any
		xml   string
	}{
		{"plain", `<stsuuser:Value>plain</stsuuser:Value>`},
		{"", `<stsuuser:Value></stsuuser:Value>`},
		{"a\r\nb", `<stsuuser:Value>a&#xD;
b</stsuuser:Value>`},
		{json.Number("9007199254740993"), typedValueStart + `number">9007199254740993</stsuuser:Value>`},
		{json.Number("1.5e-7"), typedValueStart + `number">1.5e-7</stsuuser:Value>`},
		{true, typedValueStart + `boolean">true</stsuuser:Value>`},
		{nil, typedValueStart + `null"/>`},
		{[]any{"a", json.Number("1"), nil}, typedValueStart + `array">["a",1,null]</stsuuser:Value>`},
		{map[string]any{"b": "<x>", "a": false}, typedValueStart + `object">{"a":false,"b":"&lt;x&gt;"}</stsuuser:Value>`},
		{"nul\x00", typedValueStart + `string">"nul\u0000"</stsuuser:Value>`},
		{"\uFFFE", typedValueStart + `string">"\ufffe"</stsuuser:Value>`},
		{XML(`<a b="1"/>`), `<stsuuser:Value><a b="1"/></stsuuser:Value>`},
		{XML(`text &amp; more`), typedValueStart + `xml">text &amp;amp; more</stsuuser:Value>`},
	}
	for _, tt := range tests {
		u := NewSTSUU()
		u.Attributes.Add(&Attribute{Name: "v", Type: "t", Values: []any{tt.value}})
		x := string(u.XML())
		if !strings.Contains(x, tt.xml) {
			t.Errorf("%#v: want %s in\n%s", tt.value, tt.xml, x)
			continue
		}
		back, err := ParseXML([]byte(x))
		if err != nil {
			t.Errorf("%#v: %v", tt.value, err)
			continue
		}
		if diff := cmp.Diff(tt.value, back.Attributes.Get("v").Value()); diff != "" {
			t.Errorf("%#v round trip (-want +got):\n%s", tt.value, diff)
		}
	}
}

func TestXMLMalformedXMLValueWrittenAsText(t *testing.T) {
	u := NewSTSUU()
	u.Attributes.Add(&Attribute{Name: "v", Values: []any{XML("<open>")}})
	back, err := ParseXML(u.XML())
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Attributes.Get("v").Value(); got != "<open>" {
		t.Errorf("value = %#v, want the text as a string", got)
	}
}

func TestParseXMLRejects(t *testing.T) {
	const open = `<s:STSUniversalUser xmlns:s="urn:ibm:names:ITFIM:1.0:stsuuser">`
	const end = `</s:STSUniversalUser>`
	deep := open + "<s:AttributeList><s:Attribute name=\"a\"><s:Value>" + strings.Repeat("<x>", 100) + strings.Repeat("</x>", 100) + "</s:Value></s:Attribute></s:AttributeList>" + end
	big := open + "<s:AttributeList><s:Attribute name=\"a\"><s:Value>" + strings.Repeat("A", 1<<20) + "</s:Value></s:Attribute></s:AttributeList>" + end
	tests := []struct {
		name, doc, want string
	}{
		{"doctype", `<!DOCTYPE x [<!ELEMENT x ANY>]>` + open + end, "directives"},
		{"xxe", `<?xml version="1.0"?><!DOCTYPE s:STSUniversalUser [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + open + `<s:Principal><s:Attribute name="n"><s:Value>&xxe;</s:Value></s:Attribute></s:Principal>` + end, "directives"},
		{"billion-laughs", string(readTestdata(t, "malicious/billion-laughs.xml")), "directives"},
		{"undefined-entity", open + `<s:Principal><s:Attribute name="n"><s:Value>&lol;</s:Value></s:Attribute></s:Principal>` + end, "entity"},
		{"deep", deep, "nested deeper"},
		{"oversized", big, "larger than the limit"},
		{"wrong-root", `<STSUniversalUser/>`, "root element"},
		{"wrong-root-ns", `<s:STSUniversalUser xmlns:s="urn:other"/>`, "root element"},
		{"wrong-root-name", `<s:Assertion xmlns:s="urn:ibm:names:ITFIM:1.0:stsuuser"/>`, "root element"},
		{"two-roots", open + end + open + end, "after the root"},
		{"unclosed", open + `<s:Principal>`, "not closed"},
		{"mismatched", open + `<s:Principal></s:AttributeList>` + end, "closed by"},
		{"undeclared-prefix", `<x:STSUniversalUser/>`, "undeclared namespace prefix"},
		{"unknown-section", open + `<s:Credentials/>` + end, "unexpected element"},
		{"text-in-section", open + `<s:Principal>hello</s:Principal>` + end, "unexpected text"},
		{"attribute-without-name", open + `<s:Principal><s:Attribute type="t"/></s:Principal>` + end, "without a name"},
		{"group-without-name", open + `<s:GroupList><s:Group/></s:GroupList>` + end, "without a name"},
		{"unknown-attribute", open + `<s:Principal><s:Attribute name="n" kind="x"/></s:Principal>` + end, "unexpected attribute"},
		{"repeated-attribute", open + `<s:Principal><s:Attribute name="n" name="m"/></s:Principal>` + end, "repeats attribute"},
		{"bad-type", open + `<s:Principal><s:Attribute name="n"><s:Value xmlns:c="urn:chainsts:stsuu:1.0" c:type="date">x</s:Value></s:Attribute></s:Principal>` + end, "unknown Value type"},
		{"type-mismatch", open + `<s:Principal><s:Attribute name="n"><s:Value xmlns:c="urn:chainsts:stsuu:1.0" c:type="number">"7"</s:Value></s:Attribute></s:Principal>` + end, "holds a string"},
		{"bad-number", open + `<s:Principal><s:Attribute name="n"><s:Value xmlns:c="urn:chainsts:stsuu:1.0" c:type="number">07</s:Value></s:Attribute></s:Principal>` + end, "number"},
		{"bad-encoding", `<?xml version="1.0" encoding="ISO-8859-1"?>` + open + end, "encoding"},
		{"invalid-utf8", open + "<s:Principal><s:Attribute name=\"n\"><s:Value>\xff</s:Value></s:Attribute></s:Principal>" + end, "UTF-8"},
		{"control-char", open + "<s:Principal><s:Attribute name=\"n\"><s:Value>\x01</s:Value></s:Attribute></s:Principal>" + end, "illegal character"},
		{"empty", ``, "no root element"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseXML([]byte(tt.doc))
			if err == nil {
				t.Fatalf("accepted: %s", u.XML())
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestParseXMLLimitsOption(t *testing.T) {
	doc := readTestdata(t, "xml/isam.xml")
	if _, err := ParseXMLLimits(doc, Limits{MaxBytes: 100}); err == nil || !strings.Contains(err.Error(), "limit of 100") {
		t.Errorf("MaxBytes 100: %v", err)
	}
	if _, err := ParseXMLLimits(doc, Limits{MaxDepth: 4}); err == nil || !strings.Contains(err.Error(), "limit of 4") {
		t.Errorf("MaxDepth 4: %v", err)
	}
	if _, err := ParseXMLLimits(doc, Limits{MaxDepth: 5}); err != nil {
		t.Errorf("MaxDepth 5 (the deepest structure, group attribute values): %v", err)
	}
}

func TestParseXMLFragment(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: `  <a:b xmlns:a="urn:a"><!-- c --><a:c  x='1'/><?pi x?></a:b> `, want: `<a:b xmlns:a="urn:a"><a:c x="1"/></a:b>`},
		{in: `text &lt; <e>&#65;</e>`, want: `text &lt; <e>A</e>`},
		{in: "<e a=\"x&#10;y\"/>", want: `<e a="x&#xA;y"/>`},
		{in: `<a/><b/>`, want: `<a/><b/>`},
		{in: ``, want: ``},
		{in: `</chainsts-fragment><x>`, err: "after the root"},
		{in: `<a>`, err: "closed by"},
		{in: `<!DOCTYPE a><a/>`, err: "directives"},
		{in: `<p:a/>`, err: "undeclared"},
	}
	for _, tt := range tests {
		got, err := ParseXMLFragment(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestXMLNamesFromGoCode checks that names XML cannot carry (only Go code can
// make them) still give a well-formed document.
func TestXMLNamesFromGoCode(t *testing.T) {
	u := NewSTSUU()
	u.Attributes.Add(&Attribute{Name: "a\x00b\xff", Type: "t\uFFFE"})
	back, err := ParseXML(u.XML())
	if err != nil {
		t.Fatal(err)
	}
	if a := back.Attributes[0]; a.Name != "a\uFFFDb\uFFFD" || a.Type != "t\uFFFD" {
		t.Errorf("name %q type %q", a.Name, a.Type)
	}
}

// TestLargeDocumentsMerge checks the one-pass merge of repeated identities
// on documents near the size limit (BenchmarkParseLarge times them).
func TestLargeDocumentsMerge(t *testing.T) {
	x, j := largeDocuments()
	ux, err := ParseXML(x)
	if err != nil {
		t.Fatal(err)
	}
	uj, err := ParseJSON(j)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []*STSUU{ux, uj} {
		if len(u.Attributes) < 10000 {
			t.Fatalf("only %d attributes", len(u.Attributes))
		}
		// Attribute "4" appears as itself and again as i=9 (9/2 = 4).
		if a := u.Attributes.Get("4"); a == nil || len(a.Values) != 2 {
			t.Errorf("attribute 4 = %v", a)
		}
		if u.Attributes[4].Name != "4" {
			t.Errorf("merge moved attribute 4 to %q", u.Attributes[4].Name)
		}
		seen := map[string]bool{}
		for _, a := range u.Attributes {
			if seen[a.Name] {
				t.Fatalf("attribute %q not merged", a.Name)
			}
			seen[a.Name] = true
		}
	}
	if d := Diff(ux, ux.Clone()); len(d) != 0 {
		t.Errorf("diff of a clone: %v", d)
	}
}

// TestHostileShapes parses documents shaped to make a naive reader
// quadratic (text split by thousands of comments; thousands of namespace
// declarations in scope of thousands of elements) and checks the result.
func TestHostileShapes(t *testing.T) {
	const open = `<a:STSUniversalUser xmlns:a="urn:ibm:names:ITFIM:1.0:stsuuser">`
	split := open + `<a:AttributeList><a:Attribute name="x"><a:Value>` + strings.Repeat("ab<!---->", 100000) + `</a:Value></a:Attribute></a:AttributeList></a:STSUniversalUser>`
	u, err := ParseXML([]byte(split))
	if err != nil {
		t.Fatal(err)
	}
	if got := StringValue(u.Attributes.Get("x").Value()); got != strings.Repeat("ab", 100000) {
		t.Errorf("split text: %d bytes", len(got))
	}
	var b strings.Builder
	b.WriteString(`<a:STSUniversalUser xmlns:a="urn:ibm:names:ITFIM:1.0:stsuuser"`)
	for i := range 5000 {
		fmt.Fprintf(&b, ` xmlns:p%d="urn:%d"`, i, i)
	}
	b.WriteString(`><a:AttributeList><a:Attribute name="x"><a:Value>`)
	for range 10000 {
		b.WriteString(`<p7 xmlns:q="urn:q"/>`)
	}
	b.WriteString(`<p4999:e/></a:Value></a:Attribute></a:AttributeList></a:STSUniversalUser>`)
	u, err = ParseXML([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	x := string(u.Attributes.Get("x").Value().(XML))
	if !strings.HasSuffix(x, `<p4999:e xmlns:p4999="urn:4999"/>`) || strings.Count(x, "<p7") != 10000 {
		t.Errorf("namespaced value: %q...", truncate(x, 80))
	}
}

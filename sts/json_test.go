package sts

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestJSONGolden parses every sample under testdata/json, writes it as JSON
// and XML (golden files under testdata/golden) and checks both read back
// unchanged.
func TestJSONGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/json/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			u, err := ParseJSON(data)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", "golden", "json-"+name+".json"), u.JSON())
			checkGolden(t, filepath.Join("testdata", "golden", "json-"+name+".xml"), u.XML())
			assertRoundTrips(t, u)
		})
	}
}

// TestJSONTypesSurviveXML checks, value by value, that JSON → XML → JSON
// keeps JSON types and literals.
func TestJSONTypesSurviveXML(t *testing.T) {
	u, err := ParseJSON(readTestdata(t, "json/typed.json"))
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseXML(u.XML())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want []any
	}{
		{"big", []any{json.Number("9007199254740993"), json.Number("-9007199254740993"), json.Number("18446744073709551617")}},
		{"exp", []any{json.Number("1767225600")}},
		{"ratio", []any{json.Number("0.25"), json.Number("1.0"), json.Number("1e3"), json.Number("-0")}},
		{"email_verified", []any{true, false}},
		{"middle_name", []any{nil}},
		{"roles", []any{[]any{"reader", "writer", json.Number("3"), []any{true, nil}}}},
		{"address", []any{map[string]any{
			"street": "1 Main St",
			"geo":    map[string]any{"lat": json.Number("51.5"), "lon": json.Number("-0.12")},
			"tags":   []any{},
		}}},
		{"text", []any{"plain", "", "tab\there", "nul\x00and\x1fcontrols", "\uFFFE\uFFFF", "<b>&amp;</b>", "line\r\nbreak", "  spaced  "}},
	}
	for _, tt := range tests {
		a := back.Attributes.Get(tt.name)
		if a == nil {
			t.Errorf("%s missing after XML", tt.name)
			continue
		}
		if diff := cmp.Diff(tt.want, a.Values); diff != "" {
			t.Errorf("%s after JSON → XML (-want +got):\n%s", tt.name, diff)
		}
	}
	if got := back.Attributes.Get("address").Nickname; got != "addr" {
		t.Errorf("nickname = %q", got)
	}
	claims := back.RST.Get("Claims").Values
	want := []any{
		XML(`<wst:Claims xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512" Dialect="urn:x"><wst:Item a="1"/></wst:Claims>`),
		XML(`just text &amp; more`),
	}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("XML values (-want +got):\n%s", diff)
	}
	if len(back.Statements) != 1 || back.Statements[0].ID != "s1" {
		t.Errorf("statements: the empty one is dropped, s1 kept: %s", cmp.Diff(nil, back.Statements))
	}
	if g := back.Group("admin"); g == nil || !EqualValues(g.Attributes.Get("since").Value(), json.Number("2019")) {
		t.Errorf("group attribute lost its number: %#v", g)
	}
	// ISAM's string view of a typed value is what the XML text shows.
	if got := StringValue(back.Attributes.Get("big").Value()); got != "9007199254740993" {
		t.Errorf("string view = %q", got)
	}
}

func TestParseJSONIVIAOP(t *testing.T) {
	u, err := ParseJSON(readTestdata(t, "json/iviaop.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := &STSUU{
		Principal: Attributes{{Name: "name", Type: TypeAccessManager, Values: []any{"john"}}},
		Attributes: Attributes{
			{Name: "email", Type: jwt, Values: []any{"john@example.com"}},
			{Name: "age", Type: jwt, Values: []any{json.Number("42")}},
		},
		Context: Attributes{
			{Name: "grant_type", Type: "urn:ibm:names:ITFIM:oauth:body:param", Values: []any{"urn:ietf:params:oauth:grant-type:token-exchange"}},
		},
	}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseJSONRejects(t *testing.T) {
	deep := `{"attributes":[{"name":"a","values":[` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]}]}`
	big := `{"attributes":[{"name":"a","values":["` + strings.Repeat("A", 1<<20) + `"]}]}`
	tests := []struct {
		name, doc, want string
	}{
		{"not-object", `[]`, "want an object"},
		{"unknown-key", `{"principals":[]}`, `unknown key "principals"`},
		{"duplicate-top-key", `{"attributes":[],"attributes":[]}`, `duplicate key "attributes"`},
		{"duplicate-nested-key", `{"attributes":[{"name":"a","values":[{"x":1,"x":2}]}]}`, `duplicate key "x"`},
		{"unknown-attr-key", `{"attributes":[{"name":"a","value":["x"]}]}`, `unknown key "value"`},
		{"missing-name", `{"attributes":[{"type":"t"}]}`, "name is required"},
		{"name-not-string", `{"attributes":[{"name":7}]}`, "want a string"},
		{"values-not-array", `{"attributes":[{"name":"a","values":"x"}]}`, "want an array"},
		{"section-null", `{"context":null}`, "want an array"},
		{"group-unknown-key", `{"groups":[{"name":"g","members":[]}]}`, `unknown key "members"`},
		{"statement-not-object", `{"statements":[[]]}`, "want an object"},
		{"uid-not-string", `{"uid":7}`, "uid"},
		{"uid-and-name", `{"uid":"a","principal":[{"name":"name","values":["b"]}]}`, "already has a name"},
		{"bad-xml", `{"rst":[{"name":"Claims","values":[{"$xml":"<a>"}]}]}`, "$xml"},
		{"xml-doctype", `{"rst":[{"name":"Claims","values":[{"$xml":"<!DOCTYPE a><a/>"}]}]}`, "directives"},
		{"xml-not-string", `{"rst":[{"name":"Claims","values":[{"$xml":1}]}]}`, "$xml"},
		{"trailing", `{} {}`, "after the JSON value"},
		{"trailing-garbage", `{}x`, "after the JSON value"},
		{"truncated", `{"attributes":[`, "JSON"},
		{"empty", ``, "end of JSON input"},
		{"invalid-utf8", "{\"uid\":\"\xff\"}", "UTF-8"},
		{"control-in-name", `{"attributes":[{"name":"a\u0000"}]}`, "XML cannot carry"},
		{"control-in-type", `{"groups":[{"name":"g","type":"\u0001"}]}`, "XML cannot carry"},
		{"noncharacter-in-id", `{"statements":[{"id":"\ufffe"}]}`, "XML cannot carry"},
		{"deep", deep, "nested deeper"},
		{"oversized", big, "larger than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseJSON([]byte(tt.doc))
			if err == nil {
				t.Fatalf("accepted: %s", u.JSON())
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestParseJSONLimitsOption(t *testing.T) {
	doc := readTestdata(t, "json/typed.json")
	if _, err := ParseJSONLimits(doc, Limits{MaxBytes: 64}); err == nil || !strings.Contains(err.Error(), "limit of 64") {
		t.Errorf("MaxBytes 64: %v", err)
	}
	// typed.json nests to 6: top, section, attribute, values, roles array, inner array.
	if _, err := ParseJSONLimits(doc, Limits{MaxDepth: 5}); err == nil || !strings.Contains(err.Error(), "limit of 5") {
		t.Errorf("MaxDepth 5: %v", err)
	}
	if _, err := ParseJSONLimits(doc, Limits{MaxDepth: 6}); err != nil {
		t.Errorf("MaxDepth 6: %v", err)
	}
}

func TestJSONOutputShape(t *testing.T) {
	u := NewSTSUU()
	if got, want := string(u.JSON()), `{"principal":[],"groups":[],"attributes":[],"rst":[],"context":[],"statements":[]}`; got != want {
		t.Errorf("empty user:\n got %s\nwant %s", got, want)
	}
	u.SetPrincipalName("alice")
	u.Attributes.Add(NewAttribute("obj", jwt, map[string]any{"z": 1, "a": "<&>", "m": []any{"\u2028"}}))
	u.Attributes.Add(&Attribute{Name: "bad", Values: []any{json.Number("1.e5"), "\xff"}})
	want := `{"principal":[{"name":"name","type":"urn:ibm:names:ITFIM:5.1:accessmanager","values":["alice"]}],"groups":[],` +
		`"attributes":[{"name":"obj","type":"urn:ibm:jwt:claim","values":[{"a":"<&>","m":["\u2028"],"z":1}]},` +
		`{"name":"bad","type":"","values":["1.e5","\ufffd"]}],"rst":[],"context":[],"statements":[]}`
	if got := string(u.JSON()); got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	// encoding/json uses the same form through MarshalJSON.
	b, err := json.Marshal(struct {
		U *STSUU `json:"u"`
	}{u})
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		U *STSUU `json:"u"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.U.PrincipalName() != "alice" || back.U.Attributes.Get("obj") == nil {
		t.Errorf("UnmarshalJSON: %s", back.U.JSON())
	}
}

// TestEmptyNamesRoundTrip: an empty name (a JSON claim named "") is an
// identity like any other and survives both forms.
func TestEmptyNamesRoundTrip(t *testing.T) {
	u, err := ParseJSON([]byte(`{"attributes":[{"name":"","values":[1]}],"groups":[{"name":""}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Attributes) != 1 || len(u.Groups) != 1 {
		t.Fatalf("%s", u.JSON())
	}
	assertRoundTrips(t, u)
}

package mappingrules

import (
	"context"
	"testing"
	"unicode/utf8"

	"github.com/chainsts/chainsts/sts"
)

// FuzzRuleOutput feeds arbitrary text through a rule that parses it as JSON
// and stores the result as an attribute value (SECURITY §5.4: rule output
// is parsed input). Whatever the rule produces must be refused cleanly or
// survive the STSUU's JSON form unchanged.
func FuzzRuleOutput(f *testing.F) {
	for _, seed := range []string{`{"a":1}`, `[1,"x",true,null]`, `"s"`, `1e308`, `{"__proto__":{"x":1}}`, `{"a":{"b":{"c":[]}}}`, `9007199254740993`, `"\u0000"`} {
		f.Add(seed)
	}
	set, err := NewRuleSet(Config{Inline: map[string]string{"r": `
var raw = stsuu.getContextAttributes().getAttributeValueByName("raw");
var v;
try { v = JSON.parse(raw); } catch (e) { v = raw; }
stsuu.addAttribute(new Attribute("out", "urn:fuzz", [v]));
`}}, "", nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	r, _ := set.Rule("r")
	f.Fuzz(func(t *testing.T, raw string) {
		// The input is a request value: valid text, as the codecs ensure.
		if !utf8.ValidString(raw) {
			return
		}
		u := sts.NewSTSUU()
		u.Context = append(u.Context, sts.NewAttribute("raw", "urn:fuzz", raw))
		if _, err := r.Evaluate(context.Background(), Input{User: u}); err != nil {
			return
		}
		back, err := sts.ParseJSON(u.JSON())
		if err != nil {
			t.Fatalf("the rule's output does not parse back: %v\n%s", err, u.JSON())
		}
		if !back.Equal(u) {
			t.Fatalf("the rule's output changed through JSON:\n%s\n%s", u.JSON(), back.JSON())
		}
	})
}

package mapmod

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/sts"
)

// TestReservedMembers checks the partial claim_json scan against a full
// decode with sts.ParseJSONValue, which the issue step uses: the guard must
// see every reserved member the issuer would.
func TestReservedMembers(t *testing.T) {
	for _, in := range []string{
		`{"iss":"a","exp":1893456000,"sub":"alice"}`,
		` { "iss" : "a" , "nested" : {"iss":"b","x":[1,{"exp":2}]} , "exp" : 1.5e3 } `,
		`{"\u0069ss":"escaped","kid":"header only","alg":"x","typ":"y"}`,
		`{"iss":"first","iss":"last"}`,
		`{"cnf":{"jkt":"abc","x5t#S256":"q\"}"},"act":{"sub":"svc","act":{"sub":"inner"}},"jti":null,"nbf":true}`,
		`{"s":"} ] \" \\","iat":[1,"2",{"a":"]"}],"signing.alg":"none"}`,
		`{}`,
		`{"iss":"unterminated"`,
		`{"iss":"a"} trailing`,
		`["iss","a"]`,
		`"iss"`,
		``,
	} {
		got := map[string]string{}
		for _, e := range reservedMembers(in) {
			got[e.name] = e.val
		}
		want := map[string]string{}
		if v, err := sts.ParseJSONValue([]byte(in)); err == nil {
			if obj, ok := v.(map[string]any); ok {
				for k, cv := range obj {
					if claimReserved(k) {
						want[k] = sts.StringValue(cv)
					}
				}
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: reserved members (-want +got):\n%s", in, diff)
		}
	}
}

// TestJSONReservedAccumulates checks that a reserved member of several
// claim_json values keeps each value, text and decoded alike.
func TestJSONReservedAccumulates(t *testing.T) {
	var s reservedSnapshot
	u := sts.NewSTSUU()
	u.Context = append(u.Context, sts.NewAttribute("claim_json", sts.TypeJWT, `{"iss":"a"}`, map[string]any{"iss": "b", "sub": "c"}))
	s.take(u)
	got := jsonReserved(s.claimJSON)
	sort.Slice(got, func(i, j int) bool { return got[i].name < got[j].name })
	want := []reservedEntry{{srcJSON, "iss", "a\x00b\x00"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(reservedEntry{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestReservedDuplicateAttributes: a rule can give two attributes the same
// name and type (Attribute.setName after adding it), and the issue step
// does not read them all the same way (signing.* takes the first, claims
// and headers the last one with a value). The snapshot must change when
// the rule adds such a duplicate, whichever of them it kept as before.
func TestReservedDuplicateAttributes(t *testing.T) {
	attr := func(name, typ string, vals ...any) *sts.Attribute { return sts.NewAttribute(name, typ, vals...) }
	for _, tc := range []struct {
		name          string
		before, after []*sts.Attribute
	}{
		{"signing first wins", []*sts.Attribute{attr("signing.kid", sts.TypeJWT, "legit")},
			[]*sts.Attribute{attr("signing.kid", sts.TypeJWT, "evil"), attr("signing.kid", sts.TypeJWT, "legit")}},
		{"claim after an empty one", []*sts.Attribute{attr("iss", sts.TypeJWTIssueClaim, "")},
			[]*sts.Attribute{attr("iss", sts.TypeJWTIssueClaim, "evil"), attr("iss", sts.TypeJWTIssueClaim)}},
		{"header after an empty one", []*sts.Attribute{attr("alg", sts.TypeJWTHeaderClaim, "")},
			[]*sts.Attribute{attr("alg", sts.TypeJWTHeaderClaim, "none"), attr("alg", sts.TypeJWTHeaderClaim)}},
		{"values joined with NUL", []*sts.Attribute{attr("iss", sts.TypeJWTIssueClaim, "a\x00b")},
			[]*sts.Attribute{attr("iss", sts.TypeJWTIssueClaim, "a", "b")}},
	} {
		var before, after reservedSnapshot
		for i, list := range [][]*sts.Attribute{tc.before, tc.after} {
			u := sts.NewSTSUU()
			for _, a := range list {
				if a.Type == sts.TypeJWTIssueClaim {
					u.Attributes = append(u.Attributes, a)
				} else {
					u.Context = append(u.Context, a)
				}
			}
			[]*reservedSnapshot{&before, &after}[i].take(u)
		}
		changed := false
		for _, e := range after.entries {
			if v, ok := lookupEntry(before.entries, e.src, e.name); !ok || v != e.val {
				changed = true
			}
		}
		if !changed {
			t.Errorf("%s: the guard sees no change", tc.name)
		}
	}
}

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

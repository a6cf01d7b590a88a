package jwt_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/chains"
	"github.com/chainsts/chainsts/keys"
	_ "github.com/chainsts/chainsts/modules/attributes"
	_ "github.com/chainsts/chainsts/modules/jwt"
	"github.com/chainsts/chainsts/sts"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGoldenClaimTypes runs a real chain — jwt validate → attributes map →
// jwt issue — over a token whose claims cover every JSON type, and compares
// the issued claims (time-dependent ones removed) with
// testdata/claim_types.golden.json. It also asserts directly that each
// input claim leaves with the same JSON type and value (PRODUCT §2.1).
func TestGoldenClaimTypes(t *testing.T) {
	dir := t.TempDir()
	cfg := `
data_dir: data
keystores:
  stores:
    default: {dev: true, public: true}
chains:
  - name: jwt-to-jwt
    steps:
      - id: in
        module: jwt
        mode: validate
        config: {signing: {keystore: default, alg: ES256}, iss: https://idp}
      - id: map
        module: attributes
        mode: map
        config:
          operations:
            - rename: {from: {section: attributes, type: "urn:com:ibm:JWT:claim"}, to: {section: attributes, type: "urn:ibm:jwt:claim"}}
            - delete: {section: context, name: claim_json}
      - id: out
        module: jwt
        mode: issue
        config: {signing: {keystore: default, alg: ES256}, iss: https://sts, extend_lifetime: true}
    lookup: {request_type: exchange}
`
	if err := os.WriteFile(filepath.Join(dir, "chainsts.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	rt, err := chains.Load(context.Background(), filepath.Join(dir, "chainsts.yaml"), chains.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	app, err := rt.App("keystores")
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := app.(*keys.App).Keystore("default")
	key := ks.SigningKey("ES256")

	claims := `{"iss":"https://idp","sub":"alice","exp":` + fmt.Sprint(time.Now().Add(time.Hour).Unix()) + `,` +
		`"big":9007199254740993,"neg":-42,"float":0.125,"exp10":1e3,"t":true,"f":false,"null":null,` +
		`"one":["only"],"none":[],"many":["a",2,false,null],"nested":[[1,2],[3]],` +
		`"obj":{"n":7,"s":"x","deep":{"arr":[1.5,{"k":"v"}]}},"unicode":"é\u2028<&>"}`
	hdr := `{"alg":"ES256","kid":"` + key.KID + `"}`
	in := b64(hdr) + "." + b64(claims)
	sig, err := key.Sign([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	tok := in + "." + base64.RawURLEncoding.EncodeToString(sig)

	resp, err := rt.Run(context.Background(), &sts.Request{Type: sts.RequestExchange, Base: &sts.Token{Type: sts.TokenTypeJWT, Data: []byte(tok)}})
	if err != nil {
		t.Fatal(err)
	}
	out := decodePart(t, strings.Split(string(resp.Token.Data), ".")[1])
	want := decodePart(t, strings.Split(tok, ".")[1])
	for _, n := range []string{"iss", "exp", "iat", "jti"} {
		delete(out, n)
		delete(want, n)
	}
	// Every input claim leaves with the same JSON type and value.
	if d := cmp.Diff(want, out); d != "" {
		t.Fatalf("claims changed through validate → map → issue (-in +out):\n%s", d)
	}
	got, _ := json.MarshalIndent(out, "", "  ")
	golden := filepath.Join("testdata", "claim_types.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantGolden, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if d := cmp.Diff(string(wantGolden), string(got)+"\n"); d != "" {
		t.Fatalf("issued claims differ from %s (-want +got):\n%s", golden, d)
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodePart(t *testing.T, s string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%v: %q", err, raw)
	}
	return m
}

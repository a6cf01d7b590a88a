package chains

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/chainsts/chainsts/sts"
)

// lookupConfig builds a configuration with one trivial chain per lookup,
// in order.
func lookupConfig(lookups ...string) string {
	var b strings.Builder
	b.WriteString("chains:\n")
	for i, l := range lookups {
		fmt.Fprintf(&b, "  - name: c%d\n    steps: [ { id: s, module: recorder, mode: map } ]\n", i+1)
		if l != "" {
			fmt.Fprintf(&b, "    lookup: { %s }\n", l)
		}
	}
	return b.String()
}

func TestLookupPrecedence(t *testing.T) {
	tests := []struct {
		name    string
		lookups []string
		req     sts.Request
		want    string // chain name, or "" for no match
	}{
		{
			name:    "exact beats regex",
			lookups: []string{`request_type: validate, applies_to: "REGEXP:(http://appliesto/.*)"`, `request_type: validate, applies_to: http://appliesto/stsuu`},
			req:     sts.Request{Type: "validate", AppliesTo: "http://appliesto/stsuu"},
			want:    "c2",
		},
		{
			name:    "regex used when exact does not match",
			lookups: []string{`request_type: validate, applies_to: "REGEXP:(http://appliesto/.*)"`, `request_type: validate, applies_to: http://appliesto/stsuu`},
			req:     sts.Request{Type: "validate", AppliesTo: "http://appliesto/jwt"},
			want:    "c1",
		},
		{
			name:    "regex is a full match",
			lookups: []string{`applies_to: "REGEXP:(http://appliesto/)"`},
			req:     sts.Request{Type: "validate", AppliesTo: "http://appliesto/stsuu"},
			want:    "",
		},
		{
			name:    "regex alternation is anchored as a whole",
			lookups: []string{`issuer: "REGEXP:(urn:a|urn:b)"`},
			req:     sts.Request{Type: "issue", Issuer: "urn:bx"},
			want:    "",
		},
		{
			name:    "more criteria beat fewer, even regex over exact",
			lookups: []string{`request_type: validate`, `request_type: validate, issuer: "REGEXP:(.*)"`},
			req:     sts.Request{Type: "validate", Issuer: "urn:x"},
			want:    "c2",
		},
		{
			name:    "fewer criteria when the more specific one does not match",
			lookups: []string{`request_type: validate`, `request_type: validate, issuer: urn:issuer`},
			req:     sts.Request{Type: "validate", Issuer: "urn:other"},
			want:    "c1",
		},
		{
			name:    "file order breaks ties",
			lookups: []string{`applies_to: "REGEXP:(http://a/.*)"`, `applies_to: "REGEXP:(http://.*)"`},
			req:     sts.Request{Type: "issue", AppliesTo: "http://a/b"},
			want:    "c1",
		},
		{
			name:    "file order breaks ties (reversed)",
			lookups: []string{`applies_to: "REGEXP:(http://.*)"`, `applies_to: "REGEXP:(http://a/.*)"`},
			req:     sts.Request{Type: "issue", AppliesTo: "http://a/b"},
			want:    "c1",
		},
		{
			name:    "no lookup matches every request, last resort",
			lookups: []string{``, `request_type: issue`},
			req:     sts.Request{Type: "validate"},
			want:    "c1",
		},
		{
			name:    "WS-Trust URIs are the short names",
			lookups: []string{`request_type: "http://schemas.xmlsoap.org/ws/2005/02/trust/Validate"`},
			req:     sts.Request{Type: "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Validate"},
			want:    "c1",
		},
		{
			name:    "other request type URIs match exactly",
			lookups: []string{`request_type: "urn:custom:Frobnicate"`},
			req:     sts.Request{Type: "urn:custom:Frobnicate"},
			want:    "c1",
		},
		{
			name:    "exchange requests use issue chains",
			lookups: []string{`request_type: issue, applies_to: http://api`},
			req:     sts.Request{Type: "exchange", AppliesTo: "http://api"},
			want:    "c1",
		},
		{
			name:    "an exchange chain is preferred over an issue chain",
			lookups: []string{`request_type: issue, applies_to: http://api`, `request_type: exchange, applies_to: http://api`},
			req:     sts.Request{Type: "exchange", AppliesTo: "http://api"},
			want:    "c2",
		},
		{
			name:    "the synonym counts as a regex: an exact exchange-less chain with the same count wins",
			lookups: []string{`request_type: issue, applies_to: http://api`, `applies_to: http://api, token_type: urn:t`},
			req:     sts.Request{Type: "exchange", AppliesTo: "http://api", TokenType: "urn:t"},
			want:    "c2",
		},
		{
			name:    "the synonym still counts as a populated criterion",
			lookups: []string{`applies_to: http://api`, `request_type: issue, applies_to: http://api`},
			req:     sts.Request{Type: "exchange", AppliesTo: "http://api"},
			want:    "c2",
		},
		{
			name:    "issue requests do not use exchange chains",
			lookups: []string{`request_type: exchange`},
			req:     sts.Request{Type: "issue"},
			want:    "",
		},
		{
			name:    "OAuth criteria",
			lookups: []string{`client_id: app1`, `client_id: app1, requested_token_type: urn:ietf:params:oauth:token-type:jwt, subject_token_type: "REGEXP:(urn:ietf:params:oauth:token-type:.*)"`},
			req:     sts.Request{Type: "exchange", ClientID: "app1", RequestedTokenType: sts.TokenTypeJWT, TokenType: sts.TokenTypeAccessToken},
			want:    "c2",
		},
		{
			name:    "token_type and subject_token_type read the same request value",
			lookups: []string{`subject_token_type: urn:x`},
			req:     sts.Request{Type: "exchange", TokenType: "urn:x"},
			want:    "c1",
		},
		{
			name:    "an absent request value does not match an exact criterion",
			lookups: []string{`issuer: urn:x`},
			req:     sts.Request{Type: "issue"},
			want:    "",
		},
		{
			name:    "an absent request value is the empty string for regexes",
			lookups: []string{`issuer: "REGEXP:(.*)"`},
			req:     sts.Request{Type: "issue"},
			want:    "c1",
		},
		{
			name:    "exact values are case sensitive",
			lookups: []string{`applies_to: http://Appliesto/stsuu`},
			req:     sts.Request{Type: "issue", AppliesTo: "http://appliesto/stsuu"},
			want:    "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := mustLoad(t, writeFile(t, lookupConfig(tt.lookups...)))
			req := tt.req
			resp, err := rt.Run(context.Background(), &req)
			got := ""
			if err == nil {
				got = resp.Chain
			}
			if got != tt.want {
				t.Errorf("selected %q, want %q (err %v)", got, tt.want, err)
			}
			if name, ok := rt.Lookup(&req); name != tt.want || ok != (tt.want != "") {
				t.Errorf("Lookup = %q, %v; want %q", name, ok, tt.want)
			}
		})
	}
}

func TestNoChainNamesTheKey(t *testing.T) {
	rt := mustLoad(t, writeFile(t, lookupConfig(`request_type: validate, issuer: urn:a`)))
	_, err := rt.Run(context.Background(), &sts.Request{Type: "validate", Issuer: "urn:b", AppliesTo: "http://x", ClientID: "app"})
	if !errors.Is(err, sts.ErrNoChain) {
		t.Fatalf("err = %v, want ErrNoChain", err)
	}
	e := sts.AsError(err)
	want := `no chain matches the request (request_type="validate" issuer="urn:b" applies_to="http://x" token_type="" client_id="app")`
	if e.Description != want || e.Code != "invalid_request" || e.Status != 400 {
		t.Errorf("got %q (%s %d), want %q", e.Description, e.Code, e.Status, want)
	}
}

// BenchmarkLookup measures chain selection among 200 chains with a mix of
// exact and regular expression criteria; it must not allocate.
func BenchmarkLookup(b *testing.B) {
	var lookups []string
	for i := range 100 {
		lookups = append(lookups,
			fmt.Sprintf(`request_type: validate, applies_to: "http://appliesto/%d", issuer: "REGEXP:(http://issuer/%d/.*)"`, i, i),
			fmt.Sprintf(`request_type: issue, applies_to: "REGEXP:(http://api/%d/.*)"`, i))
	}
	dir := b.TempDir()
	path := dir + "/c.yaml"
	if err := writeBytes(path, lookupConfig(lookups...)); err != nil {
		b.Fatal(err)
	}
	rt, err := Load(context.Background(), path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	req := &sts.Request{Type: "issue", AppliesTo: "http://api/99/x"}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := rt.Lookup(req); !ok {
			b.Fatal("no match")
		}
	}
}

// BenchmarkRun measures the engine's own cost for a three-step chain whose
// modules do almost nothing: lookup, the STSUU and its RST section, the
// call, the trace entries.
func BenchmarkRun(b *testing.B) {
	dir := b.TempDir()
	path := dir + "/c.yaml"
	if err := writeBytes(path, basicConfig); err != nil {
		b.Fatal(err)
	}
	rt, err := Load(context.Background(), path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	req := &sts.Request{ID: "r1", Type: "validate", AppliesTo: "http://appliesto/stsuu", Issuer: "http://issuer/stsuu"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rt.Run(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

package sts

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDiff(t *testing.T) {
	base := func() *STSUU {
		u := NewSTSUU()
		u.SetPrincipalName("alice")
		u.Groups = []*Group{{Name: "admin", Type: am}, {Name: "staff", Type: am}}
		u.Attributes.Add(NewAttribute("email", TypeJWTClaim, "a@example.com"))
		u.Attributes.Add(NewAttribute("scope", jwt, "read"))
		u.Context.Add(NewAttribute("claim_json", TypeJWT, `{"sub":"alice"}`))
		u.RST.Add(NewAttribute("AppliesTo", TypeAddressing, "http://appliesto/stsuu"))
		return u
	}
	tests := []struct {
		name   string
		change func(u *STSUU)
		want   []string
	}{
		{"nothing", func(u *STSUU) {}, nil},
		{"principal", func(u *STSUU) { u.SetPrincipalName("bob") }, []string{"principal alice -> bob"}},
		{"principal-removed", func(u *STSUU) { u.Principal = nil }, []string{"principal alice -> (none)"}},
		{"principal-attribute", func(u *STSUU) { u.Principal.Add(NewAttribute("uid", am, "7")) }, []string{"+principal uid (urn:ibm:names:ITFIM:5.1:accessmanager)"}},
		{"add-attribute", func(u *STSUU) { u.Attributes.Add(NewAttribute("mail", jwt, "x")) }, []string{"+attributes mail (urn:ibm:jwt:claim)"}},
		{"change-values", func(u *STSUU) { u.Attributes.Add(NewAttribute("scope", jwt, "write")) }, []string{"~attributes scope (urn:ibm:jwt:claim)"}},
		{"change-type-is-remove-and-add", func(u *STSUU) {
			u.Attributes.Remove("email", TypeJWTClaim)
			u.Attributes.Add(NewAttribute("email", jwt, "a@example.com"))
		}, []string{"+attributes email (urn:ibm:jwt:claim)", "-attributes email (urn:com:ibm:JWT:claim)"}},
		{"context", func(u *STSUU) {
			u.Context.Set(NewAttribute("claim_json", TypeJWT, `{"sub":"bob"}`))
			u.Context.Add(NewAttribute("flag", "", true))
		}, []string{"~context claim_json (urn:com:ibm:JWT)", "+context flag"}},
		{"rst", func(u *STSUU) { u.RST = nil }, []string{"-rst AppliesTo (http://schemas.xmlsoap.org/ws/2004/08/addressing)"}},
		{"groups", func(u *STSUU) {
			u.Groups = []*Group{{Name: "staff", Type: am, Attributes: Attributes{NewAttribute("cn", "", "Staff")}}, {Name: "ops", Type: am}}
		}, []string{"~groups staff", "+groups ops", "-groups admin"}},
		{"statements", func(u *STSUU) {
			u.Statements = []*AttributeStatement{{ID: "s1", Attributes: Attributes{NewAttribute("d", "", "x")}}}
		}, []string{"+statements #0 (id s1)"}},
		{"odd-names", func(u *STSUU) {
			u.Attributes.Add(NewAttribute("has space\n", "", "x"))
			u.Attributes.Add(NewAttribute(strings.Repeat("n", 100), "", "x"))
		}, []string{`+attributes "has space\n"`, `+attributes "` + strings.Repeat("n", 64) + `..."`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := base()
			after := before.Clone()
			tt.change(after)
			if diff := cmp.Diff(tt.want, Diff(before, after)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiffNeverShowsValues(t *testing.T) {
	after := NewSTSUU()
	after.Context.Add(NewAttribute("secret", "", "s3cr3t-"+strings.Repeat("x", 10000)))
	for _, l := range Diff(nil, after) {
		if strings.Contains(l, "s3cr3t") || len(l) > 200 {
			t.Errorf("line shows a value: %q", l)
		}
	}
}

func TestDiffBounded(t *testing.T) {
	after := NewSTSUU()
	for i := range 100 {
		after.Attributes.Add(NewAttribute(fmt.Sprintf("a%d", i), "", i))
	}
	got := Diff(NewSTSUU(), after)
	if len(got) != MaxDiffLines {
		t.Fatalf("%d lines", len(got))
	}
	if last := got[len(got)-1]; last != fmt.Sprintf("... and %d more changes", 100-MaxDiffLines+1) {
		t.Errorf("last line %q", last)
	}
	if got[0] != "+attributes a0" {
		t.Errorf("first line %q", got[0])
	}
}

package sts

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAttributesAddSetRemove(t *testing.T) {
	var l Attributes
	l.Add(NewAttribute("scope", jwt, "read"))
	l.Add(NewAttribute("aud", jwt, "a"))
	l.Add(NewAttribute("scope", jwt, "write"))
	l.Add(NewAttribute("scope", TypeJWTClaim, "other"))
	if d := cmp.Diff([]any{"read", "write"}, l.GetByNameAndType("scope", jwt).Values); d != "" {
		t.Errorf("Add appends values to the same identity: %s", d)
	}
	if len(l) != 3 || l.Get("scope").Type != jwt {
		t.Errorf("Add: %v", l)
	}
	l.Set(NewAttribute("scope", jwt, "admin"))
	if d := cmp.Diff([]string{"scope", "aud", "scope"}, names(l)); d != "" {
		t.Errorf("Set keeps the position: %s", d)
	}
	if d := cmp.Diff([]any{"admin"}, l.GetByNameAndType("scope", jwt).Values); d != "" {
		t.Errorf("Set replaces: %s", d)
	}
	l.Set(NewAttribute("new", "", 1))
	if l[len(l)-1].Name != "new" {
		t.Errorf("Set appends a new identity: %v", names(l))
	}
	if n := l.RemoveByName("scope"); n != 2 {
		t.Errorf("RemoveByName removed %d", n)
	}
	if n := l.Remove("aud", "other-type"); n != 0 {
		t.Errorf("Remove with another type removed %d", n)
	}
	if n := l.Remove("aud", jwt); n != 1 || len(l) != 1 {
		t.Errorf("Remove: %d, %v", n, names(l))
	}
	if len(Attributes{NewAttribute("a", "t1"), NewAttribute("b", "t1"), NewAttribute("c", "t2")}.ByType("t1")) != 2 {
		t.Error("ByType")
	}
}

func names(l Attributes) []string {
	var out []string
	for _, a := range l {
		out = append(out, a.Name)
	}
	return out
}

func TestNewAttributeChecked(t *testing.T) {
	if _, err := NewAttributeChecked("x", "", struct{}{}); err == nil {
		t.Error("accepted an unsupported value")
	}
	a := NewAttribute("n", "t", 1, "s", []string{"a"})
	if d := cmp.Diff([]string{"1", "s", `["a"]`}, a.StringValues()); d != "" {
		t.Errorf("StringValues: %s", d)
	}
	var nilAttr *Attribute
	if nilAttr.Value() != nil || nilAttr.Clone() != nil {
		t.Error("nil attribute")
	}
}

func TestSTSUUPrincipalAndGroups(t *testing.T) {
	u := NewSTSUU()
	if u.PrincipalName() != "" {
		t.Error("empty user has a principal")
	}
	u.Principal.Add(NewAttribute("uid", am, "7"))
	u.Principal.Add(NewAttribute("name", "urn:ibm:names:ITFIM:ltpa", "old"))
	u.SetPrincipalName("alice")
	if d := cmp.Diff(Attributes{NewAttribute("name", "urn:ibm:names:ITFIM:ltpa", "alice"), NewAttribute("uid", am, "7")}, u.Principal); d != "" {
		t.Errorf("SetPrincipalName keeps the type and puts name first: %s", d)
	}
	u.AddGroup(&Group{Name: "g", Type: am})
	u.AddGroup(&Group{Name: "g", Type: am, Attributes: Attributes{NewAttribute("cn", "", "G")}})
	u.AddGroup(&Group{Name: "g", Type: "other"})
	if len(u.Groups) != 2 || u.Group("g").Attributes.Get("cn") == nil {
		t.Errorf("AddGroup: %s", u.JSON())
	}
	if u.Group("missing") != nil {
		t.Error("Group found a missing group")
	}
	u.Clear()
	if !u.Equal(NewSTSUU()) {
		t.Error("Clear")
	}
}

func TestSTSUUCloneAndEqual(t *testing.T) {
	u, err := ParseJSON(readTestdata(t, "json/typed.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := u.Clone()
	if !c.Equal(u) || !u.Equal(c) {
		t.Fatal("clone differs")
	}
	c.Attributes.Get("roles").Values[0].([]any)[0] = "changed"
	c.Groups[0].Attributes[0].Values[0] = "changed"
	c.Statements[0].ID = "changed"
	if u.Attributes.Get("roles").Values[0].([]any)[0] != "reader" || u.Groups[0].Attributes[0].Values[0] == "changed" || u.Statements[0].ID != "s1" {
		t.Error("clone shares memory with the original")
	}
	if c.Equal(u) {
		t.Error("Equal missed the changes")
	}
	for _, change := range []func(v *STSUU){
		func(v *STSUU) { v.Principal[0].Nickname = "n" },
		func(v *STSUU) { v.Groups[0].Type = "x" },
		func(v *STSUU) { v.Context = nil },
		func(v *STSUU) { v.RST[0].Values = v.RST[0].Values[:1] },
		func(v *STSUU) { v.Statements = nil },
	} {
		v := u.Clone()
		change(v)
		if v.Equal(u) {
			t.Errorf("Equal missed a change: %s", v.JSON())
		}
	}
	var nilUser *STSUU
	if nilUser.Clone() != nil {
		t.Error("nil clone")
	}
}

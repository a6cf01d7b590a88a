package sts

import (
	"fmt"
	"strconv"
	"unicode"
)

// MaxDiffLines bounds the number of lines Diff returns; further changes are
// counted in a last line.
const MaxDiffLines = 40

// maxDiffName bounds how much of a name Diff shows.
const maxDiffName = 64

// Diff summarizes what changed between two states of a universal user, for
// the per-step chain trace. Each line names one change:
//
//	principal alice -> bob
//	+attributes email (urn:ibm:jwt:claim)
//	~context claim_json (urn:com:ibm:JWT)
//	-groups admin
//	+statements #0 (id s1)
//
// "+" is an addition, "-" a removal, "~" a change of values (or, for a group
// or statement, of its attributes). Attribute values are never shown, since
// they may be large or secret; only the principal name is. The output is
// bounded by MaxDiffLines and names are shortened. A nil user counts as
// empty.
func Diff(before, after *STSUU) []string {
	if before == nil {
		before = &STSUU{}
	}
	if after == nil {
		after = &STSUU{}
	}
	var out []string
	if b, a := before.PrincipalName(), after.PrincipalName(); b != a {
		out = append(out, "principal "+diffLabel(b, "(none)")+" -> "+diffLabel(a, "(none)"))
	}
	notName := func(a *Attribute) bool { return a.Name != PrincipalNameAttribute }
	out = diffAttributes(out, "principal", filterAttrs(before.Principal, notName), filterAttrs(after.Principal, notName))
	out = diffGroups(out, before.Groups, after.Groups)
	out = diffAttributes(out, "attributes", before.Attributes, after.Attributes)
	out = diffAttributes(out, "rst", before.RST, after.RST)
	out = diffAttributes(out, "context", before.Context, after.Context)
	out = diffStatements(out, before.Statements, after.Statements)
	if len(out) > MaxDiffLines {
		more := len(out) - (MaxDiffLines - 1)
		out = append(out[:MaxDiffLines-1], fmt.Sprintf("... and %d more changes", more))
	}
	return out
}

func filterAttrs(l Attributes, keep func(*Attribute) bool) Attributes {
	var out Attributes
	for _, a := range l {
		if keep(a) {
			out = append(out, a)
		}
	}
	return out
}

func attrKey(a *Attribute) string { return a.Name + "\x00" + a.Type }

func attrLabel(a *Attribute) string {
	s := diffLabel(a.Name, `""`)
	if a.Type != "" {
		s += " (" + diffLabel(a.Type, "") + ")"
	}
	return s
}

// diffAttributes pairs attributes by (name, type), in order, so that
// repeated identities are matched one to one.
func diffAttributes(out []string, section string, before, after Attributes) []string {
	used := make([]bool, len(before))
	for _, a := range after {
		match := -1
		for i, b := range before {
			if !used[i] && attrKey(a) == attrKey(b) {
				match = i
				break
			}
		}
		if match < 0 {
			out = append(out, "+"+section+" "+attrLabel(a))
			continue
		}
		used[match] = true
		if !a.Equal(before[match]) {
			out = append(out, "~"+section+" "+attrLabel(a))
		}
	}
	for i, b := range before {
		if !used[i] {
			out = append(out, "-"+section+" "+attrLabel(b))
		}
	}
	return out
}

func diffGroups(out []string, before, after []*Group) []string {
	used := make([]bool, len(before))
	for _, a := range after {
		match := -1
		for i, b := range before {
			if !used[i] && a.Name == b.Name && a.Type == b.Type {
				match = i
				break
			}
		}
		if match < 0 {
			out = append(out, "+groups "+diffLabel(a.Name, `""`))
			continue
		}
		used[match] = true
		if !a.Attributes.Equal(before[match].Attributes) {
			out = append(out, "~groups "+diffLabel(a.Name, `""`))
		}
	}
	for i, b := range before {
		if !used[i] {
			out = append(out, "-groups "+diffLabel(b.Name, `""`))
		}
	}
	return out
}

func diffStatements(out []string, before, after []*AttributeStatement) []string {
	label := func(i int, s *AttributeStatement) string {
		l := fmt.Sprintf("statements #%d", i)
		if s.ID != "" {
			l += " (id " + diffLabel(s.ID, "") + ")"
		}
		return l
	}
	for i := 0; i < len(before) || i < len(after); i++ {
		switch {
		case i >= len(before):
			out = append(out, "+"+label(i, after[i]))
		case i >= len(after):
			out = append(out, "-"+label(i, before[i]))
		case before[i].ID != after[i].ID || !before[i].Attributes.Equal(after[i].Attributes):
			out = append(out, "~"+label(i, after[i]))
		}
	}
	return out
}

// diffLabel shows s as is when it is short and plain, quoted and shortened
// otherwise, and empty as the given placeholder.
func diffLabel(s, empty string) string {
	if s == "" {
		return empty
	}
	plain := len(s) <= maxDiffName
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '"' {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return strconv.Quote(truncate(s, maxDiffName))
}

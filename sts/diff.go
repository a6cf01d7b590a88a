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

func attrLabel(a *Attribute) string {
	s := diffLabel(a.Name, `""`)
	if a.Type != "" {
		s += " (" + diffLabel(a.Type, "") + ")"
	}
	return s
}

// pairing matches the items of after with those of before by identity, in
// order, so that repeated identities pair one to one. It runs in linear
// time: a trace must not cost quadratic time on a large user.
func pairing(before, after []attrID) (match []int, used []bool) {
	queue := make(map[attrID][]int, len(before))
	for i, k := range before {
		queue[k] = append(queue[k], i)
	}
	match = make([]int, len(after))
	used = make([]bool, len(before))
	for j, k := range after {
		match[j] = -1
		if q := queue[k]; len(q) > 0 {
			match[j] = q[0]
			used[q[0]] = true
			queue[k] = q[1:]
		}
	}
	return match, used
}

func attrIDs(l Attributes) []attrID {
	out := make([]attrID, len(l))
	for i, a := range l {
		out[i] = attrID{a.Name, a.Type}
	}
	return out
}

func diffAttributes(out []string, section string, before, after Attributes) []string {
	match, used := pairing(attrIDs(before), attrIDs(after))
	for j, a := range after {
		switch {
		case match[j] < 0:
			out = append(out, "+"+section+" "+attrLabel(a))
		case !a.Equal(before[match[j]]):
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

func groupIDs(l []*Group) []attrID {
	out := make([]attrID, len(l))
	for i, g := range l {
		out[i] = attrID{g.Name, g.Type}
	}
	return out
}

func diffGroups(out []string, before, after []*Group) []string {
	match, used := pairing(groupIDs(before), groupIDs(after))
	for j, a := range after {
		switch {
		case match[j] < 0:
			out = append(out, "+groups "+diffLabel(a.Name, `""`))
		case !a.Attributes.Equal(before[match[j]].Attributes):
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

package mapmod

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/chainsts/chainsts/sts"
)

// Sources of a reserved value: the same name means different things as an
// issue-claim attribute, a header, a signing parameter or a claim_json
// member, so each is compared only with its own kind.
const (
	srcAttr uint8 = iota
	srcHeader
	srcSigning
	srcJSON
)

// reservedEntry is one reserved value as an issue step would see it, in a
// comparable string form: every attribute's values as addEntry encodes
// them, or claim_json's values each followed by NUL (jsonReserved).
type reservedEntry struct {
	src  uint8
	name string
	val  string
}

// claimJSONValue is one value of the claim_json context attribute. Text is
// kept as it is, unparsed: the guard only decodes it if the rule replaced
// it. An already decoded object is reduced to its reserved entries at once,
// because the rule may change the very map it shares with the snapshot.
type claimJSONValue struct {
	raw     string
	isRaw   bool
	entries []reservedEntry
}

// reservedSnapshot captures the reserved claims, headers and signing
// parameters an issue step would use (SECURITY §3.4). It is taken before
// and after the rule and holds only those values and claim_json's text,
// never a copy of the universal user.
type reservedSnapshot struct {
	entries   []reservedEntry
	claimJSON []claimJSONValue
}

// claimReserved reports whether name is a reserved claim an attribute or a
// claim_json member can carry (the headers are only reserved as headers).
func claimReserved(name string) bool {
	return reservedClaimSet[name] && !reservedHeaders[name]
}

// reservedClaimSet is ReservedClaims as a set, built once.
var reservedClaimSet = func() map[string]bool {
	m := make(map[string]bool, len(ReservedClaims))
	for _, c := range ReservedClaims {
		m[c] = true
	}
	return m
}()

// take records u's reserved values. Every attribute of one source and name
// counts, in order: a rule can make two attributes with the same name and
// type (Attribute.setName after adding one), and the issue step reads
// signing.* from the first but claims and headers from the last one with a
// value, so keeping only one of them would let the other change unseen.
func (s *reservedSnapshot) take(u *sts.STSUU) {
	for _, a := range u.Attributes {
		if a.Type == sts.TypeJWTIssueClaim && claimReserved(a.Name) {
			s.entries = addEntry(s.entries, srcAttr, a.Name, a.Values)
		}
	}
	for _, a := range u.Context {
		switch {
		case a.Type == sts.TypeJWTHeaderClaim && reservedHeaders[a.Name]:
			s.entries = addEntry(s.entries, srcHeader, a.Name, a.Values)
		case a.Type == sts.TypeJWT && strings.HasPrefix(a.Name, "signing.") && reservedClaimSet[a.Name]:
			s.entries = addEntry(s.entries, srcSigning, a.Name, a.Values)
		case a.Type == sts.TypeJWT && a.Name == "claim_json":
			for _, v := range a.Values {
				if x, ok := v.(string); ok {
					s.claimJSON = append(s.claimJSON, claimJSONValue{raw: x, isRaw: true})
					continue
				}
				var entries []reservedEntry
				if obj, ok := v.(map[string]any); ok {
					for k, cv := range obj {
						if claimReserved(k) {
							entries = append(entries, reservedEntry{srcJSON, k, sts.StringValue(cv)})
						}
					}
				}
				s.claimJSON = append(s.claimJSON, claimJSONValue{entries: entries})
			}
		}
	}
}

// addEntry appends one attribute's values to the entry for src and name.
// Each value is length-prefixed and the list is prefixed with its count, so
// no two different lists of attributes or values ([] and [""], "a\x00b" and
// "a","b") give the same text.
func addEntry(es []reservedEntry, src uint8, name string, vs []any) []reservedEntry {
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(vs)))
	b.WriteByte('|')
	for _, v := range vs {
		sv := sts.StringValue(v)
		b.WriteString(strconv.Itoa(len(sv)))
		b.WriteByte(':')
		b.WriteString(sv)
	}
	for i := range es {
		if es[i].src == src && es[i].name == name {
			es[i].val += b.String()
			return es
		}
	}
	return append(es, reservedEntry{src, name, b.String()})
}

// setEntry sets the entry for src and name, replacing an earlier one.
func setEntry(es []reservedEntry, src uint8, name, val string) []reservedEntry {
	for i := range es {
		if es[i].src == src && es[i].name == name {
			es[i].val = val
			return es
		}
	}
	return append(es, reservedEntry{src, name, val})
}

// lookupEntry returns the value of the entry for src and name.
func lookupEntry(es []reservedEntry, src uint8, name string) (string, bool) {
	for _, e := range es {
		if e.src == src && e.name == name {
			return e.val, true
		}
	}
	return "", false
}

// sameClaimJSON reports whether two claim_json snapshots are the same text.
// Decoded objects never count as the same: their reserved entries are
// compared instead.
func sameClaimJSON(a, b []claimJSONValue) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].isRaw || !b[i].isRaw || a[i].raw != b[i].raw {
			return false
		}
	}
	return true
}

// jsonReserved returns the reserved members of claim_json, one entry per
// claim with the string form of each value it has in the values, each
// followed by NUL. A value that is not a JSON object is ignored, as the
// issue step refuses it anyway.
func jsonReserved(vs []claimJSONValue) []reservedEntry {
	var out []reservedEntry
	add := func(name, val string) {
		for i := range out {
			if out[i].name == name {
				out[i].val += val + "\x00"
				return
			}
		}
		out = append(out, reservedEntry{srcJSON, name, val + "\x00"})
	}
	for _, v := range vs {
		if !v.isRaw {
			for _, e := range v.entries {
				add(e.name, e.val)
			}
			continue
		}
		for _, e := range reservedMembers(v.raw) {
			add(e.name, e.val)
		}
	}
	return out
}

// reservedMembers decodes only the reserved top-level members of the JSON
// object text s, with the semantics of sts.ParseJSONValue: invalid text or
// a non-object yields nothing, escaped member names are unescaped, and of
// duplicate members the last one wins.
func reservedMembers(s string) []reservedEntry {
	if !json.Valid([]byte(s)) {
		return nil
	}
	i := skipSpace(s, 0)
	if s[i] != '{' {
		return nil
	}
	var out []reservedEntry
	for i = skipSpace(s, i+1); s[i] != '}'; {
		end := skipString(s, i)
		name := s[i+1 : end-1]
		if strings.IndexByte(name, '\\') >= 0 {
			var unq string
			if err := json.Unmarshal([]byte(s[i:end]), &unq); err != nil {
				return nil
			}
			name = unq
		}
		i = skipSpace(s, skipSpace(s, end)+1) // past the colon
		vend := skipValue(s, i)
		if claimReserved(name) {
			v, err := sts.ParseJSONValue([]byte(s[i:vend]))
			if err != nil {
				return nil
			}
			out = setEntry(out, srcJSON, name, sts.StringValue(v))
		}
		i = skipSpace(s, vend)
		if s[i] == ',' {
			i = skipSpace(s, i+1)
		}
	}
	return out
}

// The scanners below assume text json.Valid accepted.

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at s[i].
func skipString(s string, i int) int {
	for i++; ; i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

// skipValue returns the index just past the value starting at s[i].
func skipValue(s string, i int) int {
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		depth := 0
		for {
			switch s[i] {
			case '"':
				i = skipString(s, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
	}
	for i < len(s) && !strings.ContainsRune(",}] \t\r\n", rune(s[i])) {
		i++
	}
	return i
}

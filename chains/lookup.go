package chains

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"

	"github.com/chainsts/chainsts/sts"
)

// The lookup criteria, in the order they are listed and documented.
const (
	critRequestType = iota
	critIssuer
	critAppliesTo
	critTokenType
	critClientID
	critSubjectTokenType
	critRequestedTokenType
	numCriteria
)

// criterionNames are the lookup keys in configuration, indexed by criterion.
var criterionNames = [numCriteria]string{
	"request_type", "issuer", "applies_to", "token_type",
	"client_id", "subject_token_type", "requested_token_type",
}

// regexpPrefix introduces a regular expression criterion (ISAM syntax:
// REGEXP:(pattern)).
const regexpPrefix = "REGEXP:"

func keyField(k *sts.LookupKey, i int) string {
	switch i {
	case critRequestType:
		return k.RequestType
	case critIssuer:
		return k.Issuer
	case critAppliesTo:
		return k.AppliesTo
	case critTokenType:
		return k.TokenType
	case critClientID:
		return k.ClientID
	case critSubjectTokenType:
		return k.SubjectTokenType
	case critRequestedTokenType:
		return k.RequestedTokenType
	}
	return ""
}

// criterion is one compiled lookup criterion.
type criterion struct {
	set   bool
	raw   string // as configured
	exact string // for exact criteria (request types normalized)
	re    *regexp.Regexp
	src   string // for regexp criteria, the pattern after REGEXP:
	// prefix is a literal every matching value starts with, checked
	// before running the regexp: most criteria are URL prefixes, and this
	// keeps lookup among many regex chains cheap.
	prefix string
	all    bool // the regexp matches every value
	// lit and litStar describe a pattern of the form `literal.*`, for
	// the shadow check: `http://a/.*` covers `http://a/b/.*`.
	lit     string
	litStar bool
}

// compileCriterion parses an exact value or REGEXP:(pattern). A pattern must
// match the whole value: it is anchored at both ends.
func compileCriterion(i int, raw string) (criterion, error) {
	c := criterion{set: true, raw: raw}
	if raw == "" {
		return c, fmt.Errorf("empty %s; leave the key out to match any value", criterionNames[i])
	}
	pat, isRE := strings.CutPrefix(raw, regexpPrefix)
	if !isRE {
		c.exact = raw
		if i == critRequestType {
			c.exact = sts.NormalizeRequestType(raw)
		}
		return c, nil
	}
	if len(pat) < 2 || pat[0] != '(' || pat[len(pat)-1] != ')' {
		return c, fmt.Errorf("a regular expression criterion is written REGEXP:(pattern), got %q", raw)
	}
	re, err := regexp.Compile("^(?:" + pat + ")$")
	if err != nil {
		// Report the error against the pattern as written, without the
		// anchors added here.
		if _, perr := regexp.Compile(pat); perr != nil {
			err = perr
		}
		return c, fmt.Errorf("invalid regular expression in %s: %v", criterionNames[i], err)
	}
	c.re, c.src, c.all = re, pat, matchesEverything(pat)
	c.lit, c.litStar = literalStar(pat)
	if un, err := regexp.Compile(pat); err == nil {
		// An unanchored pattern's literal prefix starts every match,
		// including the one full match that counts here.
		c.prefix, _ = un.LiteralPrefix()
	}
	return c, nil
}

// matchesEverything reports whether a pattern is `.*` (in any grouping),
// which the shadow check treats as a wildcard. Lookup values are addresses,
// URIs and identifiers without line breaks, so `.` without the s flag is
// counted as matching every value.
func matchesEverything(pat string) bool {
	re, err := syntax.Parse(pat, syntax.Perl)
	if err != nil {
		return false
	}
	return isDotStar(re.Simplify())
}

// literalStar recognizes `literal.*` (in any grouping), case-sensitive.
func literalStar(pat string) (string, bool) {
	re, err := syntax.Parse(pat, syntax.Perl)
	if err != nil {
		return "", false
	}
	re = ungroup(re.Simplify())
	if re.Op != syntax.OpConcat || len(re.Sub) != 2 {
		return "", false
	}
	lit, star := ungroup(re.Sub[0]), re.Sub[1]
	if lit.Op != syntax.OpLiteral || lit.Flags&syntax.FoldCase != 0 || !isDotStar(star) {
		return "", false
	}
	return string(lit.Rune), true
}

func ungroup(re *syntax.Regexp) *syntax.Regexp {
	for (re.Op == syntax.OpCapture || re.Op == syntax.OpConcat) && len(re.Sub) == 1 {
		re = re.Sub[0]
	}
	return re
}

func isDotStar(re *syntax.Regexp) bool {
	re = ungroup(re)
	return re.Op == syntax.OpStar && len(re.Sub) == 1 &&
		(re.Sub[0].Op == syntax.OpAnyChar || re.Sub[0].Op == syntax.OpAnyCharNotNL)
}

// matcher is a chain's compiled lookup.
type matcher struct {
	crit [numCriteria]criterion
	// exactIdx and reIdx list the populated criteria, exact first: exact
	// comparisons are cheap and usually decide the lookup before any
	// regular expression runs.
	exactIdx, reIdx []int
	rank            rank
}

// rank orders chains: more populated criteria first, then more exact
// criteria, then configuration order.
type rank struct {
	populated, exact, order int
}

// before reports whether r takes precedence over s.
func (r rank) before(s rank) bool {
	if r.populated != s.populated {
		return r.populated > s.populated
	}
	if r.exact != s.exact {
		return r.exact > s.exact
	}
	return r.order < s.order
}

func newMatcher(crit [numCriteria]criterion, order int) *matcher {
	m := &matcher{crit: crit, rank: rank{order: order}}
	for i, c := range crit {
		if !c.set {
			continue
		}
		m.rank.populated++
		if c.re == nil {
			m.rank.exact++
			m.exactIdx = append(m.exactIdx, i)
		} else {
			m.reIdx = append(m.reIdx, i)
		}
	}
	return m
}

// match reports whether the key matches, and whether it matched only
// through the exchange-to-issue request type synonym.
func (m *matcher) match(k *sts.LookupKey) (ok, synonym bool) {
	for _, i := range m.exactIdx {
		v := keyField(k, i)
		if v == m.crit[i].exact {
			continue
		}
		if i == critRequestType && m.crit[i].exact == sts.RequestIssue && v == sts.RequestExchange {
			synonym = true
			continue
		}
		return false, false
	}
	for _, i := range m.reIdx {
		v := keyField(k, i)
		if !strings.HasPrefix(v, m.crit[i].prefix) || !m.crit[i].re.MatchString(v) {
			return false, false
		}
	}
	return true, synonym
}

// index finds the chain for a lookup key.
type index struct {
	// sorted holds the chains in precedence order.
	sorted []*chain
	// byType holds, for each request type some chain names exactly, the
	// chains that can match a request of that type, in precedence order;
	// other is the list for any other request type (chains whose
	// request_type is a regexp or absent).
	byType map[string][]*chain
	other  []*chain
}

func newIndex(chains []*chain) *index {
	s := append([]*chain(nil), chains...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].match.rank.before(s[j].match.rank) })
	ix := &index{sorted: s, byType: map[string][]*chain{}}
	for _, c := range s {
		if rt := c.match.crit[critRequestType]; !rt.set || rt.re != nil {
			ix.other = append(ix.other, c)
		} else if _, ok := ix.byType[rt.exact]; !ok {
			ix.byType[rt.exact] = nil
		}
	}
	if _, ok := ix.byType[sts.RequestIssue]; ok {
		ix.byType[sts.RequestExchange] = nil
	}
	for typ := range ix.byType {
		var list []*chain
		for _, c := range s {
			rt := c.match.crit[critRequestType]
			if !rt.set || rt.re != nil || rt.exact == typ || (typ == sts.RequestExchange && rt.exact == sts.RequestIssue) {
				list = append(list, c)
			}
		}
		ix.byType[typ] = list
	}
	return ix
}

// lookup returns the chain with the highest precedence among those that
// match, or nil. Chains are scanned in precedence order, so the first plain
// match wins; a match through the exchange→issue synonym counts one exact
// criterion less and the scan goes on while a later chain could still beat
// it.
func (ix *index) lookup(k *sts.LookupKey) *chain {
	list, ok := ix.byType[k.RequestType]
	if !ok {
		list = ix.other
	}
	var best *chain
	var bestRank rank
	for _, c := range list {
		if best != nil && !c.match.rank.before(bestRank) {
			break
		}
		ok, synonym := c.match.match(k)
		if !ok {
			continue
		}
		r := c.match.rank
		if synonym {
			r.exact--
		}
		if best == nil || r.before(bestRank) {
			best, bestRank = c, r
		}
		if !synonym {
			break
		}
	}
	return best
}

// covers reports whether criterion a matches every value criterion b
// matches (for the shadow check; conservative: false when unsure).
func covers(i int, a, b criterion) bool {
	switch {
	case !a.set:
		return true
	case a.re == nil:
		return b.set && b.re == nil && a.exact == b.exact
	case a.all:
		return true
	case !b.set:
		return false
	case b.re == nil:
		if !a.re.MatchString(b.exact) {
			return false
		}
		// A chain declared `issue` also serves exchange requests; to
		// hide it, a must match those too.
		if i == critRequestType && b.exact == sts.RequestIssue {
			return a.re.MatchString(sts.RequestExchange)
		}
		return true
	default:
		return a.src == b.src || (a.litStar && b.litStar && strings.HasPrefix(b.lit, a.lit))
	}
}

// shadows reports whether chain a hides chain b: a takes precedence and
// matches every request b matches.
func shadows(a, b *matcher) bool {
	if !a.rank.before(b.rank) {
		return false
	}
	for i := range numCriteria {
		if !covers(i, a.crit[i], b.crit[i]) {
			return false
		}
	}
	return true
}

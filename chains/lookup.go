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
	all   bool   // the regexp matches every value
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
	re = re.Simplify()
	for {
		switch {
		case re.Op == syntax.OpCapture && len(re.Sub) == 1:
			re = re.Sub[0]
			continue
		case re.Op == syntax.OpConcat && len(re.Sub) == 1:
			re = re.Sub[0]
			continue
		}
		break
	}
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
		if !m.crit[i].re.MatchString(keyField(k, i)) {
			return false, false
		}
	}
	return true, synonym
}

// index finds the chain for a lookup key.
type index struct {
	// sorted holds the chains in precedence order.
	sorted []*chain
}

func newIndex(chains []*chain) *index {
	s := append([]*chain(nil), chains...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].match.rank.before(s[j].match.rank) })
	return &index{sorted: s}
}

// lookup returns the chain with the highest precedence among those that
// match, or nil. Chains are scanned in precedence order, so the first plain
// match wins; a match through the exchange→issue synonym counts one exact
// criterion less and the scan goes on while a later chain could still beat
// it.
func (ix *index) lookup(k *sts.LookupKey) *chain {
	var best *chain
	var bestRank rank
	for _, c := range ix.sorted {
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
		return a.src == b.src
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

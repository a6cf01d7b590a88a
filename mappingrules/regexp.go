package mappingrules

import (
	"time"

	"github.com/dlclark/regexp2/v2"
)

// regexpMatchTimeout bounds one regular-expression match on goja's
// backtracking engine, which it uses for patterns with back-references or
// look-around: Runtime.Interrupt cannot stop a native match, so a
// catastrophic pattern would hold the runtime past its deadline. A match
// that times out fails (finds nothing), and the rule's deadline then stops
// the rule. Patterns without those features run on Go's linear-time engine.
//
// The setting is process-wide: goja reads regexp2's default when it compiles
// a pattern, and only goja uses regexp2 in chainsts.
const regexpMatchTimeout = 100 * time.Millisecond

func init() {
	regexp2.DefaultMatchTimeout = regexpMatchTimeout
}

package mappingrules

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestDocExamplesCompile compiles every ```js block of docs/mapping-rules.md
// as a rule, so the reference's examples cannot drift into syntax errors or
// constructs the rule compiler refuses.
func TestDocExamplesCompile(t *testing.T) {
	b, err := os.ReadFile("../docs/mapping-rules.md")
	if err != nil {
		t.Fatal(err)
	}
	inline := map[string]string{}
	var cur *strings.Builder
	line := 0
	for i, l := range strings.Split(string(b), "\n") {
		switch {
		case cur == nil && l == "```js":
			cur, line = new(strings.Builder), i+2
		case cur != nil && l == "```":
			inline[fmt.Sprintf("line%d", line)] = cur.String()
			cur = nil
		case cur != nil:
			cur.WriteString(l + "\n")
		}
	}
	if len(inline) < 10 {
		t.Fatalf("only %d js examples found in docs/mapping-rules.md", len(inline))
	}
	for name, src := range inline {
		if _, err := NewRuleSet(Config{Inline: map[string]string{name: src}, Cache: "memory"}, "", nil, nil); err != nil {
			t.Errorf("docs/mapping-rules.md example at %s: %v", name, err)
		}
	}
}

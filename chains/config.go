package chains

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/chainsts/chainsts/sts"
)

// Core top-level sections; every other top-level key must be a registered
// app.
var coreSections = []string{"data_dir", "modules", "templates", "chains"}

// config is the parsed configuration: core sections with the positions of
// their values, and the app sections still as YAML for the apps to decode.
type config struct {
	dir     string // absolute directory of the configuration
	files   []string
	dataDir string
	dataKey located // where data_dir was set

	modules     map[string]*moduleDef
	moduleOrder []string
	templates   map[string]*templateDef
	chains      []*chainDef
	apps        map[string]located
	appKeys     map[string]located // where each app section starts
	appOrder    []string
}

// moduleDef is a named module instance: a type and default configuration.
type moduleDef struct {
	name     string
	typ      string
	loc      located // the definition
	typeLoc  located
	config   located
	info     sts.ModuleInfo
	resolved bool // the type exists
	valid    bool // the default configuration decodes
}

// stepDef is one step of a template or of an inline chain.
type stepDef struct {
	id        string
	module    string
	mode      sts.Mode
	loc       located
	idLoc     located
	moduleLoc located
	modeLoc   located
	config    located // inline step config; for template chains, set from the chain's config
}

type templateDef struct {
	name  string
	loc   located
	steps []*stepDef
	valid bool
}

type chainDef struct {
	name        string
	description string
	index       int
	loc         located
	nameLoc     located
	template    string
	templateLoc located
	steps       []*stepDef // inline steps
	configLoc   located    // per-step config of a template chain
	lookup      map[string]located
}

// ConfigFiles returns the files that make up the configuration at path:
// path itself when it is a file, otherwise the directory's *.yaml and *.yml
// files in name order, hidden files (editor backups) left out. The loader,
// the early logging read and the serve command's change watch all use it,
// so they agree on which files count.
func ConfigFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read configuration: %w", err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read configuration directory: %w", err)
	}
	var files []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			continue
		}
		files = append(files, filepath.Join(path, n))
	}
	if len(files) == 0 {
		return nil, errors.New("no *.yaml or *.yml files in the configuration directory")
	}
	return files, nil
}

// readConfig reads the configuration at path: a file, or a directory whose
// *.yaml and *.yml files are read in name order.
func readConfig(path string, ps *problemSet) *config {
	cfg := &config{
		modules:   map[string]*moduleDef{},
		templates: map[string]*templateDef{},
		apps:      map[string]located{},
		appKeys:   map[string]located{},
	}
	files, err := ConfigFiles(path)
	if err != nil {
		ps.addAt(SeverityError, path, 0, 0, "", "%v", err)
		return nil
	}
	cfg.files = files
	// A single-file configuration comes back as path itself; a directory's
	// files are joined below it.
	if len(files) == 1 && files[0] == path {
		cfg.dir = filepath.Dir(path)
	} else {
		cfg.dir = path
	}
	if abs, err := filepath.Abs(cfg.dir); err == nil {
		cfg.dir = abs
	}
	ps.fileOrder = map[string]int{}
	for i, f := range cfg.files {
		ps.fileOrder[f] = i
	}
	for _, f := range cfg.files {
		data, err := os.ReadFile(f)
		if err != nil {
			ps.addAt(SeverityError, f, 0, 0, "", "cannot read configuration: %v", err)
			continue
		}
		cfg.addFile(parseYAML(f, data, ps), ps)
	}
	return cfg
}

// parseConfigBytes parses one in-memory file, for the fuzz target and tests.
func parseConfigBytes(name string, data []byte, ps *problemSet) *config {
	cfg := &config{
		dir:       ".",
		files:     []string{name},
		modules:   map[string]*moduleDef{},
		templates: map[string]*templateDef{},
		apps:      map[string]located{},
		appKeys:   map[string]located{},
	}
	ps.fileOrder = map[string]int{name: 0}
	cfg.addFile(parseYAML(name, data, ps), ps)
	return cfg
}

func (cfg *config) addFile(pf *parsedFile, ps *problemSet) {
	if pf == nil || isNull(pf.body) {
		return
	}
	file := pf.name
	entries, ok := mappingEntries(pf.body)
	if !ok {
		ps.add(SeverityError, file, pf.body, "$", "the top level of a configuration file must be a mapping, not %s", kindName(pf.body))
		return
	}
	for _, e := range entries {
		loc := located{file: file, node: e.value, path: childPath("$", e.key)}
		switch e.key {
		case "data_dir":
			s, ok := scalarString(e.value)
			if !ok || s == "" {
				ps.add(SeverityError, file, e.value, loc.path, "data_dir must be a non-empty string, not %s", kindName(e.value))
				continue
			}
			if cfg.dataKey.node != nil {
				ps.add(SeverityError, file, e.keyN, loc.path, "data_dir is already set at %s", posString(cfg.dataKey))
				continue
			}
			cfg.dataDir, cfg.dataKey = s, located{file: file, node: e.keyN, path: loc.path}
		case "modules":
			cfg.addModules(loc, ps)
		case "templates":
			cfg.addTemplates(loc, ps)
		case "chains":
			cfg.addChains(loc, ps)
		default:
			if e.key == "" {
				ps.add(SeverityError, file, e.keyN, "$", "top-level keys must be strings")
				continue
			}
			if _, ok := sts.GetApp(e.key); !ok {
				ps.add(SeverityError, file, e.keyN, loc.path, "unknown top-level key %q%s (core sections: %s; apps: %s)",
					e.key, suggest(e.key, topLevelKeys()), strings.Join(coreSections, ", "), strings.Join(appNames(), ", "))
				continue
			}
			if prev, dup := cfg.appKeys[e.key]; dup {
				ps.add(SeverityError, file, e.keyN, loc.path, "section %s is already defined at %s", e.key, posString(prev))
				continue
			}
			cfg.apps[e.key] = loc
			cfg.appKeys[e.key] = located{file: file, node: e.keyN, path: loc.path}
			cfg.appOrder = append(cfg.appOrder, e.key)
		}
	}
}

func appNames() []string {
	var out []string
	for _, a := range sts.Apps() {
		out = append(out, a.Name)
	}
	if len(out) == 0 {
		return []string{"none registered"}
	}
	return out
}

func topLevelKeys() []string {
	keys := append([]string{}, coreSections...)
	for _, a := range sts.Apps() {
		keys = append(keys, a.Name)
	}
	return keys
}

// posString formats a located node's position for messages that point at a
// second place ("already defined at file:line:col").
func posString(l located) string {
	line, col := nodePos(l.node)
	if line == 0 {
		return l.file
	}
	return fmt.Sprintf("%s:%d:%d", l.file, line, col)
}

// fields checks a mapping against its allowed keys, reports unknown keys and
// returns the known ones.
func fields(loc located, allowed []string, what string, ps *problemSet) (map[string]entry, bool) {
	entries, ok := mappingEntries(loc.node)
	if !ok {
		ps.add(SeverityError, loc.file, loc.node, loc.path, "%s must be a mapping, not %s", what, kindName(loc.node))
		return nil, false
	}
	out := make(map[string]entry, len(entries))
	for _, e := range entries {
		known := false
		for _, a := range allowed {
			if e.key == a {
				known = true
				break
			}
		}
		if !known {
			ps.add(SeverityError, loc.file, e.keyN, childPath(loc.path, e.key), "unknown key %q in %s%s (allowed: %s)",
				e.key, what, suggest(e.key, allowed), strings.Join(allowed, ", "))
			continue
		}
		out[e.key] = e
	}
	return out, true
}

// stringField reads an optional string field; ok is false when it is present
// but not a string (reported).
func stringField(loc located, fs map[string]entry, key string, required bool, what string, ps *problemSet) (string, located, bool) {
	e, present := fs[key]
	if !present || isNull(e.value) {
		if required {
			ps.add(SeverityError, loc.file, loc.node, loc.path, "%s needs %q", what, key)
			return "", located{}, false
		}
		return "", located{}, true
	}
	l := located{file: loc.file, node: e.value, path: childPath(loc.path, key)}
	s, ok := scalarString(e.value)
	if !ok {
		ps.add(SeverityError, loc.file, e.value, l.path, "%s of %s must be a string, not %s", key, what, kindName(e.value))
		return "", l, false
	}
	if s == "" && required {
		ps.add(SeverityError, loc.file, e.value, l.path, "%s of %s must not be empty", key, what)
		return "", l, false
	}
	return s, l, true
}

func (cfg *config) addModules(loc located, ps *problemSet) {
	if isNull(loc.node) {
		return
	}
	entries, ok := mappingEntries(loc.node)
	if !ok {
		ps.add(SeverityError, loc.file, loc.node, loc.path, "modules must be a mapping of instance names to {type, config}, not %s", kindName(loc.node))
		return
	}
	for _, e := range entries {
		l := located{file: loc.file, node: e.value, path: childPath(loc.path, e.key)}
		if e.key == "" {
			ps.add(SeverityError, loc.file, e.keyN, loc.path, "module instance names must be non-empty strings")
			continue
		}
		if prev, dup := cfg.modules[e.key]; dup {
			ps.add(SeverityError, loc.file, e.keyN, l.path, "module instance %q is already defined at %s", e.key, posString(prev.loc))
			continue
		}
		what := fmt.Sprintf("module instance %q", e.key)
		fs, ok := fields(l, []string{"type", "description", "config"}, what, ps)
		if !ok {
			continue
		}
		d := &moduleDef{name: e.key, loc: located{file: loc.file, node: e.keyN, path: l.path}}
		var good bool
		d.typ, d.typeLoc, good = stringField(l, fs, "type", true, what, ps)
		if _, _, ok := stringField(l, fs, "description", false, what, ps); !ok {
			good = false
		}
		if c, ok := fs["config"]; ok {
			d.config = located{file: loc.file, node: c.value, path: childPath(l.path, "config")}
		}
		cfg.modules[e.key] = d
		cfg.moduleOrder = append(cfg.moduleOrder, e.key)
		if !good {
			continue
		}
		if info, ok := sts.GetModule(d.typ); ok {
			d.info, d.resolved = info, true
		} else {
			ps.add(SeverityError, loc.file, d.typeLoc.node, d.typeLoc.path, "unknown module type %q%s (see `chainsts list-modules`)", d.typ, suggest(d.typ, moduleTypeNames()))
		}
	}
}

func moduleTypeNames() []string {
	var out []string
	for _, m := range sts.Modules() {
		out = append(out, m.Name)
	}
	return out
}

func (cfg *config) addTemplates(loc located, ps *problemSet) {
	if isNull(loc.node) {
		return
	}
	entries, ok := mappingEntries(loc.node)
	if !ok {
		ps.add(SeverityError, loc.file, loc.node, loc.path, "templates must be a mapping of template names to {steps}, not %s", kindName(loc.node))
		return
	}
	for _, e := range entries {
		l := located{file: loc.file, node: e.value, path: childPath(loc.path, e.key)}
		if e.key == "" {
			ps.add(SeverityError, loc.file, e.keyN, loc.path, "template names must be non-empty strings")
			continue
		}
		if prev, dup := cfg.templates[e.key]; dup {
			ps.add(SeverityError, loc.file, e.keyN, l.path, "template %q is already defined at %s", e.key, posString(prev.loc))
			continue
		}
		what := fmt.Sprintf("template %q", e.key)
		t := &templateDef{name: e.key, loc: located{file: loc.file, node: e.keyN, path: l.path}}
		cfg.templates[e.key] = t
		fs, ok := fields(l, []string{"description", "steps"}, what, ps)
		if !ok {
			continue
		}
		good := true
		if _, _, ok := stringField(l, fs, "description", false, what, ps); !ok {
			good = false
		}
		se, ok := fs["steps"]
		if !ok || isNull(se.value) {
			ps.add(SeverityError, loc.file, e.keyN, l.path, "%s needs steps", what)
			continue
		}
		steps, ok := parseSteps(located{file: loc.file, node: se.value, path: childPath(l.path, "steps")}, false, what, ps)
		t.steps, t.valid = steps, ok && good
	}
}

// parseSteps reads a list of steps; inline steps may carry config.
func parseSteps(loc located, inline bool, what string, ps *problemSet) ([]*stepDef, bool) {
	seq, ok := unwrap(loc.node).(*ast.SequenceNode)
	if !ok {
		ps.add(SeverityError, loc.file, loc.node, loc.path, "steps of %s must be a list, not %s", what, kindName(loc.node))
		return nil, false
	}
	if len(seq.Values) == 0 {
		ps.add(SeverityError, loc.file, loc.node, loc.path, "%s has no steps", what)
		return nil, false
	}
	allowed := []string{"id", "module", "mode"}
	if inline {
		allowed = append(allowed, "config")
	}
	good := true
	seen := map[string]*stepDef{}
	var steps []*stepDef
	for i, n := range seq.Values {
		l := located{file: loc.file, node: n, path: indexPath(loc.path, i)}
		sw := fmt.Sprintf("step %d of %s", i+1, what)
		fs, ok := fields(l, allowed, sw, ps)
		if !ok {
			good = false
			continue
		}
		s := &stepDef{loc: l}
		var ok1, ok2, ok3 bool
		s.id, s.idLoc, ok1 = stringField(l, fs, "id", true, sw, ps)
		s.module, s.moduleLoc, ok2 = stringField(l, fs, "module", true, sw, ps)
		var mode string
		mode, s.modeLoc, ok3 = stringField(l, fs, "mode", true, sw, ps)
		s.mode = sts.Mode(mode)
		if ok3 && !validMode(s.mode) {
			ps.add(SeverityError, loc.file, s.modeLoc.node, s.modeLoc.path, "unknown mode %q%s (modes: %s)", mode, suggest(mode, modeNames()), strings.Join(modeNames(), ", "))
			ok3 = false
		}
		if c, ok := fs["config"]; ok {
			s.config = located{file: loc.file, node: c.value, path: childPath(l.path, "config")}
		}
		if !ok1 || !ok2 || !ok3 {
			good = false
			continue
		}
		if prev, dup := seen[s.id]; dup {
			ps.add(SeverityError, loc.file, s.idLoc.node, s.idLoc.path, "step id %q is already used at %s", s.id, posString(prev.idLoc))
			good = false
			continue
		}
		seen[s.id] = s
		steps = append(steps, s)
	}
	return steps, good
}

func validMode(m sts.Mode) bool {
	for _, x := range sts.AllModes {
		if x == m {
			return true
		}
	}
	return false
}

func modeNames() []string {
	out := make([]string, len(sts.AllModes))
	for i, m := range sts.AllModes {
		out[i] = string(m)
	}
	return out
}

func (cfg *config) addChains(loc located, ps *problemSet) {
	if isNull(loc.node) {
		return
	}
	seq, ok := unwrap(loc.node).(*ast.SequenceNode)
	if !ok {
		ps.add(SeverityError, loc.file, loc.node, loc.path, "chains must be a list (its order breaks lookup ties), not %s", kindName(loc.node))
		return
	}
	for i, n := range seq.Values {
		l := located{file: loc.file, node: n, path: indexPath(loc.path, i)}
		what := fmt.Sprintf("chain %d", len(cfg.chains)+1)
		fs, ok := fields(l, []string{"name", "description", "template", "steps", "config", "lookup"}, what, ps)
		if !ok {
			continue
		}
		c := &chainDef{loc: l, index: len(cfg.chains)}
		name, nameLoc, ok := stringField(l, fs, "name", true, what, ps)
		if !ok {
			continue
		}
		c.name, c.nameLoc = name, nameLoc
		what = fmt.Sprintf("chain %q", name)
		for _, prev := range cfg.chains {
			if prev.name == name {
				ps.add(SeverityError, loc.file, nameLoc.node, nameLoc.path, "chain %q is already defined at %s", name, posString(prev.nameLoc))
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		c.description, _, _ = stringField(l, fs, "description", false, what, ps)
		c.template, c.templateLoc, _ = stringField(l, fs, "template", false, what, ps)
		if cf, present := fs["config"]; present {
			c.configLoc = located{file: loc.file, node: cf.value, path: childPath(l.path, "config")}
		}
		se, hasSteps := fs["steps"]
		switch {
		case c.templateLoc.node != nil && hasSteps:
			ps.add(SeverityError, loc.file, se.keyN, childPath(l.path, "steps"), "%s has both a template and inline steps; use one", what)
		case hasSteps:
			c.steps, _ = parseSteps(located{file: loc.file, node: se.value, path: childPath(l.path, "steps")}, true, what, ps)
			if c.configLoc.node != nil {
				ps.add(SeverityError, loc.file, c.configLoc.node, c.configLoc.path, "%s has inline steps: put each step's configuration in the step's own config", what)
			}
		case c.templateLoc.node == nil:
			ps.add(SeverityError, loc.file, nameLoc.node, l.path, "%s needs a template or inline steps", what)
		}
		c.lookup = map[string]located{}
		if le, ok := fs["lookup"]; ok && !isNull(le.value) {
			ll := located{file: loc.file, node: le.value, path: childPath(l.path, "lookup")}
			lfs, ok := fields(ll, criterionNames[:], "the lookup of "+what, ps)
			if ok {
				for _, k := range criterionNames {
					if e, ok := lfs[k]; ok {
						c.lookup[k] = located{file: loc.file, node: e.value, path: childPath(ll.path, k)}
					}
				}
			}
		}
		cfg.chains = append(cfg.chains, c)
	}
}

// suggest returns ` (did you mean "x"?)` for a near miss among candidates.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d > 0 && d < bestD && d*3 <= len(c) {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours ("lable" is one
// edit from "label").
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

package chains

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

// DefaultMaxDepth bounds chain-calls-chain nesting when Options.MaxDepth is
// zero.
const DefaultMaxDepth = 8

// defaultDataDir is the data directory, relative to the configuration, when
// the configuration does not set data_dir.
const defaultDataDir = "data"

func load(ctx context.Context, path string, opts Options) (*Runtime, error) {
	rt, ps := build(ctx, path, opts)
	if ps.hasErrors() {
		return nil, &ConfigErrors{Problems: ps.sorted()}
	}
	return rt, nil
}

func check(ctx context.Context, path string, opts Options) []Problem {
	rt, ps := build(ctx, path, opts)
	if rt != nil {
		if err := rt.Close(); err != nil {
			ps.addAt(SeverityError, path, 0, 0, "", "cleanup: %v", err)
		}
	}
	return ps.sorted()
}

// build reads, decodes and provisions a configuration. It returns the
// runtime only when there are no errors; otherwise everything provisioned
// has been cleaned up.
func build(ctx context.Context, path string, opts Options) (*Runtime, *problemSet) {
	ps := &problemSet{}
	cfg := readConfig(path, ps)
	if cfg == nil {
		return nil, ps
	}
	return buildConfig(ctx, cfg, opts, ps)
}

type builder struct {
	cfg  *config
	ps   *problemSet
	host *host
	sess *session
	log  hclog.Logger
	// tmplChecked records templates whose steps resolved.
	tmplChecked map[string]bool
}

func buildConfig(ctx context.Context, cfg *config, opts Options, ps *problemSet) (*Runtime, *problemSet) {
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if ctx == nil {
		ctx = context.Background()
	}
	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = cfg.dataDir
		if dataDir == "" {
			dataDir = defaultDataDir
		}
		if !filepath.IsAbs(dataDir) {
			dataDir = filepath.Join(cfg.dir, dataDir)
		}
	}
	h := &host{
		ctx:      ctx,
		dir:      cfg.dir,
		dataDir:  dataDir,
		logger:   log,
		sections: cfg.apps,
		apps:     map[string]*appState{},
		ps:       ps,
	}
	b := &builder{cfg: cfg, ps: ps, host: h, log: log, tmplChecked: map[string]bool{}}
	h.mu.Lock()
	b.sess = &session{h: h}

	// Every configured app is provisioned, whether or not a module asks
	// for it, so that `chainsts check` validates the whole file.
	for _, name := range cfg.appOrder {
		_, _ = h.provisionApp(name, b.sess)
	}
	for _, name := range cfg.moduleOrder {
		b.checkModuleDef(cfg.modules[name])
	}
	for _, name := range sortedKeys(cfg.templates) {
		b.checkTemplate(cfg.templates[name])
	}
	var built, lookups []*chain
	for _, cd := range cfg.chains {
		m := b.compileLookup(cd)
		if m != nil {
			// Shadowing depends on lookups only: report it even for
			// chains whose steps have errors.
			line, col := nodePos(cd.nameLoc.node)
			lookups = append(lookups, &chain{name: cd.name, match: m, col: col, path: cd.nameLoc.path,
				info: ChainInfo{Name: cd.name, File: cd.loc.file, Line: line}})
		}
		if c := b.buildChain(cd, m); c != nil {
			built = append(built, c)
		}
	}
	b.sess.done.Store(true)
	h.ps = nil
	h.mu.Unlock()

	ps.list = append(ps.list, shadowWarnings(lookups)...)

	maxDepth := opts.MaxDepth
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	rt := &Runtime{
		host:     h,
		chains:   built,
		index:    newIndex(built),
		maxDepth: maxDepth,
		observer: opts.Observer,
		logger:   log,
		done:     make(chan struct{}),
	}
	rt.refs.Store(1)
	for _, p := range ps.list {
		if p.Severity == SeverityWarning {
			rt.warnings = append(rt.warnings, p)
		}
	}
	if ps.hasErrors() {
		if err := rt.Close(); err != nil {
			log.Error("cleanup after failed load", "error", err)
		}
		return nil, ps
	}
	rt.warnings = (&problemSet{list: rt.warnings, fileOrder: ps.fileOrder}).sorted()
	rt.prepare()
	return rt, ps
}

// checkModuleDef decodes a named instance's defaults on their own, so that
// a mistake is reported once at the instance, and even when no chain uses
// it.
func (b *builder) checkModuleDef(d *moduleDef) {
	if !d.resolved {
		return
	}
	inst := d.info.New()
	d.valid = decodeStrict(inst, d.config, b.ps, fmt.Sprintf("module instance %q (%s)", d.name, d.typ))
}

// resolveModule finds the module type a step refers to: a named instance
// (whose defaults apply) or a module type. ok is false when the reference
// is broken; reported reports whether the problem was already reported.
func (b *builder) resolveModule(s *stepDef, report bool) (info sts.ModuleInfo, def *moduleDef, ok bool) {
	if d, found := b.cfg.modules[s.module]; found {
		if !d.resolved || !d.valid {
			return info, nil, false
		}
		return d.info, d, true
	}
	if mi, found := sts.GetModule(s.module); found {
		return mi, nil, true
	}
	if report {
		names := append(moduleTypeNames(), b.cfg.moduleOrder...)
		b.ps.add(SeverityError, s.moduleLoc.file, s.moduleLoc.node, s.moduleLoc.path,
			"unknown module %q%s: not a module instance under modules: nor a module type", s.module, suggest(s.module, names))
	}
	return info, nil, false
}

// checkMode reports a step whose module type does not implement its mode.
func (b *builder) checkMode(s *stepDef, info sts.ModuleInfo) bool {
	modes := info.Modes()
	if slices.Contains(modes, s.mode) {
		return true
	}
	names := make([]string, len(modes))
	for i, m := range modes {
		names[i] = string(m)
	}
	b.ps.add(SeverityError, s.modeLoc.file, s.modeLoc.node, s.modeLoc.path,
		"module type %q has no %s mode (it implements: %s)", info.Name, s.mode, strings.Join(names, ", "))
	return false
}

// checkTemplate resolves a template's modules and modes once, so that a
// mistake in a template is reported once, not for every chain using it.
func (b *builder) checkTemplate(t *templateDef) {
	if !t.valid {
		return
	}
	good := true
	for _, s := range t.steps {
		info, _, ok := b.resolveModule(s, true)
		if !ok {
			good = false
			continue
		}
		if !b.checkMode(s, info) {
			good = false
		}
	}
	b.tmplChecked[t.name] = good
}

// buildChain instantiates a chain's steps and compiles its lookup. It
// returns nil when the chain has errors (all of them reported).
func (b *builder) buildChain(cd *chainDef, match *matcher) *chain {
	good := true
	if match == nil {
		good = false
	}
	var defs []*stepDef
	inline := cd.template == ""
	what := fmt.Sprintf("chain %q", cd.name)
	if inline {
		if len(cd.steps) == 0 {
			// Missing or broken steps were reported while parsing.
			return nil
		}
		defs = cd.steps
	} else {
		t, ok := b.cfg.templates[cd.template]
		if !ok {
			b.ps.add(SeverityError, cd.templateLoc.file, cd.templateLoc.node, cd.templateLoc.path,
				"%s uses unknown template %q%s", what, cd.template, suggest(cd.template, sortedKeys(b.cfg.templates)))
			return nil
		}
		if !b.tmplChecked[t.name] {
			return nil
		}
		perStep := map[string]located{}
		if !isNull(cd.configLoc.node) {
			entries, ok := mappingEntries(cd.configLoc.node)
			if !ok {
				b.ps.add(SeverityError, cd.configLoc.file, cd.configLoc.node, cd.configLoc.path,
					"config of %s must be a mapping of step ids to step configuration, not %s", what, kindName(cd.configLoc.node))
				return nil
			}
			ids := make([]string, len(t.steps))
			for i, s := range t.steps {
				ids[i] = s.id
			}
			for _, e := range entries {
				p := childPath(cd.configLoc.path, e.key)
				if !slices.Contains(ids, e.key) {
					b.ps.add(SeverityError, cd.configLoc.file, e.keyN, p,
						"template %q has no step %q%s (steps: %s)", t.name, e.key, suggest(e.key, ids), strings.Join(ids, ", "))
					good = false
					continue
				}
				perStep[e.key] = located{file: cd.configLoc.file, node: e.value, path: p}
			}
		}
		for _, s := range t.steps {
			c := *s
			c.config = perStep[s.id]
			defs = append(defs, &c)
		}
	}

	c := &chain{name: cd.name, match: match}
	for _, s := range defs {
		st := b.buildStep(cd, s, inline)
		if st == nil {
			good = false
			continue
		}
		c.steps = append(c.steps, st)
	}
	if !good {
		return nil
	}
	line, col := nodePos(cd.nameLoc.node)
	c.col, c.path = col, cd.nameLoc.path
	c.info = ChainInfo{Name: cd.name, Description: cd.description, File: cd.loc.file, Line: line, Lookup: map[string]string{}}
	for i, cr := range match.crit {
		if cr.set {
			c.info.Lookup[criterionNames[i]] = cr.raw
		}
	}
	for _, st := range c.steps {
		c.info.Steps = append(c.info.Steps, StepInfo{ID: st.id, Module: st.module, Type: st.typ, Mode: st.mode})
	}
	return c
}

// buildStep creates a step's own module instance: New, the named
// instance's defaults, the step's configuration over them, Provision,
// Validate.
func (b *builder) buildStep(cd *chainDef, s *stepDef, inline bool) *step {
	info, def, ok := b.resolveModule(s, inline)
	if !ok {
		return nil
	}
	if inline && !b.checkMode(s, info) {
		return nil
	}
	inst := info.New()
	what := fmt.Sprintf("chain %q step %q (%s %s)", cd.name, s.id, info.Name, s.mode)
	var cfgs []located
	if !isNull(s.config.node) {
		cfgs = append(cfgs, s.config)
	}
	if def != nil {
		// The defaults were checked on their own already.
		decodeStrict(inst, def.config, &problemSet{}, what)
		if !isNull(def.config.node) {
			cfgs = append(cfgs, def.config)
		}
	}
	if !decodeStrict(inst, s.config, b.ps, what) {
		return nil
	}
	pctx := sts.ProvisionContext{
		Context: b.host.ctx,
		Logger:  b.log.Named(info.Name).With("chain", cd.name, "step", s.id),
		Host:    b.sess,
		Chain:   cd.name,
		Step:    s.id,
		Mode:    s.mode,
	}
	fallback := s.loc
	if !inline {
		fallback = cd.nameLoc
		if !isNull(s.config.node) {
			fallback = s.config
		}
	}
	if err := b.host.lifecycle(inst, pctx, cfgs, fallback, what, true); err != nil {
		return nil
	}
	st := &step{id: s.id, module: s.module, typ: info.Name, mode: s.mode, inst: inst}
	st.run = modeFunc(inst, s.mode)
	if st.run == nil {
		return nil
	}
	return st
}

// modeFunc returns the method that runs a mode on an instance.
func modeFunc(m sts.Module, mode sts.Mode) func(context.Context, *sts.Call) error {
	switch mode {
	case sts.ModeValidate:
		if x, ok := m.(sts.TokenValidator); ok {
			return x.ValidateToken
		}
	case sts.ModeMap:
		if x, ok := m.(sts.Mapper); ok {
			return x.Map
		}
	case sts.ModeIssue:
		if x, ok := m.(sts.TokenIssuer); ok {
			return x.IssueToken
		}
	case sts.ModeExchange:
		if x, ok := m.(sts.Exchanger); ok {
			return x.Exchange
		}
	case sts.ModeAuthorize:
		if x, ok := m.(sts.Authorizer); ok {
			return x.Authorize
		}
	}
	return nil
}

// compileLookup compiles a chain's lookup criteria; nil when one is bad.
func (b *builder) compileLookup(cd *chainDef) *matcher {
	var crit [numCriteria]criterion
	good := true
	for i, name := range criterionNames {
		l, ok := cd.lookup[name]
		if !ok || isNull(l.node) {
			continue
		}
		raw, ok := scalarString(l.node)
		if !ok {
			b.ps.add(SeverityError, l.file, l.node, l.path, "lookup %s of chain %q must be a string, not %s", name, cd.name, kindName(l.node))
			good = false
			continue
		}
		c, err := compileCriterion(i, raw)
		if err != nil {
			b.ps.add(SeverityError, l.file, l.node, l.path, "chain %q: %v", cd.name, err)
			good = false
			continue
		}
		crit[i] = c
	}
	if !good {
		return nil
	}
	return newMatcher(crit, cd.index)
}

// shadowWarnings reports chains that no request can select.
func shadowWarnings(chains []*chain) []Problem {
	ix := newIndex(chains)
	var out []Problem
	for j, c := range ix.sorted {
		for _, a := range ix.sorted[:j] {
			if shadows(a.match, c.match) {
				out = append(out, Problem{
					Severity: SeverityWarning,
					File:     c.info.File,
					Line:     c.info.Line,
					Column:   c.col,
					Path:     c.path,
					Message: fmt.Sprintf("chain %q can never be selected: chain %q (%s:%d) matches every request it matches and takes precedence",
						c.name, a.name, a.info.File, a.info.Line),
				})
				break
			}
		}
	}
	return out
}

package attributes

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/chainsts/chainsts/sts"
)

func init() { sts.RegisterModule(Module{}) }

// The STSUU sections operations address.
const (
	SectionPrincipal  = "principal"
	SectionAttributes = "attributes"
	SectionContext    = "context"
	SectionRST        = "rst"
	SectionGroups     = "groups"
)

var sections = []string{SectionPrincipal, SectionAttributes, SectionContext, SectionRST, SectionGroups}

// Module is the attributes module: an ordered list of declarative
// operations over the chain's universal user, compiled at provision time.
type Module struct {
	// Operations run in order; each sees the result of the previous ones.
	Operations []Operation `yaml:"operations"`

	ops []op
}

// Operation is one step of the mapping. Exactly one field is set.
type Operation struct {
	Set           *SetOp           `yaml:"set"`
	Copy          *CopyOp          `yaml:"copy"`
	Rename        *CopyOp          `yaml:"rename"`
	Delete        *Selector        `yaml:"delete"`
	Filter        *FilterOp        `yaml:"filter"`
	PrincipalFrom *PrincipalFromOp `yaml:"principal_from"`
}

// SetOp sets an attribute to constant values (YAML types are kept: a YAML
// number becomes a JSON number), or adds a group.
type SetOp struct {
	Section  string `yaml:"section"`
	Name     string `yaml:"name"`
	Type     string `yaml:"type"`
	Nickname string `yaml:"nickname"`
	Values   []any  `yaml:"values"`
	// JSONValues gives the values as JSON texts instead, for numbers YAML
	// cannot hold exactly (beyond 64 bits, or a literal such as 1.50).
	JSONValues []string `yaml:"json_values"`
	// Append adds the values to an existing attribute with the same name
	// and type instead of replacing it.
	Append bool `yaml:"append"`
}

// Selector picks attributes (or groups) of one section: by exact name or by
// a regular expression over the whole name, and by type. An absent type
// matches any type; type: "" matches only the empty type.
type Selector struct {
	Section   string  `yaml:"section"`
	Name      string  `yaml:"name"`
	NameRegex string  `yaml:"name_regex"`
	Type      *string `yaml:"type"`
}

// Target says where copied attributes go. An absent name or type keeps the
// source's; with a name_regex source, the name may refer to the regex's
// groups ($1, ${name}).
type Target struct {
	Section string  `yaml:"section"`
	Name    string  `yaml:"name"`
	Type    *string `yaml:"type"`
}

// CopyOp copies (or, as rename, moves) the selected attributes or groups.
type CopyOp struct {
	From Selector `yaml:"from"`
	To   Target   `yaml:"to"`
	// Append adds the values to an existing target attribute instead of
	// replacing it.
	Append bool `yaml:"append"`
	// Required fails the request with invalid_request when nothing matches.
	Required bool `yaml:"required"`
}

// FilterOp keeps only the attributes (or groups) of a section that the
// allow-lists admit and deletes the rest. An attribute is kept when its
// name is in allow_names or matches one of allow_name_regex (or neither list
// is given), and its type is in allow_types (or that list is not given).
type FilterOp struct {
	Section        string   `yaml:"section"`
	AllowNames     []string `yaml:"allow_names"`
	AllowNameRegex []string `yaml:"allow_name_regex"`
	AllowTypes     []string `yaml:"allow_types"`
}

// PrincipalFromOp sets the principal name from the first non-empty value of
// the first selected attribute. When there is none the request fails with
// invalid_request, unless Optional.
type PrincipalFromOp struct {
	Section   string  `yaml:"section"`
	Name      string  `yaml:"name"`
	NameRegex string  `yaml:"name_regex"`
	Type      *string `yaml:"type"`
	Optional  bool    `yaml:"optional"`
}

// STSModule implements sts.Module.
func (Module) STSModule() sts.ModuleInfo {
	return sts.ModuleInfo{
		Name:        "attributes",
		Description: "declarative STSUU mapping: set, copy, rename, delete, filter, principal from an attribute",
		New:         func() sts.Module { return new(Module) },
	}
}

// op is a compiled operation.
type op interface {
	apply(u *sts.STSUU) error
}

// Provision implements sts.Provisioner: it checks and compiles every
// operation, so a bad one is a load error naming its path.
func (m *Module) Provision(_ sts.ProvisionContext) error {
	m.ops = m.ops[:0]
	for i, o := range m.Operations {
		path := fmt.Sprintf("operations[%d]", i)
		c, err := compile(o, path)
		if err != nil {
			return err
		}
		m.ops = append(m.ops, c)
	}
	return nil
}

// Map implements sts.Mapper: it runs the operations in order.
func (m *Module) Map(_ context.Context, c *sts.Call) error {
	if c.User == nil {
		c.User = sts.NewSTSUU()
	}
	for _, o := range m.ops {
		if err := o.apply(c.User); err != nil {
			return err
		}
	}
	return nil
}

func compile(o Operation, path string) (op, error) {
	var (
		n   int
		key string
	)
	for k, set := range map[string]bool{
		"set": o.Set != nil, "copy": o.Copy != nil, "rename": o.Rename != nil,
		"delete": o.Delete != nil, "filter": o.Filter != nil, "principal_from": o.PrincipalFrom != nil,
	} {
		if set {
			n++
			key = k
		}
	}
	if n != 1 {
		return nil, sts.ConfigErrorf(path, "an operation needs exactly one of set, copy, rename, delete, filter, principal_from (found %d)", n)
	}
	path += "." + key
	switch key {
	case "set":
		return compileSet(o.Set, path)
	case "copy":
		return compileCopy(o.Copy, path, false)
	case "rename":
		return compileCopy(o.Rename, path, true)
	case "delete":
		sel, err := compileSelector(*o.Delete, path, true)
		if err != nil {
			return nil, err
		}
		if o.Delete.Name == "" && o.Delete.NameRegex == "" && o.Delete.Type == nil {
			return nil, sts.ConfigErrorf(path, "delete needs name, name_regex or type (use name_regex: '.*' to clear a section)")
		}
		return deleteOp{sel}, nil
	case "filter":
		return compileFilter(o.Filter, path)
	default:
		p := o.PrincipalFrom
		sel, err := compileSelector(Selector{Section: p.Section, Name: p.Name, NameRegex: p.NameRegex, Type: p.Type}, path, false)
		if err != nil {
			return nil, err
		}
		if p.Name == "" && p.NameRegex == "" {
			return nil, sts.ConfigErrorf(path+".name", "principal_from needs name or name_regex")
		}
		return principalOp{sel: sel, optional: p.Optional}, nil
	}
}

func checkSection(s, path string, groups bool) error {
	if s == "" {
		return sts.ConfigErrorf(path, "section is required (one of %s)", strings.Join(sections, ", "))
	}
	for _, v := range sections {
		if s == v {
			if s == SectionGroups && !groups {
				return sts.ConfigErrorf(path, "section groups is not allowed here")
			}
			return nil
		}
	}
	return sts.ConfigErrorf(path, "unknown section %q (want one of %s)", s, strings.Join(sections, ", "))
}

// compileRegex compiles a pattern that must match the whole name, as ISAM's
// REGEXP:(...) criteria do.
func compileRegex(expr, path string) (*regexp.Regexp, error) {
	// Compile the expression as written first, so an error quotes the
	// user's text rather than the anchored form.
	if _, err := regexp.Compile(expr); err != nil {
		return nil, sts.ConfigErrorf(path, "bad regular expression: %v", err)
	}
	return regexp.MustCompile(`^(?:` + expr + `)$`), nil
}

// selector is a compiled Selector.
type selector struct {
	section string
	name    string
	re      *regexp.Regexp
	typ     *string
}

func compileSelector(s Selector, path string, groups bool) (selector, error) {
	if err := checkSection(s.Section, path+".section", groups); err != nil {
		return selector{}, err
	}
	sel := selector{section: s.Section, name: s.Name, typ: s.Type}
	if s.Name != "" && s.NameRegex != "" {
		return selector{}, sts.ConfigErrorf(path+".name_regex", "give name or name_regex, not both")
	}
	if s.NameRegex != "" {
		re, err := compileRegex(s.NameRegex, path+".name_regex")
		if err != nil {
			return selector{}, err
		}
		sel.re = re
	}
	return sel, nil
}

func (s selector) matches(name, typ string) bool {
	if s.typ != nil && *s.typ != typ {
		return false
	}
	switch {
	case s.re != nil:
		return s.re.MatchString(name)
	case s.name != "":
		return name == s.name
	}
	return true
}

// container returns the attribute section a name refers to (not groups).
func container(u *sts.STSUU, section string) *sts.Attributes {
	switch section {
	case SectionPrincipal:
		return &u.Principal
	case SectionAttributes:
		return &u.Attributes
	case SectionContext:
		return &u.Context
	case SectionRST:
		return &u.RST
	}
	return nil
}

// setOp sets an attribute or adds a group.
type setOp struct {
	section string
	attr    *sts.Attribute
	group   *sts.Group
	append  bool
}

func compileSet(s *SetOp, path string) (op, error) {
	if err := checkSection(s.Section, path+".section", true); err != nil {
		return nil, err
	}
	if s.Name == "" {
		return nil, sts.ConfigErrorf(path+".name", "name is required")
	}
	if s.Section == SectionGroups {
		if len(s.Values) > 0 || len(s.JSONValues) > 0 || s.Nickname != "" || s.Append {
			return nil, sts.ConfigErrorf(path, "a group has no values, nickname or append")
		}
		return setOp{section: s.Section, group: &sts.Group{Name: s.Name, Type: s.Type}}, nil
	}
	if len(s.Values) > 0 && len(s.JSONValues) > 0 {
		return nil, sts.ConfigErrorf(path+".json_values", "give values or json_values, not both")
	}
	values := s.Values
	for i, text := range s.JSONValues {
		v, err := sts.ParseJSONValue([]byte(text))
		if err != nil {
			return nil, sts.ConfigErrorf(fmt.Sprintf("%s.json_values[%d]", path, i), "not a JSON value: %v", err)
		}
		values = append(values, v)
	}
	a, err := sts.NewAttributeChecked(s.Name, s.Type, values...)
	if err != nil {
		return nil, sts.ConfigErrorf(path+".values", "%v", err)
	}
	a.Nickname = s.Nickname
	return setOp{section: s.Section, attr: a, append: s.Append}, nil
}

func (o setOp) apply(u *sts.STSUU) error {
	if o.group != nil {
		addGroupOnce(u, o.group.Name, o.group.Type)
		return nil
	}
	// The configured attribute is shared by every request: hand out copies.
	putAttribute(container(u, o.section), o.attr.Clone(), o.append)
	return nil
}

func putAttribute(l *sts.Attributes, a *sts.Attribute, appendValues bool) {
	if appendValues {
		l.Add(a)
	} else {
		l.Set(a)
	}
}

// addGroupOnce adds a group with no attributes unless one with that name
// and type exists (whose attributes are then left alone).
func addGroupOnce(u *sts.STSUU, name, typ string) {
	newGroupIndex(u).addOnce(name, typ)
}

type identity struct{ name, typ string }

// attrIndex puts many attributes into one section in linear time: a copy
// selecting thousands of attributes (a user from a large document) must not
// scan the section once per attribute.
type attrIndex struct {
	l   *sts.Attributes
	idx map[identity]int
}

func newAttrIndex(l *sts.Attributes) *attrIndex {
	x := &attrIndex{l: l, idx: make(map[identity]int, len(*l))}
	for i, a := range *l {
		if _, dup := x.idx[identity{a.Name, a.Type}]; !dup {
			x.idx[identity{a.Name, a.Type}] = i
		}
	}
	return x
}

// put is Attributes.Add (appendValues) or Attributes.Set.
func (x *attrIndex) put(a *sts.Attribute, appendValues bool) {
	k := identity{a.Name, a.Type}
	i, ok := x.idx[k]
	switch {
	case !ok:
		x.idx[k] = len(*x.l)
		*x.l = append(*x.l, a)
	case appendValues:
		cur := (*x.l)[i]
		cur.Values = append(cur.Values, a.Values...)
	default:
		(*x.l)[i] = a
	}
}

// groupIndex is attrIndex for the group list.
type groupIndex struct {
	u   *sts.STSUU
	idx map[identity]int
}

func newGroupIndex(u *sts.STSUU) *groupIndex {
	x := &groupIndex{u: u, idx: make(map[identity]int, len(u.Groups))}
	for i, g := range u.Groups {
		if _, dup := x.idx[identity{g.Name, g.Type}]; !dup {
			x.idx[identity{g.Name, g.Type}] = i
		}
	}
	return x
}

// addOnce adds an empty group unless one with the identity exists.
func (x *groupIndex) addOnce(name, typ string) {
	if _, ok := x.idx[identity{name, typ}]; ok {
		return
	}
	x.idx[identity{name, typ}] = len(x.u.Groups)
	x.u.Groups = append(x.u.Groups, &sts.Group{Name: name, Type: typ})
}

// put adds g, replacing a group with the same identity in place (as
// STSUU.AddGroup does).
func (x *groupIndex) put(g *sts.Group) {
	k := identity{g.Name, g.Type}
	if i, ok := x.idx[k]; ok {
		x.u.Groups[i] = g
		return
	}
	x.idx[k] = len(x.u.Groups)
	x.u.Groups = append(x.u.Groups, g)
}

// copyOp copies or moves attributes and groups between sections.
type copyOp struct {
	from     selector
	to       Target
	append   bool
	required bool
	move     bool
	what     string
}

func compileCopy(c *CopyOp, path string, move bool) (op, error) {
	from, err := compileSelector(c.From, path+".from", true)
	if err != nil {
		return nil, err
	}
	if err := checkSection(c.To.Section, path+".to.section", true); err != nil {
		return nil, err
	}
	if c.From.Section == SectionGroups && c.To.Section != SectionGroups && c.To.Name == "" {
		return nil, sts.ConfigErrorf(path+".to.name", "copying groups into an attribute needs the attribute's name")
	}
	if c.From.Section != SectionGroups && c.To.Section == SectionGroups && c.To.Name != "" {
		return nil, sts.ConfigErrorf(path+".to.name", "copying an attribute into groups takes the group names from its values; drop name")
	}
	if c.To.Section == SectionGroups && c.Append {
		return nil, sts.ConfigErrorf(path+".append", "append does not apply to groups")
	}
	if from.re == nil && strings.Contains(c.To.Name, "$") {
		return nil, sts.ConfigErrorf(path+".to.name", "$ references need a name_regex source")
	}
	what := "copy"
	if move {
		what = "rename"
	}
	return copyOp{from: from, to: c.To, append: c.Append, required: c.Required, move: move, what: what}, nil
}

func (o copyOp) targetName(src string) string {
	switch {
	case o.to.Name == "":
		return src
	case o.from.re != nil && strings.Contains(o.to.Name, "$"):
		m := o.from.re.FindStringSubmatchIndex(src)
		return string(o.from.re.ExpandString(nil, o.to.Name, src, m))
	}
	return o.to.Name
}

func (o copyOp) targetType(src string) string {
	if o.to.Type != nil {
		return *o.to.Type
	}
	return src
}

func (o copyOp) apply(u *sts.STSUU) error {
	if o.from.section == SectionGroups {
		return o.applyGroups(u)
	}
	src := container(u, o.from.section)
	var matched []*sts.Attribute
	for _, a := range *src {
		if o.from.matches(a.Name, a.Type) {
			matched = append(matched, a)
		}
	}
	if len(matched) == 0 && o.required {
		return o.missing()
	}
	if o.to.Section == SectionGroups && len(matched) > 0 {
		typ := sts.TypeAccessManager
		if o.to.Type != nil {
			typ = *o.to.Type
		}
		groups := newGroupIndex(u)
		for _, a := range matched {
			for _, v := range a.Values {
				if name := sts.StringValue(v); name != "" {
					groups.addOnce(name, typ)
				}
			}
		}
	}
	gone := make(map[*sts.Attribute]bool, len(matched))
	for _, a := range matched {
		gone[a] = o.move
	}
	if o.to.Section != SectionGroups && len(matched) > 0 {
		dst := newAttrIndex(container(u, o.to.Section))
		for _, a := range matched {
			c := a.Clone()
			c.Name, c.Type = o.targetName(a.Name), o.targetType(a.Type)
			if o.to.Section == o.from.section && c.Name == a.Name && c.Type == a.Type {
				// Onto itself: a rename is a no-op (and must not delete
				// the attribute it would have appended to).
				if o.move {
					gone[a] = false
					continue
				}
			}
			dst.put(c, o.append)
		}
	}
	if o.move {
		src.RemoveFunc(func(a *sts.Attribute) bool { return gone[a] })
	}
	return nil
}

func (o copyOp) applyGroups(u *sts.STSUU) error {
	var matched []*sts.Group
	for _, g := range u.Groups {
		if o.from.matches(g.Name, g.Type) {
			matched = append(matched, g)
		}
	}
	if len(matched) == 0 && o.required {
		return o.missing()
	}
	if o.to.Section == SectionGroups && len(matched) > 0 {
		groups := newGroupIndex(u)
		for _, g := range matched {
			c := g.Clone()
			c.Name, c.Type = o.targetName(g.Name), o.targetType(g.Type)
			groups.put(c)
		}
	} else if o.to.Section != SectionGroups && len(matched) > 0 {
		names := make([]any, 0, len(matched))
		for _, g := range matched {
			names = append(names, g.Name)
		}
		typ := ""
		if o.to.Type != nil {
			typ = *o.to.Type
		}
		putAttribute(container(u, o.to.Section), &sts.Attribute{Name: o.to.Name, Type: typ, Values: names}, o.append)
	}
	if o.move {
		gone := make(map[*sts.Group]bool, len(matched))
		for _, g := range matched {
			gone[g] = true
		}
		kept := u.Groups[:0]
		for _, g := range u.Groups {
			// A group renamed onto its own identity replaced itself in place
			// (AddGroup) and is no longer the matched pointer.
			if !gone[g] {
				kept = append(kept, g)
			}
		}
		u.Groups = kept
	}
	return nil
}

func (o copyOp) missing() error {
	return sts.ErrInvalidRequest.WithDescription("a required attribute is missing").
		WithCause(fmt.Errorf("attributes %s: nothing matches %s", o.what, describe(o.from)))
}

func describe(s selector) string {
	d := s.section
	switch {
	case s.re != nil:
		d += " name~" + s.re.String()
	case s.name != "":
		d += " name=" + s.name
	}
	if s.typ != nil {
		d += " type=" + *s.typ
	}
	return d
}

// deleteOp removes the selected attributes or groups.
type deleteOp struct{ sel selector }

func (o deleteOp) apply(u *sts.STSUU) error {
	if o.sel.section == SectionGroups {
		kept := u.Groups[:0]
		for _, g := range u.Groups {
			if !o.sel.matches(g.Name, g.Type) {
				kept = append(kept, g)
			}
		}
		u.Groups = kept
		return nil
	}
	container(u, o.sel.section).RemoveFunc(func(a *sts.Attribute) bool { return o.sel.matches(a.Name, a.Type) })
	return nil
}

// filterOp keeps what the allow-lists admit.
type filterOp struct {
	section string
	names   map[string]bool
	res     []*regexp.Regexp
	types   map[string]bool
}

func compileFilter(f *FilterOp, path string) (op, error) {
	if err := checkSection(f.Section, path+".section", true); err != nil {
		return nil, err
	}
	if len(f.AllowNames) == 0 && len(f.AllowNameRegex) == 0 && len(f.AllowTypes) == 0 {
		return nil, sts.ConfigErrorf(path, "filter needs allow_names, allow_name_regex or allow_types")
	}
	o := filterOp{section: f.Section}
	if len(f.AllowNames) > 0 {
		o.names = make(map[string]bool, len(f.AllowNames))
		for _, n := range f.AllowNames {
			o.names[n] = true
		}
	}
	for i, expr := range f.AllowNameRegex {
		re, err := compileRegex(expr, fmt.Sprintf("%s.allow_name_regex[%d]", path, i))
		if err != nil {
			return nil, err
		}
		o.res = append(o.res, re)
	}
	if len(f.AllowTypes) > 0 {
		o.types = make(map[string]bool, len(f.AllowTypes))
		for _, t := range f.AllowTypes {
			o.types[t] = true
		}
	}
	return o, nil
}

func (o filterOp) keep(name, typ string) bool {
	if o.types != nil && !o.types[typ] {
		return false
	}
	if o.names == nil && o.res == nil {
		return true
	}
	if o.names[name] {
		return true
	}
	for _, re := range o.res {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

func (o filterOp) apply(u *sts.STSUU) error {
	if o.section == SectionGroups {
		kept := u.Groups[:0]
		for _, g := range u.Groups {
			if o.keep(g.Name, g.Type) {
				kept = append(kept, g)
			}
		}
		u.Groups = kept
		return nil
	}
	container(u, o.section).RemoveFunc(func(a *sts.Attribute) bool { return !o.keep(a.Name, a.Type) })
	return nil
}

// principalOp sets the principal name from an attribute.
type principalOp struct {
	sel      selector
	optional bool
}

func (o principalOp) apply(u *sts.STSUU) error {
	for _, a := range *container(u, o.sel.section) {
		if !o.sel.matches(a.Name, a.Type) {
			continue
		}
		for _, v := range a.Values {
			if s := sts.StringValue(v); s != "" {
				u.SetPrincipalName(s)
				return nil
			}
		}
	}
	if o.optional {
		return nil
	}
	return sts.ErrInvalidRequest.WithDescription("the token does not name a principal").
		WithCause(fmt.Errorf("attributes principal_from: no non-empty value in %s", describe(o.sel)))
}

// Interface guards.
var (
	_ sts.Module      = (*Module)(nil)
	_ sts.Provisioner = (*Module)(nil)
	_ sts.Mapper      = (*Module)(nil)
)

package sts

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Namespaces of the STSUU XML form.
const (
	// NamespaceSTSUU is the namespace of ISAM's STSUU XML form.
	NamespaceSTSUU = "urn:ibm:names:ITFIM:1.0:stsuuser"
	// NamespaceChainsts is the namespace of the chainsts:type attribute that
	// marks Value elements holding something other than a string.
	NamespaceChainsts = "urn:chainsts:stsuu:1.0"
)

// Limits bound the documents the STSUU parsers accept. A zero field takes
// its value from DefaultLimits.
type Limits struct {
	// MaxBytes is the largest document accepted, in bytes.
	MaxBytes int
	// MaxDepth is the deepest element (XML) or array/object (JSON) nesting
	// accepted, counted from the document's root.
	MaxDepth int
}

// DefaultLimits are the limits ParseXML and ParseJSON apply: 1 MiB and 64
// levels, far beyond any STSUU seen in practice.
var DefaultLimits = Limits{MaxBytes: 1 << 20, MaxDepth: 64}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	return l
}

// ParseXML reads an STSUU from its XML form (ISAM-COMPAT §1.1) with the
// DefaultLimits. See ParseXMLLimits.
func ParseXML(data []byte) (*STSUU, error) {
	return ParseXMLLimits(data, DefaultLimits)
}

// ParseXMLLimits reads an STSUU from its XML form. The root must be
// STSUniversalUser in NamespaceSTSUU (any prefix, version optional); sections
// may come in any order, repeat or be missing. Attributes with the same name
// and type within a section are merged as ISAM's addAttribute does; an empty
// AdditionalAttributeStatement without id (the marker ISAM writes when there
// are none) is dropped.
//
// A Value holding elements becomes an XML value (made self-contained, see
// ParseXMLFragment); a Value with a chainsts:type attribute becomes the
// number, boolean, null, array or object it was written from; any other
// Value is a string, kept exactly (no whitespace trimming).
//
// The parser never reads a DTD, expands no entity beyond the five
// predefined ones, and refuses documents above lim.
func ParseXMLLimits(data []byte, lim Limits) (*STSUU, error) {
	lim = lim.withDefaults()
	root, err := readXMLTree(data, lim)
	if err != nil {
		return nil, fmt.Errorf("stsuu xml: %w", err)
	}
	u, err := stsuuFromTree(root, lim)
	if err != nil {
		return nil, fmt.Errorf("stsuu xml: %w", err)
	}
	return u, nil
}

func stsuuFromTree(root *xnode, lim Limits) (*STSUU, error) {
	if root.space != NamespaceSTSUU || root.local != "STSUniversalUser" {
		return nil, fmt.Errorf("root element is {%s}%s, want STSUniversalUser in namespace %s", root.space, root.local, NamespaceSTSUU)
	}
	if err := checkXMLAttrs(root, "version"); err != nil {
		return nil, err
	}
	u := NewSTSUU()
	for _, c := range root.children {
		if err := checkWhitespace(root, c); err != nil {
			return nil, err
		}
		if !c.elem {
			continue
		}
		if c.space != NamespaceSTSUU {
			return nil, fmt.Errorf("unexpected element {%s}%s in STSUniversalUser", c.space, c.local)
		}
		var err error
		switch c.local {
		case "Principal", "AttributeList", "RequestSecurityToken", "ContextAttributes", "GroupList":
			err = checkXMLAttrs(c)
		}
		if err != nil {
			return nil, err
		}
		switch c.local {
		case "Principal":
			err = readXMLAttributes(c, &u.Principal, lim)
		case "AttributeList":
			err = readXMLAttributes(c, &u.Attributes, lim)
		case "RequestSecurityToken":
			err = readXMLAttributes(c, &u.RST, lim)
		case "ContextAttributes":
			err = readXMLAttributes(c, &u.Context, lim)
		case "GroupList":
			err = readXMLGroups(c, u, lim)
		case "AdditionalAttributeStatement":
			err = readXMLStatement(c, u, lim)
		default:
			err = fmt.Errorf("unexpected element %s in STSUniversalUser", c.local)
		}
		if err != nil {
			return nil, err
		}
	}
	mergeDuplicates(u)
	return u, nil
}

// checkXMLAttrs refuses unprefixed attributes other than allowed. Namespace
// declarations and attributes in other namespaces are ignored.
func checkXMLAttrs(n *xnode, allowed ...string) error {
	for _, a := range n.attrs {
		if a.isDecl() || a.prefix != "" {
			continue
		}
		ok := false
		for _, name := range allowed {
			ok = ok || a.local == name
		}
		if !ok {
			return fmt.Errorf("element %s has unexpected attribute %q", n.local, a.local)
		}
	}
	return nil
}

func checkWhitespace(parent, c *xnode) error {
	if !c.elem && strings.Trim(c.text, " \t\r\n") != "" {
		return fmt.Errorf("element %s has unexpected text %q", parent.local, truncate(c.text, 40))
	}
	return nil
}

// readXMLAttributes reads the Attribute children of a section, group or
// statement; the caller checks the element's own XML attributes.
func readXMLAttributes(n *xnode, into *Attributes, lim Limits) error {
	for _, c := range n.children {
		if err := checkWhitespace(n, c); err != nil {
			return err
		}
		if !c.elem {
			continue
		}
		if c.space != NamespaceSTSUU || c.local != "Attribute" {
			return fmt.Errorf("unexpected element {%s}%s in %s", c.space, c.local, n.local)
		}
		a, err := readXMLAttribute(c, lim)
		if err != nil {
			return fmt.Errorf("%s: %w", n.local, err)
		}
		*into = append(*into, a) // merged in one pass by mergeDuplicates
	}
	return nil
}

func readXMLAttribute(n *xnode, lim Limits) (*Attribute, error) {
	if err := checkXMLAttrs(n, "name", "type", "nickname"); err != nil {
		return nil, err
	}
	name, ok := n.attr("", "name")
	if !ok {
		// An empty name is accepted: modules may make one from a JSON
		// claim named "", and every document chainsts writes must read back.
		return nil, errors.New("Attribute without a name")
	}
	typ, _ := n.attr("", "type")
	nick, _ := n.attr("", "nickname")
	a := &Attribute{Name: name, Type: typ, Nickname: nick, Values: []any{}}
	for _, c := range n.children {
		if err := checkWhitespace(n, c); err != nil {
			return nil, err
		}
		if !c.elem {
			continue
		}
		if c.space != NamespaceSTSUU || c.local != "Value" {
			return nil, fmt.Errorf("attribute %q: unexpected element {%s}%s", name, c.space, c.local)
		}
		v, err := readXMLValue(c, lim)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		a.Values = append(a.Values, v)
	}
	return a, nil
}

func readXMLValue(n *xnode, lim Limits) (any, error) {
	if err := checkXMLAttrs(n); err != nil {
		return nil, err
	}
	kind := ""
	for _, a := range n.attrs {
		if a.isDecl() || a.space != NamespaceChainsts {
			continue
		}
		if a.local != "type" {
			return nil, fmt.Errorf("unexpected attribute %s on Value", a.qname())
		}
		kind = a.value
	}
	if kind == "" {
		if n.hasElements() {
			return XML(serializeFragment(n)), nil
		}
		return n.textContent(), nil
	}
	if n.hasElements() {
		return nil, fmt.Errorf("Value of type %q holds elements", kind)
	}
	text := strings.Trim(n.textContent(), " \t\r\n")
	switch Kind(kind) {
	case KindString, KindNumber, KindBool, KindArray, KindObject:
		v, err := decodeJSONValue([]byte(text), lim)
		if err != nil {
			return nil, fmt.Errorf("Value of type %q: %w", kind, err)
		}
		if KindOf(v) != Kind(kind) {
			return nil, fmt.Errorf("Value of type %q holds a %s", kind, KindOf(v))
		}
		if _, isXML, _ := jsonXMLValue(v, lim); isXML {
			// {"$xml": ...} is how the JSON form writes an XML value; an
			// object of that shape would not survive a trip through JSON.
			return nil, fmt.Errorf("Value of type object uses the reserved member %q", xmlValueKey)
		}
		return v, nil
	case KindNull:
		if text != "" && text != "null" {
			return nil, fmt.Errorf("Value of type null holds text")
		}
		return nil, nil
	case KindXML:
		x, err := parseXMLFragmentLimits(n.textContent(), lim)
		if err != nil {
			return nil, fmt.Errorf("Value of type xml: %w", err)
		}
		return x, nil
	}
	return nil, fmt.Errorf("unknown Value type %q", kind)
}

func readXMLGroups(n *xnode, u *STSUU, lim Limits) error {
	if err := checkXMLAttrs(n); err != nil {
		return err
	}
	for _, c := range n.children {
		if err := checkWhitespace(n, c); err != nil {
			return err
		}
		if !c.elem {
			continue
		}
		if c.space != NamespaceSTSUU || c.local != "Group" {
			return fmt.Errorf("unexpected element {%s}%s in GroupList", c.space, c.local)
		}
		if err := checkXMLAttrs(c, "name", "type"); err != nil {
			return err
		}
		name, ok := c.attr("", "name")
		if !ok {
			return errors.New("Group without a name")
		}
		typ, _ := c.attr("", "type")
		g := &Group{Name: name, Type: typ}
		if err := readXMLAttributes(c, &g.Attributes, lim); err != nil {
			return fmt.Errorf("group %q: %w", name, err)
		}
		u.Groups = append(u.Groups, g)
	}
	return nil
}

type attrID struct{ name, typ string }

// mergeDuplicates merges, in every section, attributes with the same name
// and type (values concatenated at the first one's position, as ISAM's
// addAttribute does) and groups with the same name and type (attributes
// concatenated). The parsers append as they read and call it once: merging
// on every append (Attributes.Add) would cost time quadratic in the number
// of attributes, which a 1 MiB document could abuse.
func mergeDuplicates(u *STSUU) {
	u.Principal = mergeAttributes(u.Principal)
	u.Attributes = mergeAttributes(u.Attributes)
	u.RST = mergeAttributes(u.RST)
	u.Context = mergeAttributes(u.Context)
	if len(u.Groups) > 1 {
		idx := make(map[attrID]int, len(u.Groups))
		out := u.Groups[:0]
		for _, g := range u.Groups {
			k := attrID{g.Name, g.Type}
			if i, ok := idx[k]; ok {
				out[i].Attributes = append(out[i].Attributes, g.Attributes...)
				continue
			}
			idx[k] = len(out)
			out = append(out, g)
		}
		clear(u.Groups[len(out):])
		u.Groups = out
	}
	for _, g := range u.Groups {
		g.Attributes = mergeAttributes(g.Attributes)
	}
	for _, st := range u.Statements {
		st.Attributes = mergeAttributes(st.Attributes)
	}
}

func mergeAttributes(l Attributes) Attributes {
	if len(l) < 2 {
		return l
	}
	idx := make(map[attrID]int, len(l))
	out := l[:0]
	for _, a := range l {
		k := attrID{a.Name, a.Type}
		if i, ok := idx[k]; ok {
			out[i].Values = append(out[i].Values, a.Values...)
			continue
		}
		idx[k] = len(out)
		out = append(out, a)
	}
	clear(l[len(out):])
	return out
}

func readXMLStatement(n *xnode, u *STSUU, lim Limits) error {
	if err := checkXMLAttrs(n, "id"); err != nil {
		return err
	}
	id, _ := n.attr("", "id")
	s := &AttributeStatement{ID: id}
	if err := readXMLAttributes(n, &s.Attributes, lim); err != nil {
		return err
	}
	if s.ID == "" && len(s.Attributes) == 0 {
		return nil
	}
	u.Statements = append(u.Statements, s)
	return nil
}

// XML writes the STSUU in ISAM's text form (ISAM-COMPAT §1.1, §5): prefix
// stsuuser, no whitespace between elements, every section present in the
// order Principal, GroupList, AttributeList, RequestSecurityToken,
// ContextAttributes, then the additional attribute statements. Empty
// sections are written as empty-element tags (<stsuuser:RequestSecurityToken/>),
// and an empty <stsuuser:AdditionalAttributeStatement/> always closes the
// document, after the statements if there are any, as ISAM writes it:
// mapping rules cut the text on these element texts. (The parsers drop
// statements with neither id nor attributes, so the marker never becomes
// content.)
//
// String values are written as text. Other values carry a chainsts:type
// attribute (namespace declared on the Value itself, so that any cut-out
// section stays well-formed) and their ISAM string view as text: numbers as
// their literal, booleans, arrays and objects as JSON, null as empty text.
// XML values holding elements are written as markup. Strings holding
// characters XML cannot carry are written as a JSON string with
// chainsts:type="string".
func (u *STSUU) XML() []byte {
	var b strings.Builder
	b.WriteString(`<stsuuser:STSUniversalUser xmlns:stsuuser="` + NamespaceSTSUU + `">`)
	writeXMLSection(&b, "Principal", u.Principal)
	if len(u.Groups) == 0 {
		b.WriteString("<stsuuser:GroupList/>")
	} else {
		b.WriteString("<stsuuser:GroupList>")
		for _, g := range u.Groups {
			b.WriteString(`<stsuuser:Group name="`)
			escapeXMLAttr(&b, g.Name)
			b.WriteString(`" type="`)
			escapeXMLAttr(&b, g.Type)
			b.WriteByte('"')
			if len(g.Attributes) == 0 {
				b.WriteString("/>")
				continue
			}
			b.WriteByte('>')
			for _, a := range g.Attributes {
				writeXMLAttribute(&b, a)
			}
			b.WriteString("</stsuuser:Group>")
		}
		b.WriteString("</stsuuser:GroupList>")
	}
	writeXMLSection(&b, "AttributeList", u.Attributes)
	writeXMLSection(&b, "RequestSecurityToken", u.RST)
	writeXMLSection(&b, "ContextAttributes", u.Context)
	for _, s := range u.Statements {
		if s.ID == "" && len(s.Attributes) == 0 {
			continue
		}
		b.WriteString("<stsuuser:AdditionalAttributeStatement")
		if s.ID != "" {
			b.WriteString(` id="`)
			escapeXMLAttr(&b, s.ID)
			b.WriteByte('"')
		}
		if len(s.Attributes) == 0 {
			b.WriteString("/>")
			continue
		}
		b.WriteByte('>')
		for _, a := range s.Attributes {
			writeXMLAttribute(&b, a)
		}
		b.WriteString("</stsuuser:AdditionalAttributeStatement>")
	}
	b.WriteString("<stsuuser:AdditionalAttributeStatement/>")
	b.WriteString("</stsuuser:STSUniversalUser>")
	return []byte(b.String())
}

func writeXMLSection(b *strings.Builder, name string, attrs Attributes) {
	if len(attrs) == 0 {
		b.WriteString("<stsuuser:" + name + "/>")
		return
	}
	b.WriteString("<stsuuser:" + name + ">")
	for _, a := range attrs {
		writeXMLAttribute(b, a)
	}
	b.WriteString("</stsuuser:" + name + ">")
}

func writeXMLAttribute(b *strings.Builder, a *Attribute) {
	b.WriteString(`<stsuuser:Attribute name="`)
	escapeXMLAttr(b, a.Name)
	b.WriteString(`" type="`)
	escapeXMLAttr(b, a.Type)
	b.WriteByte('"')
	if a.Nickname != "" {
		b.WriteString(` nickname="`)
		escapeXMLAttr(b, a.Nickname)
		b.WriteByte('"')
	}
	if len(a.Values) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	for _, v := range a.Values {
		writeXMLValue(b, v)
	}
	b.WriteString("</stsuuser:Attribute>")
}

const typedValueStart = `<stsuuser:Value xmlns:chainsts="` + NamespaceChainsts + `" chainsts:type="`

func writeXMLValue(b *strings.Builder, v any) {
	kind := KindOf(v)
	switch kind {
	case KindString:
		s := v.(string)
		if isXMLSafe(s) {
			b.WriteString("<stsuuser:Value>")
			escapeXMLText(b, s)
			b.WriteString("</stsuuser:Value>")
			return
		}
		var buf bytes.Buffer
		writeJSONString(&buf, s)
		writeTypedXMLValue(b, KindString, buf.String())
	case KindXML:
		x, err := parseXMLFragmentLimits(string(v.(XML)), Limits{MaxBytes: len(v.(XML)) + 1})
		if err == nil && strings.Contains(string(x), "<") {
			b.WriteString("<stsuuser:Value>")
			b.WriteString(string(x))
			b.WriteString("</stsuuser:Value>")
			return
		}
		if err != nil {
			// Not well-formed: keep the text, as a string, rather than write
			// a document nobody can read back.
			writeXMLValue(b, string(v.(XML)))
			return
		}
		writeTypedXMLValue(b, KindXML, string(x))
	case KindNull:
		b.WriteString(typedValueStart + "null\"/>")
	case KindNumber, KindBool, KindArray, KindObject:
		var buf bytes.Buffer
		writeJSONValue(&buf, v)
		writeTypedXMLValue(b, kind, buf.String())
	default:
		// Not a normalized value; write its string view rather than lose it.
		writeXMLValue(b, StringValue(v))
	}
}

func writeTypedXMLValue(b *strings.Builder, kind Kind, text string) {
	b.WriteString(typedValueStart)
	b.WriteString(string(kind))
	b.WriteString(`">`)
	escapeXMLText(b, text)
	b.WriteString("</stsuuser:Value>")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "..."
}

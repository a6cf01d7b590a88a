package sts

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// The safe XML reader behind ParseXML and ParseXMLFragment. It reads with
// encoding/xml's RawToken and resolves namespaces itself, so that it knows
// the prefixes as written: XML values (the RST Claims element) are written
// back with their own prefixes and made self-contained.
//
// Safety: any directive (<!DOCTYPE, <!ENTITY ...) is refused, so there is no
// DTD, no entity expansion and no external resource; only the five
// predefined entities and character references are understood. Input size
// and element depth are capped; a declared encoding other than UTF-8 is
// refused (no CharsetReader).

const xmlNamespaceURI = "http://www.w3.org/XML/1998/namespace"

// xnode is an element or, when elem is false, a run of text.
type xnode struct {
	elem     bool
	text     string // text nodes only, set from buf when the element ends
	buf      []byte
	prefix   string
	local    string
	space    string  // resolved namespace URI
	attrs    []xattr // in document order, namespace declarations included
	children []*xnode
	// ns holds the namespace declarations made on this element, prefix
	// ("" for the default namespace) to URI; lookups walk up through
	// parent. (Copying the whole scope into every element would let a
	// document with many declarations and many elements cost quadratic
	// time.)
	ns     map[string]string
	parent *xnode
}

type xattr struct {
	prefix string // "xmlns" for a prefixed declaration
	local  string // "xmlns" with an empty prefix for a default declaration
	space  string // resolved namespace URI; "" for unprefixed attributes
	value  string
}

func (a xattr) isDecl() bool {
	return a.prefix == "xmlns" || (a.prefix == "" && a.local == "xmlns")
}

func (a xattr) qname() string {
	if a.prefix == "" {
		return a.local
	}
	return a.prefix + ":" + a.local
}

func (n *xnode) qname() string {
	if n.prefix == "" {
		return n.local
	}
	return n.prefix + ":" + n.local
}

// attr returns the value of the attribute with the namespace and local name.
func (n *xnode) attr(space, local string) (string, bool) {
	for _, a := range n.attrs {
		if !a.isDecl() && a.space == space && a.local == local {
			return a.value, true
		}
	}
	return "", false
}

// hasElements reports whether the node has element children.
func (n *xnode) hasElements() bool {
	for _, c := range n.children {
		if c.elem {
			return true
		}
	}
	return false
}

// textContent concatenates the node's direct text children.
func (n *xnode) textContent() string {
	var b strings.Builder
	for _, c := range n.children {
		if !c.elem {
			b.WriteString(c.text)
		}
	}
	return b.String()
}

var errXMLDirective = errors.New("DTDs and other <! directives are not allowed")

// readXMLTree parses data into a tree with one root element.
func readXMLTree(data []byte, lim Limits) (*xnode, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("document is %d bytes, larger than the limit of %d", len(data), lim.MaxBytes)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var (
		root  *xnode
		stack []*xnode
	)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("malformed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, fmt.Errorf("line %d: content after the root element", lineOf(data, d.InputOffset()))
			}
			if len(stack)+1 > lim.MaxDepth {
				return nil, fmt.Errorf("elements nested deeper than the limit of %d", lim.MaxDepth)
			}
			var parent *xnode
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			n, err := newXNode(t, parent)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", lineOf(data, d.InputOffset()), err)
			}
			if len(stack) == 0 {
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("line %d: unexpected end element", lineOf(data, d.InputOffset()))
			}
			top := stack[len(stack)-1]
			if t.Name.Space != top.prefix || t.Name.Local != top.local {
				return nil, fmt.Errorf("line %d: element <%s> closed by </%s>", lineOf(data, d.InputOffset()), top.qname(), rawQName(t.Name))
			}
			for _, c := range top.children {
				if !c.elem {
					c.text, c.buf = string(c.buf), nil
				}
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.Trim(t, " \t\r\n")) != 0 {
					return nil, fmt.Errorf("line %d: text outside the root element", lineOf(data, d.InputOffset()))
				}
				continue
			}
			p := stack[len(stack)-1]
			if k := len(p.children); k > 0 && !p.children[k-1].elem {
				// Text split by comments or CDATA sections: grow a buffer
				// rather than concatenate strings, which would be quadratic
				// on "a<!---->a<!---->...".
				p.children[k-1].buf = append(p.children[k-1].buf, t...)
			} else {
				p.children = append(p.children, &xnode{buf: append([]byte(nil), t...)})
			}
		case xml.Directive:
			return nil, errXMLDirective
		case xml.ProcInst, xml.Comment:
			// The XML declaration is checked by the decoder (version, and an
			// encoding other than UTF-8 fails without a CharsetReader). Other
			// processing instructions and comments carry no content.
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("element <%s> is not closed", stack[len(stack)-1].qname())
	}
	return root, nil
}

func rawQName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

func lineOf(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}

// newXNode builds an element from a raw start tag, applying its namespace
// declarations.
func newXNode(t xml.StartElement, parent *xnode) (*xnode, error) {
	n := &xnode{elem: true, prefix: t.Name.Space, local: t.Name.Local, parent: parent}
	if n.local == "" || strings.Contains(n.local, ":") {
		return nil, fmt.Errorf("invalid element name %q", rawQName(t.Name))
	}
	seen := make(map[string]bool, len(t.Attr))
	for _, a := range t.Attr {
		q := rawQName(a.Name)
		if seen[q] {
			return nil, fmt.Errorf("element <%s> repeats attribute %q", n.qname(), q)
		}
		seen[q] = true
		xa := xattr{prefix: a.Name.Space, local: a.Name.Local, value: a.Value}
		n.attrs = append(n.attrs, xa)
		if !xa.isDecl() {
			continue
		}
		p := xa.local
		if xa.prefix == "" {
			p = ""
		}
		if p == "xml" || p == "xmlns" || xa.value == xmlNamespaceURI {
			return nil, fmt.Errorf("element <%s> redeclares a reserved namespace", n.qname())
		}
		if p != "" && xa.value == "" {
			return nil, fmt.Errorf("element <%s> undeclares prefix %q", n.qname(), p)
		}
		if n.ns == nil {
			n.ns = make(map[string]string, 1)
		}
		n.ns[p] = xa.value
	}
	sp, err := resolvePrefix(n, n.prefix, true)
	if err != nil {
		return nil, err
	}
	n.space = sp
	for i := range n.attrs {
		a := &n.attrs[i]
		if a.isDecl() || a.prefix == "" {
			continue
		}
		if a.space, err = resolvePrefix(n, a.prefix, false); err != nil {
			return nil, err
		}
	}
	// Two attributes with different prefixes bound to the same namespace are
	// the same attribute (Namespaces in XML §6.3).
	seenNS := make(map[[2]string]bool, len(n.attrs))
	for _, a := range n.attrs {
		if a.isDecl() || a.prefix == "" {
			continue
		}
		k := [2]string{a.space, a.local}
		if seenNS[k] {
			return nil, fmt.Errorf("element <%s> repeats attribute {%s}%s", n.qname(), a.space, a.local)
		}
		seenNS[k] = true
	}
	return n, nil
}

// lookupNS returns the URI bound to prefix at n.
func lookupNS(n *xnode, prefix string) (string, bool) {
	for x := n; x != nil; x = x.parent {
		if uri, ok := x.ns[prefix]; ok {
			return uri, true
		}
	}
	return "", false
}

func resolvePrefix(n *xnode, prefix string, element bool) (string, error) {
	switch prefix {
	case "":
		if element {
			uri, _ := lookupNS(n, "")
			return uri, nil
		}
		return "", nil
	case "xml":
		return xmlNamespaceURI, nil
	case "xmlns":
		return "", fmt.Errorf("the xmlns prefix is reserved")
	}
	uri, ok := lookupNS(n, prefix)
	if !ok {
		return "", fmt.Errorf("undeclared namespace prefix %q", prefix)
	}
	return uri, nil
}

// ParseXMLFragment checks that s is well-formed XML content (elements and
// text, as found inside an element) and returns its canonical form as an
// XML value: comments and processing instructions removed, surrounding
// whitespace trimmed, empty elements written as <a/>, and the namespace
// declarations it relies on made explicit. DTDs and entity declarations are
// refused, and the DefaultLimits apply.
func ParseXMLFragment(s string) (XML, error) {
	return parseXMLFragmentLimits(s, DefaultLimits)
}

// fragmentWrapper wraps fragment content so that the tree reader can parse
// it; the reader refuses a second root, so content cannot close the wrapper
// early.
const fragmentWrapper = "chainsts-fragment"

func parseXMLFragmentLimits(s string, lim Limits) (XML, error) {
	lim = lim.withDefaults()
	if len(s) > lim.MaxBytes {
		return "", fmt.Errorf("XML value is %d bytes, larger than the limit of %d", len(s), lim.MaxBytes)
	}
	data := make([]byte, 0, len(s)+2*len(fragmentWrapper)+5)
	data = append(data, "<"+fragmentWrapper+">"...)
	data = append(data, s...)
	data = append(data, "</"+fragmentWrapper+">"...)
	lim.MaxBytes += 2*len(fragmentWrapper) + 5
	lim.MaxDepth++
	root, err := readXMLTree(data, lim)
	if err != nil {
		return "", err
	}
	if root.local != fragmentWrapper || root.prefix != "" {
		return "", errors.New("malformed XML value")
	}
	return XML(serializeFragment(root)), nil
}

// serializeFragment writes the content of n (not n itself) in canonical form.
// Each top-level element gets declarations for the prefixes its subtree uses
// that are bound outside the fragment, so the result stands on its own.
func serializeFragment(n *xnode) string {
	var b strings.Builder
	for _, c := range n.children {
		if !c.elem {
			escapeXMLText(&b, c.text)
			continue
		}
		used := map[string]bool{}
		collectPrefixes(c, used)
		var extra []xattr
		for _, p := range sortedKeys(used) {
			if declares(c, p) {
				continue
			}
			uri, ok := lookupNS(n, p)
			if !ok || (p == "" && uri == "") {
				continue
			}
			if p == "" {
				extra = append(extra, xattr{local: "xmlns", value: uri})
			} else {
				extra = append(extra, xattr{prefix: "xmlns", local: p, value: uri})
			}
		}
		writeXNode(&b, c, extra)
	}
	return strings.Trim(b.String(), " \t\r\n")
}

func declares(n *xnode, prefix string) bool {
	for _, a := range n.attrs {
		if prefix == "" && a.prefix == "" && a.local == "xmlns" {
			return true
		}
		if prefix != "" && a.prefix == "xmlns" && a.local == prefix {
			return true
		}
	}
	return false
}

func collectPrefixes(n *xnode, used map[string]bool) {
	if n.prefix != "xml" {
		used[n.prefix] = true
	}
	for _, a := range n.attrs {
		if !a.isDecl() && a.prefix != "" && a.prefix != "xml" {
			used[a.prefix] = true
		}
	}
	for _, c := range n.children {
		if c.elem {
			collectPrefixes(c, used)
		}
	}
}

func writeXNode(b *strings.Builder, n *xnode, extra []xattr) {
	b.WriteByte('<')
	b.WriteString(n.qname())
	for _, list := range [][]xattr{n.attrs, extra} {
		for _, a := range list {
			b.WriteByte(' ')
			b.WriteString(a.qname())
			b.WriteString(`="`)
			escapeXMLAttr(b, a.value)
			b.WriteByte('"')
		}
	}
	if len(n.children) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	for _, c := range n.children {
		if c.elem {
			writeXNode(b, c, nil)
		} else {
			escapeXMLText(b, c.text)
		}
	}
	b.WriteString("</")
	b.WriteString(n.qname())
	b.WriteByte('>')
}

// escapeXMLText escapes character data. A carriage return is written as a
// reference because a parser would otherwise normalize it away.
func escapeXMLText(b *strings.Builder, s string) { escapeXML(b, s, false) }

// escapeXMLAttr escapes an attribute value, keeping tabs and line breaks as
// references so that attribute-value normalization leaves them intact.
// Characters XML cannot carry at all (only Go code can put them in a name;
// the parsers refuse them) become U+FFFD, so the output stays well-formed.
func escapeXMLAttr(b *strings.Builder, s string) {
	if !isXMLSafe(s) {
		s = strings.Map(func(r rune) rune {
			if isXMLChar(r) {
				return r
			}
			return utf8.RuneError
		}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	}
	escapeXML(b, s, true)
}

// escapeXML writes s with the markup characters escaped; in an attribute
// value also the quote, tab and line feed.
func escapeXML(b *strings.Builder, s string, attr bool) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch c := s[i]; {
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '\r':
			esc = "&#xD;"
		case attr && c == '"':
			esc = "&quot;"
		case attr && c == '\t':
			esc = "&#x9;"
		case attr && c == '\n':
			esc = "&#xA;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.WriteString(s[last:])
}

// isXMLSafe reports whether s is valid UTF-8 made only of characters XML 1.0
// allows, so it can be written as character data as is.
func isXMLSafe(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !isXMLChar(r) {
			return false
		}
	}
	return true
}

// isXMLChar reports whether r is a Char of XML 1.0 (§2.2).
func isXMLChar(r rune) bool {
	switch {
	case r == 0x09 || r == 0x0A || r == 0x0D:
		return true
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

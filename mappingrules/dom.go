package mappingrules

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dop251/goja"
)

// The DOM subset rules use on elements (ISAM-COMPAT §5): documents from
// stsuu.toXML(), elements from stringToXMLElement and LocalSTSClient
// results. Prefixes are kept as written so getNodeName and serialization
// round-trip; namespaces are resolved for the *NS methods.

type domKind int

const (
	domDocument domKind = iota
	domElement
	domText
)

// domMaxDepth and domMaxNodes bound what a rule can parse.
const (
	domMaxDepth = 64
	domMaxNodes = 20000
)

type domAttr struct {
	prefix, local, value string
}

func (a domAttr) qname() string {
	if a.prefix == "" {
		return a.local
	}
	return a.prefix + ":" + a.local
}

type domNode struct {
	kind     domKind
	prefix   string
	local    string
	attrs    []domAttr
	text     string
	children []*domNode
	parent   *domNode
}

func (n *domNode) qname() string {
	if n.prefix == "" {
		return n.local
	}
	return n.prefix + ":" + n.local
}

// lookupNS resolves a prefix through the element and its ancestors.
func (n *domNode) lookupNS(prefix string) string {
	for e := n; e != nil; e = e.parent {
		for _, a := range e.attrs {
			if prefix == "" && a.prefix == "" && a.local == "xmlns" {
				return a.value
			}
			if prefix != "" && a.prefix == "xmlns" && a.local == prefix {
				return a.value
			}
		}
	}
	if prefix == "xml" {
		return "http://www.w3.org/XML/1998/namespace"
	}
	return ""
}

func (n *domNode) namespaceURI() string {
	if n.kind != domElement {
		return ""
	}
	return n.lookupNS(n.prefix)
}

func (n *domNode) firstElement() *domNode {
	for _, c := range n.children {
		if c.kind == domElement {
			return c
		}
	}
	return nil
}

func (n *domNode) textContent() string {
	if n.kind == domText {
		return n.text
	}
	var b strings.Builder
	var walk func(*domNode)
	walk = func(m *domNode) {
		for _, c := range m.children {
			if c.kind == domText {
				b.WriteString(c.text)
			} else {
				walk(c)
			}
		}
	}
	walk(n)
	return b.String()
}

// elements collects descendant elements matching a predicate, in document
// order.
func (n *domNode) elements(match func(*domNode) bool) []*domNode {
	var out []*domNode
	var walk func(*domNode)
	walk = func(m *domNode) {
		for _, c := range m.children {
			if c.kind == domElement {
				if match(c) {
					out = append(out, c)
				}
				walk(c)
			}
		}
	}
	walk(n)
	return out
}

func parseDOM(s string) (*domNode, error) {
	dec := xml.NewDecoder(strings.NewReader(s))
	doc := &domNode{kind: domDocument}
	cur := doc
	depth, count := 0, 0
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("malformed XML: %w", err)
		}
		count++
		if count > domMaxNodes {
			return nil, fmt.Errorf("XML has more than %d nodes", domMaxNodes)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > domMaxDepth {
				return nil, fmt.Errorf("XML nested deeper than %d", domMaxDepth)
			}
			e := &domNode{kind: domElement, prefix: t.Name.Space, local: t.Name.Local, parent: cur}
			for _, a := range t.Attr {
				e.attrs = append(e.attrs, domAttr{prefix: a.Name.Space, local: a.Name.Local, value: a.Value})
			}
			cur.children = append(cur.children, e)
			cur = e
		case xml.EndElement:
			if cur.kind != domElement || cur.local != t.Name.Local || cur.prefix != t.Name.Space {
				return nil, fmt.Errorf("malformed XML: unexpected end element %s", t.Name.Local)
			}
			depth--
			cur = cur.parent
		case xml.CharData:
			if cur == doc {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, fmt.Errorf("malformed XML: text outside the root element")
				}
				continue
			}
			cur.children = append(cur.children, &domNode{kind: domText, text: string(t), parent: cur})
		case xml.Directive:
			return nil, fmt.Errorf("XML directives (DOCTYPE) are not accepted")
		}
	}
	if cur != doc {
		return nil, fmt.Errorf("malformed XML: unclosed element %s", cur.qname())
	}
	if doc.firstElement() == nil {
		return nil, fmt.Errorf("malformed XML: no root element")
	}
	return doc, nil
}

// serialize writes the node as XML. An element cut out of a larger
// document gets the namespace declarations it inherits, so the text stands
// on its own.
func (n *domNode) serialize() string {
	var b strings.Builder
	switch n.kind {
	case domDocument:
		for _, c := range n.children {
			c.write(&b, nil)
		}
	case domText:
		xml.EscapeText(&b, []byte(n.text))
	default:
		n.write(&b, n.inheritedDecls())
	}
	return b.String()
}

func (n *domNode) inheritedDecls() []domAttr {
	declared := map[string]bool{}
	for _, a := range n.attrs {
		if a.prefix == "xmlns" {
			declared[a.local] = true
		} else if a.prefix == "" && a.local == "xmlns" {
			declared[""] = true
		}
	}
	var out []domAttr
	for e := n.parent; e != nil; e = e.parent {
		for _, a := range e.attrs {
			p := ""
			switch {
			case a.prefix == "xmlns":
				p = a.local
			case a.prefix == "" && a.local == "xmlns":
			default:
				continue
			}
			if !declared[p] {
				declared[p] = true
				out = append(out, a)
			}
		}
	}
	return out
}

func (n *domNode) write(b *strings.Builder, extra []domAttr) {
	if n.kind == domText {
		xml.EscapeText(b, []byte(n.text))
		return
	}
	b.WriteString("<" + n.qname())
	for _, a := range append(extra, n.attrs...) {
		b.WriteString(" " + a.qname() + `="`)
		xml.EscapeText(b, []byte(a.value))
		b.WriteString(`"`)
	}
	if len(n.children) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteString(">")
	for _, c := range n.children {
		c.write(b, nil)
	}
	b.WriteString("</" + n.qname() + ">")
}

// newElement builds a detached element (BinarySecurityToken results).
func newElement(prefix, local string, attrs []domAttr, text string) *domNode {
	e := &domNode{kind: domElement, prefix: prefix, local: local, attrs: attrs}
	if text != "" {
		e.children = []*domNode{{kind: domText, text: text, parent: e}}
	}
	doc := &domNode{kind: domDocument, children: []*domNode{e}}
	e.parent = doc
	return e
}

func (rt *vmRT) wrapNode(n *domNode) goja.Value {
	if n == nil {
		return goja.Null()
	}
	if n.kind == domDocument {
		return rt.wrap(n, rt.docProto)
	}
	return rt.wrap(n, rt.nodeProto)
}

type nodeList []*domNode

func (rt *vmRT) installDOM() {
	vm := rt.vm
	rt.nodeProto = vm.NewObject()
	rt.docProto = vm.NewObject()
	rt.listProto = vm.NewObject()
	node := func(c goja.FunctionCall) *domNode { return thisAs[*domNode](rt, c, "Node") }
	list := func(ns []*domNode) goja.Value { return rt.wrap(nodeList(ns), rt.listProto) }
	byTag := func(c goja.FunctionCall) goja.Value {
		name := argStr(c, 0)
		return list(node(c).elements(func(e *domNode) bool {
			return name == "*" || e.qname() == name || e.local == name
		}))
	}
	byTagNS := func(c goja.FunctionCall) goja.Value {
		ns, local := argStr(c, 0), argStr(c, 1)
		return list(node(c).elements(func(e *domNode) bool {
			return (ns == "*" || e.namespaceURI() == ns) && (local == "*" || e.local == local)
		}))
	}
	common := map[string]method{
		"getElementsByTagName":   byTag,
		"getElementsByTagNameNS": byTagNS,
		"getTextContent": func(c goja.FunctionCall) goja.Value {
			n := node(c)
			if n.kind == domDocument {
				return goja.Null()
			}
			return vm.ToValue(n.textContent())
		},
		"getNodeName": func(c goja.FunctionCall) goja.Value {
			n := node(c)
			switch n.kind {
			case domDocument:
				return vm.ToValue("#document")
			case domText:
				return vm.ToValue("#text")
			}
			return vm.ToValue(n.qname())
		},
		"getLocalName": func(c goja.FunctionCall) goja.Value {
			n := node(c)
			return rt.strOrNull(n.local, n.kind == domElement)
		},
		"getPrefix": func(c goja.FunctionCall) goja.Value {
			n := node(c)
			return rt.strOrNull(n.prefix, n.kind == domElement && n.prefix != "")
		},
		"getNamespaceURI": func(c goja.FunctionCall) goja.Value {
			ns := node(c).namespaceURI()
			return rt.strOrNull(ns, ns != "")
		},
		"getNodeType": func(c goja.FunctionCall) goja.Value {
			switch node(c).kind {
			case domDocument:
				return vm.ToValue(9)
			case domText:
				return vm.ToValue(3)
			}
			return vm.ToValue(1)
		},
		"getNodeValue": func(c goja.FunctionCall) goja.Value {
			n := node(c)
			return rt.strOrNull(n.text, n.kind == domText)
		},
		"getFirstChild": func(c goja.FunctionCall) goja.Value {
			n := node(c)
			if len(n.children) == 0 {
				return goja.Null()
			}
			return rt.wrapNode(n.children[0])
		},
		"getChildNodes": func(c goja.FunctionCall) goja.Value {
			return list(node(c).children)
		},
		"getParentNode": func(c goja.FunctionCall) goja.Value {
			return rt.wrapNode(node(c).parent)
		},
		"getAttribute": func(c goja.FunctionCall) goja.Value {
			name := argStr(c, 0)
			for _, a := range node(c).attrs {
				if a.qname() == name {
					return vm.ToValue(a.value)
				}
			}
			// Java's DOM answers "" for an absent attribute.
			return vm.ToValue("")
		},
		"hasAttribute": func(c goja.FunctionCall) goja.Value {
			name := argStr(c, 0)
			for _, a := range node(c).attrs {
				if a.qname() == name {
					return vm.ToValue(true)
				}
			}
			return vm.ToValue(false)
		},
		"getAttributeNS": func(c goja.FunctionCall) goja.Value {
			ns, local := argStr(c, 0), argStr(c, 1)
			n := node(c)
			for _, a := range n.attrs {
				if a.local != local || a.prefix == "xmlns" {
					continue
				}
				aNS := ""
				if a.prefix != "" {
					aNS = n.lookupNS(a.prefix)
				}
				if aNS == ns {
					return vm.ToValue(a.value)
				}
			}
			return vm.ToValue("")
		},
		"getTagName": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(node(c).qname())
		},
		"toString": func(c goja.FunctionCall) goja.Value {
			n := node(c)
			if n.kind == domText {
				return vm.ToValue(n.text)
			}
			return vm.ToValue("[" + n.qname() + ": null]")
		},
	}
	rt.methods(rt.nodeProto, common)
	rt.methods(rt.docProto, common)
	rt.methods(rt.docProto, map[string]method{
		"getDocumentElement": func(c goja.FunctionCall) goja.Value {
			return rt.wrapNode(node(c).firstElement())
		},
	})
	rt.methods(rt.listProto, map[string]method{
		"getLength": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(len(thisAs[nodeList](rt, c, "NodeList")))
		},
		"item": func(c goja.FunctionCall) goja.Value {
			l := thisAs[nodeList](rt, c, "NodeList")
			i := int(c.Argument(0).ToInteger())
			if i < 0 || i >= len(l) {
				return goja.Null()
			}
			return rt.wrapNode(l[i])
		},
	})
}

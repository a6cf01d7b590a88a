package chains

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Limits on configuration input. A configuration is written by an operator,
// but `chainsts check` may be pointed at anything, and aliases can make a
// small file expand exponentially (the "billion laughs" shape).
const (
	maxConfigFileSize = 8 << 20
	maxExpandedNodes  = 100_000
	// maxDecodeRetries bounds how many problems are collected from one
	// component's configuration (each problem costs one decode attempt).
	maxDecodeRetries = 32
)

// entry is one key of a YAML mapping with its value, merge keys expanded.
type entry struct {
	key   string
	keyN  ast.Node
	value ast.Node
}

// located is a YAML node with the file it came from and its YAML path.
type located struct {
	file string
	node ast.Node
	path string
}

// nodePos returns the line and column where a node starts; a block mapping
// is placed at its first key, which is where a reader looks for it.
func nodePos(n ast.Node) (int, int) {
	switch x := n.(type) {
	case nil:
		return 0, 0
	case *ast.MappingNode:
		if len(x.Values) > 0 && x.Values[0].Key != nil {
			return nodePos(x.Values[0].Key)
		}
	case *ast.MappingValueNode:
		if x.Key != nil {
			return nodePos(x.Key)
		}
	case *ast.DocumentNode:
		return nodePos(x.Body)
	}
	return tokenPos(n.GetToken())
}

func tokenPos(t *token.Token) (int, int) {
	if t == nil || t.Position == nil {
		return 0, 0
	}
	return t.Position.Line, t.Position.Column
}

// unwrap strips anchors and tags, which carry no meaning for the core
// sections.
func unwrap(n ast.Node) ast.Node {
	for i := 0; i < 64; i++ {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			n = x.Value
		default:
			return n
		}
	}
	return n
}

// isNull reports whether a node is absent or an explicit null.
func isNull(n ast.Node) bool {
	n = unwrap(n)
	if n == nil {
		return true
	}
	_, ok := n.(*ast.NullNode)
	return ok
}

// kindName names a node's YAML kind for error messages.
func kindName(n ast.Node) string {
	switch unwrap(n).(type) {
	case nil, *ast.NullNode:
		return "null"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	}
	return "an unsupported value"
}

// scalarString returns a scalar's text: a string's value, or a number's or
// boolean's literal as written (so `client_id: 0123` stays "0123").
func scalarString(n ast.Node) (string, bool) {
	switch x := unwrap(n).(type) {
	case *ast.StringNode:
		return x.Value, true
	case *ast.LiteralNode:
		if x.Value == nil {
			return "", true
		}
		return x.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		if t := x.GetToken(); t != nil {
			return t.Value, true
		}
	}
	return "", false
}

// keyString returns a mapping key's text.
func keyString(n ast.Node) (string, bool) {
	if k, ok := unwrap(n).(*ast.MappingKeyNode); ok {
		return keyString(k.Value)
	}
	return scalarString(n)
}

// mappingEntries returns the entries of a mapping node in order, with merge
// keys (`<<: *defaults`) expanded below the explicit keys. ok is false when
// the node is not a mapping. Keys that are not scalars are returned with an
// empty key string for the caller to report.
func mappingEntries(n ast.Node) ([]entry, bool) {
	return mappingEntriesDepth(n, 0)
}

func mappingEntriesDepth(n ast.Node, depth int) ([]entry, bool) {
	var values []*ast.MappingValueNode
	switch x := unwrap(n).(type) {
	case *ast.MappingNode:
		values = x.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{x}
	default:
		return nil, false
	}
	var explicit, merged []entry
	for _, mv := range values {
		if mv == nil || mv.Key == nil {
			continue
		}
		if mv.Key.IsMergeKey() {
			if depth > 16 {
				continue
			}
			var sources []ast.Node
			if seq, ok := unwrap(mv.Value).(*ast.SequenceNode); ok {
				sources = seq.Values
			} else {
				sources = []ast.Node{mv.Value}
			}
			for _, s := range sources {
				if es, ok := mappingEntriesDepth(s, depth+1); ok {
					merged = append(merged, es...)
				}
			}
			continue
		}
		k, _ := keyString(mv.Key)
		explicit = append(explicit, entry{key: k, keyN: mv.Key, value: mv.Value})
	}
	if len(merged) == 0 {
		return explicit, true
	}
	seen := make(map[string]bool, len(explicit))
	for _, e := range explicit {
		seen[e.key] = true
	}
	out := explicit
	for _, e := range merged {
		if !seen[e.key] {
			seen[e.key] = true
			out = append(out, e)
		}
	}
	return out, true
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// childPath appends a mapping key to a YAML path.
func childPath(path, key string) string {
	if plainKey.MatchString(key) {
		return path + "." + key
	}
	return path + "['" + strings.ReplaceAll(key, "'", "''") + "']"
}

// indexPath appends a sequence index to a YAML path.
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// parsedFile is one configuration file, parsed, with aliases resolved.
type parsedFile struct {
	name string
	body ast.Node // nil for an empty file
}

// parseYAML parses one configuration file. Aliases are replaced by the node
// they refer to so that every part of the tree can be decoded on its own.
func parseYAML(name string, data []byte, ps *problemSet) *parsedFile {
	pf := &parsedFile{name: name}
	if len(data) > maxConfigFileSize {
		ps.add(SeverityError, name, nil, "", "file is larger than %d bytes", maxConfigFileSize)
		return nil
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		ps.addYAMLError(name, err, "$")
		return nil
	}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		return pf
	}
	if len(docs) > 1 {
		ps.add(SeverityError, name, docs[1], "$", "a configuration file holds one YAML document; split the documents into several files of a directory")
		return nil
	}
	r := &aliasResolver{file: name, ps: ps, anchors: map[string]ast.Node{}, sizes: map[ast.Node]int{}}
	body := r.resolve(docs[0].Body, 0)
	if r.failed {
		return nil
	}
	if r.size(body, 0) > maxExpandedNodes {
		ps.add(SeverityError, name, body, "$", "configuration expands to more than %d nodes through aliases", maxExpandedNodes)
		return nil
	}
	pf.body = body
	return pf
}

// aliasResolver replaces each alias with the anchored node, in document
// order. An anchor is registered once its own value is resolved, so an
// alias can never refer to an enclosing node: the result is acyclic.
type aliasResolver struct {
	file    string
	ps      *problemSet
	anchors map[string]ast.Node
	sizes   map[ast.Node]int
	failed  bool
}

const maxNesting = 200

func (r *aliasResolver) resolve(n ast.Node, depth int) ast.Node {
	if n == nil || r.failed {
		return n
	}
	if depth > maxNesting {
		r.ps.add(SeverityError, r.file, n, "", "configuration is nested deeper than %d levels", maxNesting)
		r.failed = true
		return n
	}
	switch x := n.(type) {
	case *ast.AliasNode:
		name := ""
		if x.Value != nil && x.Value.GetToken() != nil {
			name = x.Value.GetToken().Value
		}
		target, ok := r.anchors[name]
		if !ok {
			// Report, and go on with a null so the rest of the file is
			// still checked.
			r.ps.add(SeverityError, r.file, x, "", "alias *%s refers to no anchor defined before it", name)
			return ast.Null(x.Start)
		}
		return target
	case *ast.AnchorNode:
		x.Value = r.resolve(x.Value, depth+1)
		if x.Name != nil && x.Name.GetToken() != nil && x.Value != nil {
			r.anchors[x.Name.GetToken().Value] = x.Value
		}
		if x.Value == nil {
			// An anchor on an empty value is a null; keep the anchor
			// node, which decodes to the zero value.
			return n
		}
		return x.Value
	case *ast.TagNode:
		x.Value = r.resolve(x.Value, depth+1)
	case *ast.MappingNode:
		merge := false
		for _, mv := range x.Values {
			if mv != nil {
				mv.Value = r.resolve(mv.Value, depth+1)
				merge = merge || (mv.Key != nil && mv.Key.IsMergeKey())
			}
		}
		if merge {
			x.Values = expandMerge(x.Values)
		}
	case *ast.MappingValueNode:
		x.Value = r.resolve(x.Value, depth+1)
	case *ast.SequenceNode:
		for i, v := range x.Values {
			x.Values[i] = r.resolve(v, depth+1)
		}
	}
	return n
}

// expandMerge replaces merge keys (`<<: *defaults`, `<<: [*a, *b]`) by the
// entries they bring in, below the mapping's own keys, which win (YAML merge
// key semantics; the decoder would otherwise see duplicate keys).
func expandMerge(values []*ast.MappingValueNode) []*ast.MappingValueNode {
	var explicit, merged []*ast.MappingValueNode
	for _, mv := range values {
		if mv == nil || mv.Key == nil {
			continue
		}
		if !mv.Key.IsMergeKey() {
			explicit = append(explicit, mv)
			continue
		}
		var sources []ast.Node
		if seq, ok := unwrap(mv.Value).(*ast.SequenceNode); ok {
			sources = seq.Values
		} else {
			sources = []ast.Node{mv.Value}
		}
		for _, src := range sources {
			if m, ok := unwrap(src).(*ast.MappingNode); ok {
				merged = append(merged, m.Values...)
			} else {
				// Not a mapping: keep the merge key for the decoder
				// to report.
				explicit = append(explicit, mv)
			}
		}
	}
	seen := map[string]bool{}
	for _, mv := range explicit {
		if k, ok := keyString(mv.Key); ok {
			seen[k] = true
		}
	}
	out := explicit
	for _, mv := range merged {
		k, ok := keyString(mv.Key)
		if ok && seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, mv)
	}
	return out
}

// size counts the nodes a tree expands to, memoized per shared node.
func (r *aliasResolver) size(n ast.Node, depth int) int {
	if n == nil || depth > maxNesting+1 {
		return 1
	}
	if s, ok := r.sizes[n]; ok {
		return s
	}
	s := 1
	switch x := n.(type) {
	case *ast.AnchorNode:
		s += r.size(x.Value, depth+1)
	case *ast.TagNode:
		s += r.size(x.Value, depth+1)
	case *ast.MappingNode:
		for _, mv := range x.Values {
			if mv != nil {
				s += 1 + r.size(mv.Value, depth+1)
			}
			if s > maxExpandedNodes {
				break
			}
		}
	case *ast.MappingValueNode:
		s += 1 + r.size(x.Value, depth+1)
	case *ast.SequenceNode:
		for _, v := range x.Values {
			s += r.size(v, depth+1)
			if s > maxExpandedNodes {
				break
			}
		}
	}
	if s > maxExpandedNodes {
		s = maxExpandedNodes + 1
	}
	r.sizes[n] = s
	return s
}

// findToken returns the YAML path and node of the shallowest mapping entry
// or sequence item under root whose key or value starts at tok.
func findToken(root ast.Node, path string, tok *token.Token) (string, ast.Node, bool) {
	return findTokenDepth(root, path, tok, 0)
}

func findTokenDepth(root ast.Node, path string, tok *token.Token, depth int) (string, ast.Node, bool) {
	if root == nil || tok == nil || depth > maxNesting {
		return "", nil, false
	}
	if root.GetToken() == tok {
		return path, root, true
	}
	switch x := unwrap(root).(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		entries, _ := mappingEntries(x)
		for _, e := range entries {
			if e.keyN.GetToken() == tok || (e.value != nil && e.value.GetToken() == tok) {
				return childPath(path, e.key), e.keyN, true
			}
		}
		for _, e := range entries {
			if p, n, ok := findTokenDepth(e.value, childPath(path, e.key), tok, depth+1); ok {
				return p, n, true
			}
		}
	case *ast.SequenceNode:
		for i, v := range x.Values {
			if v != nil && v.GetToken() == tok {
				return indexPath(path, i), v, true
			}
		}
		for i, v := range x.Values {
			if p, n, ok := findTokenDepth(v, indexPath(path, i), tok, depth+1); ok {
				return p, n, true
			}
		}
	}
	return "", nil, false
}

// prune returns a copy of root without the shallowest mapping entry or
// sequence item whose key or value starts at tok. The original tree is not
// modified (nodes may be shared through aliases). ok is false when nothing
// was removed.
func prune(root ast.Node, tok *token.Token, depth int) (ast.Node, bool) {
	if root == nil || tok == nil || depth > maxNesting {
		return root, false
	}
	switch x := unwrap(root).(type) {
	case *ast.MappingNode:
		for i, mv := range x.Values {
			if mv == nil || mv.Key == nil {
				continue
			}
			if mv.Key.GetToken() == tok || (mv.Value != nil && mv.Value.GetToken() == tok) {
				c := *x
				c.Values = append(append([]*ast.MappingValueNode{}, x.Values[:i]...), x.Values[i+1:]...)
				return &c, true
			}
		}
		for i, mv := range x.Values {
			if mv == nil {
				continue
			}
			if nv, ok := prune(mv.Value, tok, depth+1); ok {
				cmv := *mv
				cmv.Value = nv
				c := *x
				c.Values = append([]*ast.MappingValueNode{}, x.Values...)
				c.Values[i] = &cmv
				return &c, true
			}
		}
	case *ast.MappingValueNode:
		if nv, ok := prune(x.Value, tok, depth+1); ok {
			c := *x
			c.Value = nv
			return &c, true
		}
	case *ast.SequenceNode:
		for i, v := range x.Values {
			if v != nil && v.GetToken() == tok {
				c := *x
				c.Values = append(append([]ast.Node{}, x.Values[:i]...), x.Values[i+1:]...)
				return &c, true
			}
		}
		for i, v := range x.Values {
			if nv, ok := prune(v, tok, depth+1); ok {
				c := *x
				c.Values = append([]ast.Node{}, x.Values...)
				c.Values[i] = nv
				return &c, true
			}
		}
	}
	return root, false
}

// nodeAtPath follows a dotted path ("signing.key", "set[2].name",
// "set.2.name") from root and returns the deepest node reached, its YAML
// path, and whether the whole path was found.
func nodeAtPath(root ast.Node, rootPath, dotted string) (ast.Node, string, bool) {
	node, path := root, rootPath
	if dotted == "" {
		return node, path, true
	}
	for _, seg := range splitPath(dotted) {
		found := false
		switch x := unwrap(node).(type) {
		case *ast.MappingNode, *ast.MappingValueNode:
			entries, _ := mappingEntries(x)
			for _, e := range entries {
				if e.key == seg {
					node, path, found = e.value, childPath(path, e.key), true
					break
				}
			}
		case *ast.SequenceNode:
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(x.Values) {
				node, path, found = x.Values[i], indexPath(path, i), true
			}
		}
		if !found {
			return node, path, false
		}
	}
	return node, path, true
}

func splitPath(p string) []string {
	var out []string
	for _, part := range strings.Split(p, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				out = append(out, part)
				break
			}
			if i > 0 {
				out = append(out, part[:i])
			}
			j := strings.IndexByte(part[i:], ']')
			if j < 0 {
				out = append(out, part[i+1:])
				break
			}
			out = append(out, part[i+1:i+j])
			part = part[i+j+1:]
		}
	}
	return out
}

// decodeStrict decodes node into v (a pointer) with unknown keys refused.
// Every problem is reported, not only the first: after each error the
// offending entry is pruned from a copy of the tree and decoding is retried.
// It reports whether decoding succeeded without problems.
func decodeStrict(v any, loc located, ps *problemSet, what string) (ok bool) {
	if isNull(loc.node) {
		return true
	}
	node := loc.node
	ok = true
	for attempt := 0; attempt < maxDecodeRetries; attempt++ {
		err := safeNodeToValue(node, v)
		if err == nil {
			return ok
		}
		ok = false
		var ye yaml.Error
		if !errors.As(err, &ye) || ye.GetToken() == nil {
			ps.add(SeverityError, loc.file, loc.node, loc.path, "%s: %v", what, err)
			return false
		}
		tok := ye.GetToken()
		path, at, found := findToken(node, loc.path, tok)
		if !found {
			path, at = loc.path, loc.node
		}
		line, col := tokenPos(tok)
		if at != nil {
			if l, c := nodePos(at); l > 0 {
				line, col = l, c
			}
		}
		msg := yamlMessage(ye)
		var ue *yaml.UnknownFieldError
		if errors.As(err, &ue) && found && strings.HasPrefix(path, loc.path) {
			segs := splitPath(strings.TrimPrefix(path, loc.path))
			if len(segs) > 0 {
				names := yamlFieldNames(reflect.TypeOf(v), segs[:len(segs)-1])
				msg += suggest(segs[len(segs)-1], names)
			}
		}
		ps.addAt(SeverityError, loc.file, line, col, path, "%s: %s", what, msg)
		next, pruned := prune(node, tok, 0)
		if !pruned {
			return false
		}
		node = next
	}
	return false
}

// safeNodeToValue shields the loader from panics inside the YAML decoder on
// pathological input: `chainsts check` must report, never crash.
func safeNodeToValue(node ast.Node, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot decode value: %v", r)
		}
	}()
	return yaml.NodeToValue(node, v, yaml.Strict())
}

// yamlFieldNames returns the keys a configuration structure accepts at the
// path segs below t, for "did you mean" suggestions; nil when the path does
// not lead to a structure.
func yamlFieldNames(t reflect.Type, segs []string) []string {
	for depth := 0; t != nil && depth < 64; depth++ {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if len(segs) == 0 {
			break
		}
		seg := segs[0]
		segs = segs[1:]
		switch t.Kind() {
		case reflect.Struct:
			ft, ok := yamlField(t, seg, 0)
			if !ok {
				return nil
			}
			t = ft
		case reflect.Slice, reflect.Array, reflect.Map:
			t = t.Elem()
		default:
			return nil
		}
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	collectYAMLNames(t, &names, 0)
	return names
}

// yamlName returns a struct field's configuration key, whether it is
// inlined, and whether it is decoded at all.
func yamlName(f reflect.StructField) (name string, inline, ok bool) {
	if !f.IsExported() {
		return "", false, false
	}
	tag := f.Tag.Get("yaml")
	if tag == "-" {
		return "", false, false
	}
	parts := strings.Split(tag, ",")
	for _, p := range parts[1:] {
		if p == "inline" {
			inline = true
		}
	}
	name = parts[0]
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name, inline, true
}

func yamlField(t reflect.Type, key string, depth int) (reflect.Type, bool) {
	var found reflect.Type
	eachYAMLField(t, depth, func(name string, ft reflect.Type) bool {
		if name == key {
			found = ft
			return false
		}
		return true
	})
	return found, found != nil
}

func collectYAMLNames(t reflect.Type, out *[]string, depth int) {
	eachYAMLField(t, depth, func(name string, _ reflect.Type) bool {
		*out = append(*out, name)
		return true
	})
}

// eachYAMLField calls fn with the YAML name and type of every field of the
// struct type t, descending into inline structs, until fn returns false.
// It reports whether the walk ran to the end.
func eachYAMLField(t reflect.Type, depth int, fn func(name string, typ reflect.Type) bool) bool {
	if depth > 8 {
		return true
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, inline, ok := yamlName(f)
		if !ok {
			continue
		}
		if inline {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && !eachYAMLField(ft, depth+1, fn) {
				return false
			}
			continue
		}
		if !fn(name, f.Type) {
			return false
		}
	}
	return true
}

// yamlMessage rewrites the YAML library's messages into the configuration's
// vocabulary where they mention Go types.
func yamlMessage(e yaml.Error) string {
	msg := e.GetMessage()
	var ue *yaml.UnknownFieldError
	if errors.As(e, &ue) {
		return strings.Replace(msg, "unknown field", "unknown key", 1)
	}
	var te *yaml.TypeError
	if errors.As(e, &te) && te.DstType != nil {
		if te.SrcType != nil {
			return fmt.Sprintf("must be %s, not %s", typeName(te.DstType), typeName(te.SrcType))
		}
		return fmt.Sprintf("must be %s", typeName(te.DstType))
	}
	var ne *yaml.UnexpectedNodeTypeError
	if errors.As(e, &ne) {
		return fmt.Sprintf("must be %s, not %s", nodeTypeName(ne.Expected), nodeTypeName(ne.Actual))
	}
	return msg
}

// typeName describes a Go type in the configuration's vocabulary.
func typeName(t reflect.Type) string {
	if t == reflect.TypeOf(time.Duration(0)) {
		return "a duration (\"30s\", \"5m\")"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

func nodeTypeName(t ast.NodeType) string {
	switch t {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.StringType, ast.LiteralType:
		return "a string"
	case ast.IntegerType, ast.FloatType:
		return "a number"
	case ast.BoolType:
		return "a boolean"
	case ast.NullType:
		return "null"
	}
	return t.String()
}

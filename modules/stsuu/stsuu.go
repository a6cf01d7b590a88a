package stsuu

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/chainsts/chainsts/sts"
)

func init() { sts.RegisterModule(Module{}) }

// The values of the format key.
const (
	FormatAuto = "auto"
	FormatXML  = "xml"
	FormatJSON = "json"
)

// The values of the rst key.
const (
	RSTMerge = "merge"
	RSTDrop  = "drop"
)

// Limits on the configurable parser bounds, so a typo cannot switch the
// protection off.
const (
	maxMaxBytes = 64 << 20
	maxMaxDepth = 1000
)

// Module is the stsuu module. Each step gets its own instance, decoded from
// the step's configuration.
type Module struct {
	// Format is the document form: for validate auto (the default: '<'
	// means XML, '{' JSON), xml or json; for issue xml (the default) or json.
	Format string `yaml:"format"`
	// RST says what validate does with the document's RequestSecurityToken
	// section: merge (the default) adds its attributes to the chain's
	// RequestSecurityToken section where the current request has no
	// attribute of the same name and type; drop ignores them.
	RST string `yaml:"rst"`
	// MaxBytes and MaxDepth bound the document validate accepts (defaults
	// 1 MiB and 64 levels).
	MaxBytes int `yaml:"max_bytes"`
	MaxDepth int `yaml:"max_depth"`

	mode sts.Mode
}

// STSModule implements sts.Module.
func (Module) STSModule() sts.ModuleInfo {
	return sts.ModuleInfo{
		Name:        "stsuu",
		Description: "STSUU document (ISAM XML or JSON) as input token (validate) or output token (issue)",
		New:         func() sts.Module { return new(Module) },
	}
}

// Provision implements sts.Provisioner: it records the step's mode and
// fills in defaults.
func (m *Module) Provision(ctx sts.ProvisionContext) error {
	m.mode = ctx.Mode
	if m.Format == "" {
		m.Format = FormatAuto
		if m.mode == sts.ModeIssue {
			m.Format = FormatXML
		}
	}
	if m.RST == "" {
		m.RST = RSTMerge
	}
	return nil
}

// Validate implements sts.Validator.
func (m *Module) Validate() error {
	switch m.Format {
	case FormatXML, FormatJSON:
	case FormatAuto:
		if m.mode == sts.ModeIssue {
			return sts.ConfigErrorf("format", "issue needs format xml or json, not auto")
		}
	default:
		return sts.ConfigErrorf("format", "unknown format %q (want auto, xml or json)", m.Format)
	}
	if m.RST != RSTMerge && m.RST != RSTDrop {
		return sts.ConfigErrorf("rst", "unknown value %q (want merge or drop)", m.RST)
	}
	if m.MaxBytes < 0 || m.MaxBytes > maxMaxBytes {
		return sts.ConfigErrorf("max_bytes", "must be between 0 (default) and %d", maxMaxBytes)
	}
	if m.MaxDepth < 0 || m.MaxDepth > maxMaxDepth {
		return sts.ConfigErrorf("max_depth", "must be between 0 (default) and %d", maxMaxDepth)
	}
	return nil
}

var errNoBase = sts.ErrInvalidRequest.WithDescription("the request carries no STSUU document")

// ValidateToken implements sts.TokenValidator: it parses the base token as
// an STSUU document and merges it into the chain's universal user. A
// missing or unreadable document is invalid_request; the parser's message
// is the hidden cause (it may quote the document).
func (m *Module) ValidateToken(_ context.Context, c *sts.Call) error {
	if c.Request == nil || c.Request.Base == nil || len(c.Request.Base.Data) == 0 {
		return errNoBase
	}
	data := bytes.TrimPrefix(c.Request.Base.Data, []byte("\xEF\xBB\xBF"))
	format := m.Format
	if format == FormatAuto {
		format = detect(data)
	}
	lim := sts.Limits{MaxBytes: m.MaxBytes, MaxDepth: m.MaxDepth}
	var (
		doc *sts.STSUU
		err error
	)
	switch format {
	case FormatXML:
		doc, err = sts.ParseXMLLimits(data, lim)
	case FormatJSON:
		doc, err = sts.ParseJSONLimits(data, lim)
	default:
		err = errors.New("the document starts with neither '<' nor '{'")
	}
	if err != nil {
		return sts.ErrInvalidRequest.WithDescription("the base token is not a valid STSUU document").WithCause(err)
	}
	if c.User == nil {
		c.User = sts.NewSTSUU()
	}
	merge(c.User, doc, m.RST == RSTMerge)
	return nil
}

// detect tells XML from JSON by the first byte that is not white space.
func detect(data []byte) string {
	t := bytes.TrimLeft(data, " \t\r\n")
	if len(t) == 0 {
		return ""
	}
	switch t[0] {
	case '<':
		return FormatXML
	case '{':
		return FormatJSON
	}
	return ""
}

// merge copies doc into u. The document's principal, when it has one,
// replaces u's (a user has one identity); its attributes and context
// attributes replace those with the same name and type and are appended
// otherwise; its groups replace groups with the same name and type; its
// statements are appended. With keepRST the document's RequestSecurityToken
// attributes are added where u (the current request) has no attribute of
// that name and type, so the current request always wins.
//
// Each section is merged with a map, in time linear in its size: a document
// near the size limit holds tens of thousands of attributes, and Set or
// AddGroup per attribute would be quadratic.
func merge(u, doc *sts.STSUU, keepRST bool) {
	if len(doc.Principal) > 0 {
		u.Principal = doc.Principal
	}
	u.Groups = mergeGroups(u.Groups, doc.Groups)
	u.Attributes = mergeAttributes(u.Attributes, doc.Attributes, true)
	u.Context = mergeAttributes(u.Context, doc.Context, true)
	if keepRST {
		u.RST = mergeAttributes(u.RST, doc.RST, false)
	}
	u.Statements = append(u.Statements, doc.Statements...)
}

type identity struct{ name, typ string }

// mergeAttributes adds src to dst: an attribute of src replaces the one of
// dst with the same name and type in place when replace is set, and is
// dropped when not; others are appended. Identities are unique within both
// lists (the parsers merge repeats).
func mergeAttributes(dst, src sts.Attributes, replace bool) sts.Attributes {
	if len(src) == 0 {
		return dst
	}
	idx := make(map[identity]int, len(dst))
	for i, a := range dst {
		if _, dup := idx[identity{a.Name, a.Type}]; !dup {
			idx[identity{a.Name, a.Type}] = i
		}
	}
	for _, a := range src {
		i, ok := idx[identity{a.Name, a.Type}]
		switch {
		case !ok:
			idx[identity{a.Name, a.Type}] = len(dst)
			dst = append(dst, a)
		case replace:
			dst[i] = a
		}
	}
	return dst
}

// mergeGroups adds src to dst, a group of src replacing the one of dst with
// the same name and type in place (as STSUU.AddGroup does).
func mergeGroups(dst, src []*sts.Group) []*sts.Group {
	if len(src) == 0 {
		return dst
	}
	idx := make(map[identity]int, len(dst))
	for i, g := range dst {
		if _, dup := idx[identity{g.Name, g.Type}]; !dup {
			idx[identity{g.Name, g.Type}] = i
		}
	}
	for _, g := range src {
		if i, ok := idx[identity{g.Name, g.Type}]; ok {
			dst[i] = g
			continue
		}
		idx[identity{g.Name, g.Type}] = len(dst)
		dst = append(dst, g)
	}
	return dst
}

// IssueToken implements sts.TokenIssuer: the output token is the chain's
// universal user in the configured form, with token type sts.TokenTypeSTSUU.
func (m *Module) IssueToken(_ context.Context, c *sts.Call) error {
	u := c.User
	if u == nil {
		u = sts.NewSTSUU()
	}
	var data []byte
	switch m.Format {
	case FormatJSON:
		data = u.JSON()
	case FormatXML:
		data = u.XML()
	default:
		return fmt.Errorf("stsuu issue: format %q", m.Format)
	}
	c.Output = &sts.Token{Type: sts.TokenTypeSTSUU, Data: data}
	return nil
}

// Interface guards.
var (
	_ sts.Module         = (*Module)(nil)
	_ sts.Provisioner    = (*Module)(nil)
	_ sts.Validator      = (*Module)(nil)
	_ sts.TokenValidator = (*Module)(nil)
	_ sts.TokenIssuer    = (*Module)(nil)
)

package sts

import (
	"fmt"
	"slices"
)

// Attribute types and names that chainsts and ISAM rules rely on
// (ISAM-COMPAT §1.3).
const (
	TypeAccessManager  = "urn:ibm:names:ITFIM:5.1:accessmanager"
	TypeJWTIssueClaim  = "urn:ibm:jwt:claim"
	TypeJWTClaim       = "urn:com:ibm:JWT:claim"
	TypeJWT            = "urn:com:ibm:JWT"
	TypeJWTHeaderClaim = "urn:ibm:JWT:header:claim"
	TypeOAuthRequest   = "urn:ibm:names:ITFIM:oauth:request"
	TypeAddressing     = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	// TypeRST is the type chainsts gives to the request attributes it copies
	// into the RequestSecurityToken section (AppliesTo, Issuer, RequestType...).
	TypeRST = "http://schemas.xmlsoap.org/ws/2005/02/trust"

	// PrincipalNameAttribute is the principal attribute holding the principal
	// name.
	PrincipalNameAttribute = "name"
)

// Attribute is one STSUU attribute: identified by (Name, Type), holding an
// ordered list of values of the kinds described in value.go.
type Attribute struct {
	Name     string
	Type     string
	Nickname string
	Values   []any
}

// NewAttribute returns an attribute whose values are normalized with
// NormalizeValue. It panics on a value that cannot be normalized; use
// NewAttributeChecked for values that come from outside.
func NewAttribute(name, typ string, values ...any) *Attribute {
	a, err := NewAttributeChecked(name, typ, values...)
	if err != nil {
		panic(err)
	}
	return a
}

// NewAttributeChecked is NewAttribute returning an error for values that
// cannot be normalized.
func NewAttributeChecked(name, typ string, values ...any) (*Attribute, error) {
	a := &Attribute{Name: name, Type: typ, Values: make([]any, 0, len(values))}
	for _, v := range values {
		n, err := NormalizeValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		a.Values = append(a.Values, n)
	}
	return a, nil
}

// Value returns the first value, or nil when there is none.
func (a *Attribute) Value() any {
	if a == nil || len(a.Values) == 0 {
		return nil
	}
	return a.Values[0]
}

// StringValues returns ISAM's string view of every value.
func (a *Attribute) StringValues() []string {
	out := make([]string, len(a.Values))
	for i, v := range a.Values {
		out[i] = StringValue(v)
	}
	return out
}

// Clone returns a deep copy.
func (a *Attribute) Clone() *Attribute {
	if a == nil {
		return nil
	}
	c := *a
	c.Values = make([]any, len(a.Values))
	for i, v := range a.Values {
		c.Values[i] = CloneValue(v)
	}
	return &c
}

// Equal reports whether two attributes have the same identity, nickname and
// values.
func (a *Attribute) Equal(b *Attribute) bool {
	if a.Name != b.Name || a.Type != b.Type || a.Nickname != b.Nickname || len(a.Values) != len(b.Values) {
		return false
	}
	for i := range a.Values {
		if !EqualValues(a.Values[i], b.Values[i]) {
			return false
		}
	}
	return true
}

// Attributes is an ordered attribute container (one STSUU section). Order is
// kept on output; identity is (Name, Type).
type Attributes []*Attribute

// Get returns the first attribute with the name, whatever its type, or nil.
func (l Attributes) Get(name string) *Attribute {
	for _, a := range l {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// GetByNameAndType returns the attribute with that identity, or nil.
func (l Attributes) GetByNameAndType(name, typ string) *Attribute {
	for _, a := range l {
		if a.Name == name && a.Type == typ {
			return a
		}
	}
	return nil
}

// ByType returns the attributes of a type, in order.
func (l Attributes) ByType(typ string) []*Attribute {
	var out []*Attribute
	for _, a := range l {
		if a.Type == typ {
			out = append(out, a)
		}
	}
	return out
}

// Add adds an attribute. When an attribute with the same name and type
// exists, the new values are appended to it (ISAM's addAttribute); otherwise
// the attribute is appended to the container.
func (l *Attributes) Add(a *Attribute) {
	if cur := l.GetByNameAndType(a.Name, a.Type); cur != nil {
		cur.Values = append(cur.Values, a.Values...)
		return
	}
	*l = append(*l, a)
}

// Set replaces the attribute with the same name and type, keeping its
// position, or appends it when there is none (ISAM's setAttribute).
func (l *Attributes) Set(a *Attribute) {
	for i, cur := range *l {
		if cur.Name == a.Name && cur.Type == a.Type {
			(*l)[i] = a
			return
		}
	}
	*l = append(*l, a)
}

// Remove deletes the attributes with the name and type and returns how many
// were removed.
func (l *Attributes) Remove(name, typ string) int {
	return l.RemoveFunc(func(a *Attribute) bool { return a.Name == name && a.Type == typ })
}

// RemoveByName deletes every attribute with the name, whatever its type.
func (l *Attributes) RemoveByName(name string) int {
	return l.RemoveFunc(func(a *Attribute) bool { return a.Name == name })
}

// RemoveFunc deletes the attributes for which del returns true.
func (l *Attributes) RemoveFunc(del func(*Attribute) bool) int {
	before := len(*l)
	*l = slices.DeleteFunc(*l, del)
	return before - len(*l)
}

// Clone returns a deep copy.
func (l Attributes) Clone() Attributes {
	if l == nil {
		return nil
	}
	out := make(Attributes, len(l))
	for i, a := range l {
		out[i] = a.Clone()
	}
	return out
}

// Equal reports whether both containers hold equal attributes in the same
// order.
func (l Attributes) Equal(m Attributes) bool {
	if len(l) != len(m) {
		return false
	}
	for i := range l {
		if !l[i].Equal(m[i]) {
			return false
		}
	}
	return true
}

// Group is an STSUU group: a name, a type and attributes of its own.
type Group struct {
	Name       string
	Type       string
	Attributes Attributes
}

// Clone returns a deep copy.
func (g *Group) Clone() *Group {
	return &Group{Name: g.Name, Type: g.Type, Attributes: g.Attributes.Clone()}
}

// AttributeStatement is an additional attribute statement (SAML-style), with
// an optional id.
type AttributeStatement struct {
	ID         string
	Attributes Attributes
}

// Clone returns a deep copy.
func (s *AttributeStatement) Clone() *AttributeStatement {
	return &AttributeStatement{ID: s.ID, Attributes: s.Attributes.Clone()}
}

// STSUU is the STS Universal User: the one document that flows through a
// chain (PRODUCT §2.1, ISAM-COMPAT §1). Sections are kept in the order they
// are written on output.
type STSUU struct {
	Principal  Attributes
	Groups     []*Group
	Attributes Attributes
	RST        Attributes
	Context    Attributes
	Statements []*AttributeStatement
}

// NewSTSUU returns an empty universal user.
func NewSTSUU() *STSUU { return &STSUU{} }

// PrincipalName returns the string view of the principal attribute "name",
// or "" when there is none.
func (u *STSUU) PrincipalName() string {
	return StringValue(u.Principal.Get(PrincipalNameAttribute).Value())
}

// SetPrincipalName sets the principal name. The attribute keeps its type when
// it exists; a new one gets TypeAccessManager, as ISAM writes it.
func (u *STSUU) SetPrincipalName(name string) {
	typ := TypeAccessManager
	if cur := u.Principal.Get(PrincipalNameAttribute); cur != nil {
		typ = cur.Type
	}
	u.Principal.RemoveByName(PrincipalNameAttribute)
	u.Principal = append(Attributes{NewAttribute(PrincipalNameAttribute, typ, name)}, u.Principal...)
}

// Group returns the first group with the name, or nil.
func (u *STSUU) Group(name string) *Group {
	for _, g := range u.Groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// AddGroup adds a group, replacing one with the same name and type.
func (u *STSUU) AddGroup(g *Group) {
	for i, cur := range u.Groups {
		if cur.Name == g.Name && cur.Type == g.Type {
			u.Groups[i] = g
			return
		}
	}
	u.Groups = append(u.Groups, g)
}

// Clear empties every section.
func (u *STSUU) Clear() { *u = STSUU{} }

// Clone returns a deep copy.
func (u *STSUU) Clone() *STSUU {
	if u == nil {
		return nil
	}
	c := &STSUU{
		Principal:  u.Principal.Clone(),
		Attributes: u.Attributes.Clone(),
		RST:        u.RST.Clone(),
		Context:    u.Context.Clone(),
	}
	if u.Groups != nil {
		c.Groups = make([]*Group, len(u.Groups))
		for i, g := range u.Groups {
			c.Groups[i] = g.Clone()
		}
	}
	if u.Statements != nil {
		c.Statements = make([]*AttributeStatement, len(u.Statements))
		for i, s := range u.Statements {
			c.Statements[i] = s.Clone()
		}
	}
	return c
}

// Equal reports whether two universal users hold the same content.
func (u *STSUU) Equal(v *STSUU) bool {
	if !u.Principal.Equal(v.Principal) || !u.Attributes.Equal(v.Attributes) ||
		!u.RST.Equal(v.RST) || !u.Context.Equal(v.Context) ||
		len(u.Groups) != len(v.Groups) || len(u.Statements) != len(v.Statements) {
		return false
	}
	for i := range u.Groups {
		g, h := u.Groups[i], v.Groups[i]
		if g.Name != h.Name || g.Type != h.Type || !g.Attributes.Equal(h.Attributes) {
			return false
		}
	}
	for i := range u.Statements {
		if u.Statements[i].ID != v.Statements[i].ID || !u.Statements[i].Attributes.Equal(v.Statements[i].Attributes) {
			return false
		}
	}
	return true
}

package attributes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/sts"
)

// newStep decodes cfg strictly, as the chain loader does, and provisions.
func newStep(cfg string) (*Module, error) {
	m := new(Module)
	if err := yaml.UnmarshalWithOptions([]byte(cfg), m, yaml.Strict()); err != nil {
		return nil, err
	}
	if err := m.Provision(sts.ProvisionContext{Context: context.Background(), Mode: sts.ModeMap}); err != nil {
		return nil, err
	}
	return m, nil
}

func user(t *testing.T, doc string) *sts.STSUU {
	t.Helper()
	u, err := sts.ParseJSON([]byte(doc))
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return u
}

const input = `{
 "principal": [{"name": "name", "type": "urn:ibm:names:ITFIM:5.1:accessmanager", "values": ["alice"]}],
 "groups": [{"name": "admin", "type": "urn:ibm:names:ITFIM:5.1:accessmanager"},
            {"name": "staff", "type": "urn:ibm:names:ITFIM:5.1:accessmanager", "attributes": [{"name": "cn", "values": ["Staff"]}]}],
 "attributes": [
   {"name": "email", "type": "urn:com:ibm:JWT:claim", "values": ["alice@example.com"]},
   {"name": "sub", "type": "urn:com:ibm:JWT:claim", "values": ["u-123"]},
   {"name": "roles", "type": "urn:com:ibm:JWT:claim", "values": ["reader", "writer"]},
   {"name": "email", "type": "urn:ibm:names:ITFIM:5.1:accessmanager", "values": ["a@corp"]}
 ],
 "context": [
   {"name": "internal_flag", "type": "urn:x", "values": [true]},
   {"name": "internal_flag", "type": "urn:y", "values": [false]},
   {"name": "claim_json", "type": "urn:com:ibm:JWT", "values": ["{}"]}
 ]
}`

func TestMap(t *testing.T) {
	tests := []struct {
		name    string
		cfg     string
		in      string // defaults to input
		want    string // the expected user, as JSON; empty to skip
		check   func(t *testing.T, u *sts.STSUU)
		wantErr string // expected *sts.Error description
	}{
		{
			name: "set-keeps-yaml-types",
			cfg: `operations:
  - set: { section: attributes, name: tenant, type: urn:ibm:jwt:claim, values: [acme, 42, 9007199254740993, 1.5, true, null, [a, 1], {k: v}] }`,
			in: `{}`,
			want: `{"attributes":[{"name":"tenant","type":"urn:ibm:jwt:claim",
			  "values":["acme",42,9007199254740993,1.5,true,null,["a",1],{"k":"v"}]}]}`,
		},
		{
			name: "set-json-values-are-exact",
			cfg: `operations:
  - set: { section: attributes, name: n, json_values: ["18446744073709551617", "1.50", "{\"a\": [1, null]}", "\"s\""] }`,
			in: `{}`,
			check: func(t *testing.T, u *sts.STSUU) {
				want := []any{json.Number("18446744073709551617"), json.Number("1.50"), map[string]any{"a": []any{json.Number("1"), nil}}, "s"}
				if d := cmp.Diff(want, u.Attributes.Get("n").Values); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
			},
		},
		{
			name: "set-replaces-or-appends",
			cfg: `operations:
  - set: { section: attributes, name: roles, type: "urn:com:ibm:JWT:claim", values: [admin] }
  - set: { section: attributes, name: sub, type: "urn:com:ibm:JWT:claim", values: [u-456], append: true }`,
			check: func(t *testing.T, u *sts.STSUU) {
				if d := cmp.Diff([]any{"admin"}, u.Attributes.GetByNameAndType("roles", sts.TypeJWTClaim).Values); d != "" {
					t.Errorf("roles: %s", d)
				}
				if d := cmp.Diff([]any{"u-123", "u-456"}, u.Attributes.GetByNameAndType("sub", sts.TypeJWTClaim).Values); d != "" {
					t.Errorf("sub: %s", d)
				}
			},
		},
		{
			name: "set-group-and-principal",
			cfg: `operations:
  - set: { section: groups, name: auditors, type: "urn:ibm:names:ITFIM:5.1:accessmanager" }
  - set: { section: groups, name: admin, type: "urn:ibm:names:ITFIM:5.1:accessmanager" }
  - set: { section: principal, name: realm, type: urn:x, values: [corp] }`,
			check: func(t *testing.T, u *sts.STSUU) {
				var names []string
				for _, g := range u.Groups {
					names = append(names, g.Name)
				}
				if d := cmp.Diff([]string{"admin", "staff", "auditors"}, names); d != "" {
					t.Errorf("groups: %s", d)
				}
				if u.Principal.Get("realm") == nil || u.PrincipalName() != "alice" {
					t.Errorf("principal: %s", u.JSON())
				}
			},
		},
		{
			name: "copy-between-types",
			cfg: `operations:
  - copy: { from: {section: attributes, name: email, type: "urn:com:ibm:JWT:claim"}, to: {section: attributes, name: mail, type: "urn:ibm:jwt:claim"} }`,
			check: func(t *testing.T, u *sts.STSUU) {
				if u.Attributes.GetByNameAndType("email", sts.TypeJWTClaim) == nil {
					t.Error("copy removed the source")
				}
				if d := cmp.Diff([]any{"alice@example.com"}, u.Attributes.GetByNameAndType("mail", sts.TypeJWTIssueClaim).Values); d != "" {
					t.Errorf("mail: %s", d)
				}
			},
		},
		{
			name: "copy-regex-with-references-keeps-type-when-absent",
			cfg: `operations:
  - copy: { from: {section: attributes, name_regex: "(sub|roles)", type: "urn:com:ibm:JWT:claim"}, to: {section: context, name: "jwt_$1"} }`,
			check: func(t *testing.T, u *sts.STSUU) {
				if u.Context.GetByNameAndType("jwt_sub", sts.TypeJWTClaim) == nil || u.Context.GetByNameAndType("jwt_roles", sts.TypeJWTClaim) == nil {
					t.Errorf("context: %s", u.JSON())
				}
				if u.Context.Get("jwt_email") != nil {
					t.Error("regex matched a name outside the alternation")
				}
			},
		},
		{
			name: "regex-is-anchored",
			cfg: `operations:
  - delete: { section: attributes, name_regex: "mail" }`,
			check: func(t *testing.T, u *sts.STSUU) {
				if len(u.Attributes) != 4 {
					t.Errorf("deleted a partial match: %s", u.JSON())
				}
			},
		},
		{
			name: "rename-between-sections-and-types",
			cfg: `operations:
  - rename: { from: {section: context, name: claim_json}, to: {section: attributes, name: claims, type: urn:ibm:jwt:claim} }`,
			check: func(t *testing.T, u *sts.STSUU) {
				if u.Context.Get("claim_json") != nil || u.Attributes.GetByNameAndType("claims", sts.TypeJWTIssueClaim) == nil {
					t.Errorf("%s", u.JSON())
				}
			},
		},
		{
			name: "rename-type-only",
			cfg: `operations:
  - rename: { from: {section: attributes, type: "urn:com:ibm:JWT:claim"}, to: {section: attributes, type: "urn:ibm:jwt:claim"} }`,
			want: `{"principal": [{"name": "name", "type": "urn:ibm:names:ITFIM:5.1:accessmanager", "values": ["alice"]}],
			  "groups": [{"name": "admin", "type": "urn:ibm:names:ITFIM:5.1:accessmanager"},
			             {"name": "staff", "type": "urn:ibm:names:ITFIM:5.1:accessmanager", "attributes": [{"name": "cn", "values": ["Staff"]}]}],
			  "attributes": [
			    {"name": "email", "type": "urn:ibm:names:ITFIM:5.1:accessmanager", "values": ["a@corp"]},
			    {"name": "email", "type": "urn:ibm:jwt:claim", "values": ["alice@example.com"]},
			    {"name": "sub", "type": "urn:ibm:jwt:claim", "values": ["u-123"]},
			    {"name": "roles", "type": "urn:ibm:jwt:claim", "values": ["reader", "writer"]}],
			  "context": [
			    {"name": "internal_flag", "type": "urn:x", "values": [true]},
			    {"name": "internal_flag", "type": "urn:y", "values": [false]},
			    {"name": "claim_json", "type": "urn:com:ibm:JWT", "values": ["{}"]}]}`,
		},
		{
			name: "rename-onto-itself-is-a-no-op",
			cfg: `operations:
  - rename: { from: {section: attributes, name: sub}, to: {section: attributes} }`,
			want: input,
		},
		{
			name: "rename-onto-itself-with-append-keeps-it",
			cfg: `operations:
  - rename: { from: {section: attributes, name: roles}, to: {section: attributes}, append: true }`,
			want: input,
		},
		{
			name: "rename-into-existing-with-append",
			cfg: `operations:
  - rename: { from: {section: attributes, name: email}, to: {section: attributes, type: "urn:com:ibm:JWT:claim"}, append: true }`,
			check: func(t *testing.T, u *sts.STSUU) {
				if u.Attributes.GetByNameAndType("email", sts.TypeAccessManager) != nil {
					t.Errorf("source kept: %s", u.JSON())
				}
				if d := cmp.Diff([]any{"alice@example.com", "a@corp"}, u.Attributes.GetByNameAndType("email", sts.TypeJWTClaim).Values); d != "" {
					t.Errorf("email: %s", d)
				}
			},
		},
		{
			name: "copy-required-missing",
			cfg: `operations:
  - copy: { from: {section: attributes, name: phone}, to: {section: attributes, name: tel}, required: true }`,
			wantErr: "a required attribute is missing",
		},
		{
			name: "copy-optional-missing",
			cfg: `operations:
  - copy: { from: {section: attributes, name: phone}, to: {section: attributes, name: tel} }`,
			want: input,
		},
		{
			name: "delete-any-type-and-by-type",
			cfg: `operations:
  - delete: { section: context, name: internal_flag }
  - delete: { section: attributes, type: "urn:ibm:names:ITFIM:5.1:accessmanager" }
  - delete: { section: groups, name: admin }`,
			check: func(t *testing.T, u *sts.STSUU) {
				if u.Context.Get("internal_flag") != nil || len(u.Context) != 1 {
					t.Errorf("context: %v", u.Context)
				}
				if u.Attributes.GetByNameAndType("email", sts.TypeAccessManager) != nil || len(u.Attributes) != 3 {
					t.Errorf("attributes: %v", u.Attributes)
				}
				if len(u.Groups) != 1 || u.Groups[0].Name != "staff" {
					t.Errorf("groups: %v", u.Groups)
				}
			},
		},
		{
			name: "delete-empty-type-only",
			cfg: `operations:
  - set: { section: context, name: internal_flag, values: [x] }
  - delete: { section: context, name: internal_flag, type: "" }`,
			want: input,
		},
		{
			name: "filter",
			cfg: `operations:
  - filter: { section: attributes, allow_names: [email, sub], allow_types: ["urn:com:ibm:JWT:claim"] }
  - filter: { section: context, allow_name_regex: ["claim_.*"] }
  - filter: { section: groups, allow_names: [staff] }`,
			want: `{"principal": [{"name": "name", "type": "urn:ibm:names:ITFIM:5.1:accessmanager", "values": ["alice"]}],
			  "groups": [{"name": "staff", "type": "urn:ibm:names:ITFIM:5.1:accessmanager", "attributes": [{"name": "cn", "values": ["Staff"]}]}],
			  "attributes": [
			    {"name": "email", "type": "urn:com:ibm:JWT:claim", "values": ["alice@example.com"]},
			    {"name": "sub", "type": "urn:com:ibm:JWT:claim", "values": ["u-123"]}],
			  "context": [{"name": "claim_json", "type": "urn:com:ibm:JWT", "values": ["{}"]}]}`,
		},
		{
			name: "principal-from",
			cfg: `operations:
  - principal_from: { section: attributes, name: sub, type: "urn:com:ibm:JWT:claim" }`,
			check: func(t *testing.T, u *sts.STSUU) {
				if got := u.PrincipalName(); got != "u-123" {
					t.Errorf("principal %q", got)
				}
				if got := u.Principal.Get("name").Type; got != sts.TypeAccessManager {
					t.Errorf("principal type %q", got)
				}
			},
		},
		{
			name: "principal-from-skips-empty-values",
			cfg: `operations:
  - principal_from: { section: context, name: uid }`,
			in: `{"context":[{"name":"uid","values":["", null, "bob"]}]}`,
			check: func(t *testing.T, u *sts.STSUU) {
				if got := u.PrincipalName(); got != "bob" {
					t.Errorf("principal %q", got)
				}
			},
		},
		{
			name: "principal-from-missing",
			cfg: `operations:
  - principal_from: { section: attributes, name: uid }`,
			wantErr: "the token does not name a principal",
		},
		{
			name: "principal-from-missing-optional",
			cfg: `operations:
  - principal_from: { section: attributes, name: uid, optional: true }`,
			want: input,
		},
		{
			name: "groups-from-claim",
			cfg: `operations:
  - copy: { from: {section: attributes, name: roles}, to: {section: groups} }`,
			check: func(t *testing.T, u *sts.STSUU) {
				var names []string
				for _, g := range u.Groups {
					names = append(names, g.Name+"|"+g.Type)
				}
				am := "|" + sts.TypeAccessManager
				if d := cmp.Diff([]string{"admin" + am, "staff" + am, "reader" + am, "writer" + am}, names); d != "" {
					t.Errorf("groups: %s", d)
				}
			},
		},
		{
			name: "claim-from-groups",
			cfg: `operations:
  - copy: { from: {section: groups}, to: {section: attributes, name: groups, type: urn:ibm:jwt:claim} }`,
			check: func(t *testing.T, u *sts.STSUU) {
				if d := cmp.Diff([]any{"admin", "staff"}, u.Attributes.GetByNameAndType("groups", sts.TypeJWTIssueClaim).Values); d != "" {
					t.Errorf("groups claim: %s", d)
				}
			},
		},
		{
			name: "rename-group",
			cfg: `operations:
  - rename: { from: {section: groups, name: staff}, to: {section: groups, name: employees} }`,
			check: func(t *testing.T, u *sts.STSUU) {
				if u.Group("staff") != nil || u.Group("employees") == nil || u.Group("employees").Attributes.Get("cn") == nil {
					t.Errorf("groups: %s", u.JSON())
				}
			},
		},
		{
			name: "operations-run-in-order",
			cfg: `operations:
  - rename: { from: {section: attributes, name: sub}, to: {section: attributes, name: uid} }
  - principal_from: { section: attributes, name: uid }
  - delete: { section: attributes, name: uid }`,
			check: func(t *testing.T, u *sts.STSUU) {
				if u.PrincipalName() != "u-123" || u.Attributes.Get("uid") != nil || u.Attributes.Get("sub") != nil {
					t.Errorf("%s", u.JSON())
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := newStep(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			in := tt.in
			if in == "" {
				in = input
			}
			c := &sts.Call{Request: &sts.Request{}, User: user(t, in)}
			err = m.Map(context.Background(), c)
			if tt.wantErr != "" {
				var se *sts.Error
				if !errors.As(err, &se) || !errors.Is(err, sts.ErrInvalidRequest) || se.Description != tt.wantErr {
					t.Fatalf("error %v, want invalid_request %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != "" {
				if want := user(t, tt.want); !want.Equal(c.User) {
					t.Errorf("(-want +got):\n%s\ngot %s", cmp.Diff(want, c.User), c.User.JSON())
				}
			}
			if tt.check != nil {
				tt.check(t, c.User)
			}
		})
	}
}

// TestConstantsAreNotShared checks that a request changing a set value does
// not change what the next request gets.
func TestConstantsAreNotShared(t *testing.T) {
	m, err := newStep(`operations:
  - set: { section: attributes, name: tags, values: [[a, b]] }`)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		c := &sts.Call{User: sts.NewSTSUU()}
		if err := m.Map(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		a := c.User.Attributes.Get("tags")
		if d := cmp.Diff([]any{[]any{"a", "b"}}, a.Values); d != "" {
			t.Fatalf("request %d: %s", i, d)
		}
		a.Values[0].([]any)[0] = "changed"
		a.Values = append(a.Values, "more")
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		cfg, path, msg string
	}{
		{`operations: [{}]`, "operations[0]", "exactly one of"},
		{`operations: [{set: {section: attributes, name: a}, delete: {section: attributes, name: a}}]`, "operations[0]", "found 2"},
		{`operations: [{set: {section: credentials, name: a}}]`, "operations[0].set.section", `unknown section "credentials"`},
		{`operations: [{set: {name: a}}]`, "operations[0].set.section", "section is required"},
		{`operations: [{set: {section: attributes}}]`, "operations[0].set.name", "name is required"},
		{`operations: [{set: {section: groups, name: g, values: [x]}}]`, "operations[0].set", "a group has no values"},
		{`operations: [{set: {section: attributes, name: a, values: [.nan]}}]`, "operations[0].set.values", "no JSON form"},
		{`operations: [{set: {section: attributes, name: a, json_values: ["1", "{x"]}}]`, "operations[0].set.json_values[1]", "not a JSON value"},
		{`operations: [{set: {section: attributes, name: a, values: [1], json_values: ["1"]}}]`, "operations[0].set.json_values", "not both"},
		{`operations: [{copy: {from: {section: attributes, name: a, name_regex: b}, to: {section: attributes}}}]`, "operations[0].copy.from.name_regex", "not both"},
		{`operations: [{copy: {from: {section: attributes, name: a}, to: {section: attributes, name: "$1"}}}]`, "operations[0].copy.to.name", "name_regex"},
		{`operations: [{copy: {from: {section: attributes, name: a}, to: {}}}]`, "operations[0].copy.to.section", "section is required"},
		{`operations: [{copy: {from: {section: groups}, to: {section: attributes}}}]`, "operations[0].copy.to.name", "needs the attribute's name"},
		{`operations: [{copy: {from: {section: attributes, name: roles}, to: {section: groups, name: x}}}]`, "operations[0].copy.to.name", "drop name"},
		{`operations: [{copy: {from: {section: attributes, name: roles}, to: {section: groups}, append: true}}]`, "operations[0].copy.append", "append"},
		{`operations: [{rename: {from: {section: attributes, name_regex: "(a"}, to: {section: context}}}]`, "operations[0].rename.from.name_regex", "bad regular expression"},
		{`operations: [{delete: {section: context}}]`, "operations[0].delete", "needs name, name_regex or type"},
		{`operations: [{filter: {section: context}}]`, "operations[0].filter", "needs allow_names"},
		{`operations: [{filter: {section: context, allow_name_regex: [ok, "[x"]}}]`, "operations[0].filter.allow_name_regex[1]", "bad regular expression"},
		{`operations: [{principal_from: {section: groups, name: a}}]`, "operations[0].principal_from.section", "not allowed"},
		{`operations: [{principal_from: {section: attributes}}]`, "operations[0].principal_from.name", "needs name or name_regex"},
		{"operations:\n  - delete: {section: context, name: a}\n  - set: {section: x, name: a}", "operations[1].set.section", "unknown section"},
	}
	for _, tt := range tests {
		_, err := newStep(tt.cfg)
		var ce *sts.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: error %v, want a *sts.ConfigError", tt.cfg, err)
			continue
		}
		if ce.Path != tt.path || !strings.Contains(ce.Err.Error(), tt.msg) {
			t.Errorf("%s:\n got %s: %v\nwant %s: ...%s...", tt.cfg, ce.Path, ce.Err, tt.path, tt.msg)
		}
	}
}

func TestStrictDecoding(t *testing.T) {
	for _, cfg := range []string{
		`operations: [{sett: {section: attributes, name: a}}]`,
		`operations: [{set: {section: attributes, name: a, value: x}}]`,
		`operations: [{copy: {from: {section: attributes, nam: a}, to: {section: context}}}]`,
		`operations: [{filter: {section: context, allow_names: x}}]`,
		`operation: []`,
	} {
		if _, err := newStep(cfg); err == nil {
			t.Errorf("%s: accepted", cfg)
		}
	}
}

func TestRegistered(t *testing.T) {
	mi, ok := sts.GetModule("attributes")
	if !ok {
		t.Fatal("attributes not registered")
	}
	if d := cmp.Diff([]sts.Mode{sts.ModeMap}, mi.Modes()); d != "" {
		t.Errorf("modes: %s", d)
	}
}

// TestManyAttributes renames and copies tens of thousands of attributes, as
// a user read from a large document may hold (linear time: indexed puts).
func TestManyAttributes(t *testing.T) {
	u := sts.NewSTSUU()
	const n = 40000
	for i := range n {
		u.Attributes = append(u.Attributes, sts.NewAttribute(fmt.Sprint(i), sts.TypeJWTClaim, fmt.Sprint("g", i%100)))
	}
	m, err := newStep(`operations:
  - rename: { from: {section: attributes, type: "urn:com:ibm:JWT:claim"}, to: {section: attributes, type: "urn:ibm:jwt:claim"} }
  - copy: { from: {section: attributes, name_regex: "[0-9]+"}, to: {section: groups} }
  - copy: { from: {section: attributes}, to: {section: context}, append: true }`)
	if err != nil {
		t.Fatal(err)
	}
	c := &sts.Call{User: u}
	if err := m.Map(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if len(u.Attributes) != n || len(u.Attributes.ByType(sts.TypeJWTIssueClaim)) != n || len(u.Groups) != 100 || len(u.Context) != n {
		t.Errorf("attributes %d, groups %d, context %d", len(u.Attributes), len(u.Groups), len(u.Context))
	}
}

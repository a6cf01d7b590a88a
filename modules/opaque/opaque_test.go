package opaque

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chainsts/chainsts/store"
	"github.com/chainsts/chainsts/store/memory"
	"github.com/chainsts/chainsts/store/storetest"
	"github.com/chainsts/chainsts/sts"
)

type host struct{ st store.Store }

func (h host) App(name string) (any, error) {
	if name == "store" {
		return h.st, nil
	}
	return nil, errors.New("no app " + name)
}
func (h host) ConfigDir() string { return "." }
func (h host) DataDir() string   { return "." }

func provision(t *testing.T, st store.Store, m *Module) *Module {
	t.Helper()
	if err := m.Provision(sts.ProvisionContext{Context: context.Background(), Host: host{st}}); err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

func user() *sts.STSUU {
	u := sts.NewSTSUU()
	u.SetPrincipalName("alice")
	u.Attributes.Add(sts.NewAttribute("email", sts.TypeJWTClaim, "alice@example.com"))
	u.Attributes.Add(sts.NewAttribute("tenant", sts.TypeJWTClaim, map[string]any{"id": 7}))
	u.Groups = append(u.Groups, &sts.Group{Name: "admins", Type: sts.TypeAccessManager})
	u.RST.Add(sts.NewAttribute("RequestType", sts.TypeRST, "exchange"))
	return u
}

func TestIssueThenValidateRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	m := provision(t, st, &Module{Prefix: "cst_"})
	c := &sts.Call{Request: &sts.Request{ClientID: "app", Scopes: []string{"read", "write"}, Audiences: []string{"https://api"}}, User: user()}
	if err := m.IssueToken(ctx, c); err != nil {
		t.Fatal(err)
	}
	handle := string(c.Output.Data)
	if !strings.HasPrefix(handle, "cst_") || len(handle) < 4+43 {
		t.Fatalf("handle %q: want prefix and ≥256 bits", handle)
	}
	if c.Output.Type != sts.TokenTypeAccessToken || !c.Output.IsAccessToken || c.Output.Scope != "read write" {
		t.Fatalf("output %+v", c.Output)
	}
	if d := time.Until(c.Output.ExpiresAt); d < 59*time.Minute || d > time.Hour {
		t.Fatalf("expiry in %v, want the default 1h", d)
	}
	// The store never holds the handle itself.
	if _, err := st.GetToken(ctx, handle); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("handle stored in clear")
	}

	v := provision(t, st, &Module{})
	in := sts.NewSTSUU()
	in.RST.Add(sts.NewAttribute("RequestType", sts.TypeRST, "validate"))
	vc := &sts.Call{Request: &sts.Request{Base: &sts.Token{Data: []byte(handle)}}, User: in}
	if err := v.ValidateToken(ctx, vc); err != nil {
		t.Fatal(err)
	}
	want := user()
	if vc.User.PrincipalName() != "alice" || !want.Attributes.Equal(vc.User.Attributes) || len(vc.User.Groups) != 1 {
		t.Fatalf("restored user differs: %+v", vc.User)
	}
	// The RST section is the validating request's, not the issuing one's.
	if got := sts.StringValue(vc.User.RST.Get("RequestType").Value()); got != "validate" {
		t.Fatalf("RST RequestType %q, want validate", got)
	}
	ctxWant := map[string]string{AttrClientID: "app", AttrScope: "read write",
		AttrSubjectExpiresAt: sts.StringValue(sts.MustValue(c.Output.ExpiresAt.Unix()))}
	for name, val := range ctxWant {
		a := vc.User.Context.GetByNameAndType(name, TypeToken)
		if a == nil || sts.StringValue(a.Value()) != val {
			t.Errorf("context %s = %v, want %q", name, a, val)
		}
	}
	// The JSON types of claims survive the store round trip.
	if got := vc.User.Attributes.Get("tenant").Value(); !sts.EqualValues(got, sts.MustValue(map[string]any{"id": 7})) {
		t.Fatalf("tenant claim %#v lost its type", got)
	}
}

func TestValidateRejects(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	m := provision(t, st, &Module{})
	c := &sts.Call{Request: &sts.Request{}, User: user()}
	if err := m.IssueToken(ctx, c); err != nil {
		t.Fatal(err)
	}
	good := string(c.Output.Data)
	// An expired record stays in the store until cleanup but is refused.
	expired := "expired-handle-0123456789abcdefghijklmnopqrstuvwxyz"
	if err := st.PutToken(ctx, &store.TokenRecord{ID: store.HashHandle(expired), Data: []byte(`{"v":1,"stsuu":{}}`),
		IssuedAt: time.Now().Add(-2 * time.Hour), ExpiresAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for name, handle := range map[string]string{
		"unknown":   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"truncated": good[:len(good)-1],
		"bad chars": good + "=",
		"too long":  strings.Repeat("a", MaxHandleLength+1),
		"empty":     "",
		"expired":   expired,
	} {
		t.Run(name, func(t *testing.T) {
			vc := &sts.Call{Request: &sts.Request{Base: &sts.Token{Data: []byte(handle)}}, User: sts.NewSTSUU()}
			err := m.ValidateToken(ctx, vc)
			if !errors.Is(err, sts.ErrInvalidToken) {
				t.Fatalf("got %v, want invalid_token", err)
			}
			if strings.Contains(err.Error(), handle) && handle != "" {
				t.Fatal("error reveals the handle")
			}
		})
	}
}

func TestStoreFailure(t *testing.T) {
	ctx := context.Background()
	st := storetest.NewFailing(memory.New())
	m := provision(t, st, &Module{})
	c := &sts.Call{Request: &sts.Request{}, User: user()}
	if err := m.IssueToken(ctx, c); err != nil {
		t.Fatal(err)
	}
	handle := string(c.Output.Data)
	st.SetFailing(true)

	c2 := &sts.Call{Request: &sts.Request{}, User: user()}
	err := m.IssueToken(ctx, c2)
	if !errors.Is(err, sts.ErrTemporarilyUnavailable) {
		t.Fatalf("issue with failing store: %v, want temporarily_unavailable", err)
	}
	if c2.Output != nil {
		t.Fatal("a token was issued although the store failed")
	}
	vc := &sts.Call{Request: &sts.Request{Base: &sts.Token{Data: []byte(handle)}}, User: sts.NewSTSUU()}
	if err := m.ValidateToken(ctx, vc); !errors.Is(err, sts.ErrTemporarilyUnavailable) {
		t.Fatalf("validate with failing store: %v, want temporarily_unavailable", err)
	}
	if vc.User.PrincipalName() != "" {
		t.Fatal("validate filled the user although the store failed")
	}
}

func TestLifetimeClampedToSubject(t *testing.T) {
	ctx := context.Background()
	limit := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	subject := func() *sts.STSUU {
		u := user()
		u.Context.Set(sts.NewAttribute(AttrSubjectExpiresAt, TypeToken, limit.Unix()))
		return u
	}
	for _, tc := range []struct {
		name   string
		m      *Module
		user   *sts.STSUU
		want   time.Duration // approximate lifetime from now
		errout bool
	}{
		{"clamped", &Module{}, subject(), 10 * time.Minute, false},
		{"shorter own lifetime", &Module{Lifetime: time.Minute}, subject(), time.Minute, false},
		{"extend allowed", &Module{ExtendLifetime: true}, subject(), time.Hour, false},
		{"no subject expiry", &Module{}, user(), time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := provision(t, memory.New(), tc.m)
			c := &sts.Call{Request: &sts.Request{}, User: tc.user}
			if err := m.IssueToken(ctx, c); err != nil {
				t.Fatal(err)
			}
			if d := time.Until(c.Output.ExpiresAt); d > tc.want || d < tc.want-5*time.Second {
				t.Fatalf("lifetime %v, want about %v", d, tc.want)
			}
		})
	}
	t.Run("subject expired", func(t *testing.T) {
		m := provision(t, memory.New(), &Module{})
		u := user()
		u.Context.Set(sts.NewAttribute(AttrSubjectExpiresAt, TypeToken, time.Now().Add(-time.Second).Unix()))
		c := &sts.Call{Request: &sts.Request{}, User: u}
		if err := m.IssueToken(ctx, c); !errors.Is(err, sts.ErrInvalidRequest) || c.Output != nil {
			t.Fatalf("got %v, want invalid_request and no token", err)
		}
	})
}

func TestScopeFromRule(t *testing.T) {
	u := user()
	u.Attributes.Add(sts.NewAttribute("scope", sts.TypeJWTIssueClaim, "read", "profile email"))
	c := &sts.Call{Request: &sts.Request{Scopes: []string{"ignored"}}, User: u}
	if got := Scope(c); got != "read profile email" {
		t.Fatalf("scope %q", got)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		m    Module
		path string
	}{
		{Module{HandleBytes: 16}, "handle_bytes"},
		{Module{HandleBytes: 1000}, "handle_bytes"},
		{Module{Lifetime: -time.Second}, "lifetime"},
		{Module{Prefix: "a b"}, "prefix"},
	} {
		m := tc.m
		if err := m.Provision(sts.ProvisionContext{Host: host{memory.New()}}); err != nil {
			t.Fatal(err)
		}
		var ce *sts.ConfigError
		if err := m.Validate(); !errors.As(err, &ce) || ce.Path != tc.path {
			t.Errorf("%+v: got %v, want config error at %s", tc.m, err, tc.path)
		}
	}
}

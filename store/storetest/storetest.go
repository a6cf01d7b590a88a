package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chainsts/chainsts/store"
)

// Run runs the conformance suite against stores made by open. Each subtest
// gets a fresh store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()

	t.Run("UseOnce", func(t *testing.T) {
		s := open(t)
		if err := s.UseOnce(ctx, "assertion", "j1", now.Add(time.Minute)); err != nil {
			t.Fatalf("first use: %v", err)
		}
		if err := s.UseOnce(ctx, "assertion", "j1", now.Add(time.Minute)); !errors.Is(err, store.ErrAlreadyUsed) {
			t.Fatalf("second use: got %v, want ErrAlreadyUsed", err)
		}
		// Namespaces are independent.
		if err := s.UseOnce(ctx, "client_assertion", "j1", now.Add(time.Minute)); err != nil {
			t.Fatalf("other namespace: %v", err)
		}
		// An expired record may be reused (the token it guarded is dead).
		if err := s.UseOnce(ctx, "assertion", "old", now.Add(-time.Second)); err != nil {
			t.Fatalf("expired insert: %v", err)
		}
		if err := s.UseOnce(ctx, "assertion", "old", now.Add(time.Minute)); err != nil {
			t.Fatalf("reuse after expiry: %v", err)
		}
		if err := s.UseOnce(ctx, "assertion", "old", now.Add(time.Minute)); !errors.Is(err, store.ErrAlreadyUsed) {
			t.Fatalf("replay after re-record: got %v", err)
		}
	})

	t.Run("UseOnceConcurrent", func(t *testing.T) {
		s := open(t)
		const n = 50
		var wins atomic.Int32
		var other atomic.Value
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := s.UseOnce(ctx, "assertion", "race", now.Add(time.Minute))
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, store.ErrAlreadyUsed):
				default:
					other.Store(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if e := other.Load(); e != nil {
			t.Fatalf("unexpected error: %v", e)
		}
		if got := wins.Load(); got != 1 {
			t.Fatalf("%d of %d concurrent uses succeeded, want exactly 1", got, n)
		}
	})

	t.Run("Tokens", func(t *testing.T) {
		s := open(t)
		iat := now.Truncate(time.Millisecond)
		rec := &store.TokenRecord{
			ID: store.HashHandle("handle-1"), ClientID: "c1", Subject: "alice",
			TokenType: "urn:ietf:params:oauth:token-type:access_token",
			Data:      []byte(`{"principal":[]}`), IssuedAt: iat, ExpiresAt: iat.Add(time.Hour),
		}
		if err := s.PutToken(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if err := s.PutToken(ctx, rec); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate put: got %v, want ErrConflict", err)
		}
		got, err := s.GetToken(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(rec, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("record (-want +got):\n%s", diff)
		}
		if _, err := s.GetToken(ctx, store.HashHandle("unknown")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown: got %v", err)
		}
		if err := s.DeleteToken(ctx, rec.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetToken(ctx, rec.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: got %v", err)
		}
		if err := s.DeleteToken(ctx, rec.ID); err != nil {
			t.Fatalf("delete absent: %v", err)
		}
		expired := &store.TokenRecord{ID: "expired", Data: []byte("x"), IssuedAt: iat.Add(-time.Hour), ExpiresAt: iat.Add(-time.Second)}
		if err := s.PutToken(ctx, expired); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetToken(ctx, "expired"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired: got %v", err)
		}
	})

	t.Run("Revocations", func(t *testing.T) {
		s := open(t)
		if r, err := s.IsRevoked(ctx, "j"); err != nil || r {
			t.Fatalf("fresh: %v %v", r, err)
		}
		if err := s.Revoke(ctx, "j", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.Revoke(ctx, "j", now.Add(time.Minute)); err != nil {
			t.Fatalf("revoke twice: %v", err)
		}
		if r, err := s.IsRevoked(ctx, "j"); err != nil || !r {
			t.Fatalf("revoked: %v %v", r, err)
		}
		if err := s.Revoke(ctx, "gone", now.Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if r, err := s.IsRevoked(ctx, "gone"); err != nil || r {
			t.Fatalf("expired revocation still listed: %v %v", r, err)
		}
	})

	t.Run("Cache", func(t *testing.T) {
		s := open(t)
		if err := s.CachePut(ctx, "k", "v1", time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.CachePut(ctx, "k", "v2", time.Minute); err != nil {
			t.Fatal(err)
		}
		if v, err := s.CacheGet(ctx, "k"); err != nil || v != "v2" {
			t.Fatalf("get: %q %v", v, err)
		}
		if ok, err := s.CacheExists(ctx, "k"); err != nil || !ok {
			t.Fatalf("exists: %v %v", ok, err)
		}
		if v, err := s.CacheGetAndRemove(ctx, "k"); err != nil || v != "v2" {
			t.Fatalf("get and remove: %q %v", v, err)
		}
		if _, err := s.CacheGet(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after remove: %v", err)
		}
		if ok, err := s.CacheExists(ctx, "k"); err != nil || ok {
			t.Fatalf("exists after remove: %v %v", ok, err)
		}
		if err := s.CachePut(ctx, "short", "v", -time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CacheGet(ctx, "short"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired entry returned: %v", err)
		}
		if _, err := s.CacheGetAndRemove(ctx, "short"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired entry removed and returned: %v", err)
		}
	})

	t.Run("CacheGetAndRemoveConcurrent", func(t *testing.T) {
		s := open(t)
		if err := s.CachePut(ctx, "once", "v", time.Minute); err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.CacheGetAndRemove(ctx, "once"); err == nil {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d callers got the value, want 1", wins.Load())
		}
	})

	t.Run("Clients", func(t *testing.T) {
		s := open(t)
		ts := now.Truncate(time.Millisecond)
		b := &store.ClientRecord{ID: "b", Data: []byte(`{"id":"b"}`), CreatedAt: ts, UpdatedAt: ts}
		a := &store.ClientRecord{ID: "a", Data: []byte(`{"id":"a"}`), CreatedAt: ts, UpdatedAt: ts}
		for _, c := range []*store.ClientRecord{b, a} {
			if err := s.CreateClient(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateClient(ctx, a); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate: %v", err)
		}
		a2 := &store.ClientRecord{ID: "a", Data: []byte(`{"id":"a","v":2}`), UpdatedAt: ts.Add(time.Second)}
		if err := s.UpdateClient(ctx, a2); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateClient(ctx, &store.ClientRecord{ID: "zz"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update absent: %v", err)
		}
		got, err := s.GetClient(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		want := &store.ClientRecord{ID: "a", Data: a2.Data, CreatedAt: ts, UpdatedAt: ts.Add(time.Second)}
		timeEq := cmp.Comparer(func(x, y time.Time) bool { return x.Equal(y) })
		if diff := cmp.Diff(want, got, timeEq); diff != "" {
			t.Fatalf("get (-want +got):\n%s", diff)
		}
		list, err := s.ListClients(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range list {
			ids = append(ids, c.ID)
		}
		if diff := cmp.Diff([]string{"a", "b"}, ids); diff != "" {
			t.Fatalf("list order (-want +got):\n%s", diff)
		}
		if err := s.DeleteClient(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteClient(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete absent: %v", err)
		}
		if _, err := s.GetClient(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get deleted: %v", err)
		}
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		s := open(t)
		past, future := now.Add(-time.Minute), now.Add(time.Hour)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(s.UseOnce(ctx, "ns", "old", past))
		must(s.UseOnce(ctx, "ns", "live", future))
		must(s.PutToken(ctx, &store.TokenRecord{ID: "old", Data: []byte("x"), ExpiresAt: past}))
		must(s.PutToken(ctx, &store.TokenRecord{ID: "live", Data: []byte("x"), ExpiresAt: future}))
		must(s.Revoke(ctx, "old", past))
		must(s.Revoke(ctx, "live", future))
		must(s.CachePut(ctx, "old", "x", -time.Minute))
		must(s.CachePut(ctx, "live", "x", time.Hour))
		n, err := s.DeleteExpired(ctx, now)
		must(err)
		if n != 4 {
			t.Fatalf("deleted %d records, want 4", n)
		}
		if err := s.UseOnce(ctx, "ns", "live", future); !errors.Is(err, store.ErrAlreadyUsed) {
			t.Fatalf("live replay record removed: %v", err)
		}
		if _, err := s.GetToken(ctx, "live"); err != nil {
			t.Fatalf("live token removed: %v", err)
		}
		if r, _ := s.IsRevoked(ctx, "live"); !r {
			t.Fatal("live revocation removed")
		}
		if _, err := s.CacheGet(ctx, "live"); err != nil {
			t.Fatalf("live cache entry removed: %v", err)
		}
	})

	t.Run("Ping", func(t *testing.T) {
		if err := open(t).Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// ErrInjected is the error a Failing store returns while failing.
var ErrInjected = errors.New("storetest: injected store failure")

// Failing wraps a store and fails every operation with ErrInjected while
// Fail is set, as a store outage would. Calls counts the operations that
// reached the wrapper while failing.
type Failing struct {
	store.Store
	fail  atomic.Bool
	Calls atomic.Int64
}

// NewFailing wraps s; it starts healthy.
func NewFailing(s store.Store) *Failing { return &Failing{Store: s} }

// SetFailing turns the injected failure on or off.
func (f *Failing) SetFailing(on bool) { f.fail.Store(on) }

func (f *Failing) err(op string) error {
	if f.fail.Load() {
		f.Calls.Add(1)
		return fmt.Errorf("%s: %w", op, ErrInjected)
	}
	return nil
}

// UseOnce implements store.Replays.
func (f *Failing) UseOnce(ctx context.Context, ns, id string, exp time.Time) error {
	if err := f.err("use once"); err != nil {
		return err
	}
	return f.Store.UseOnce(ctx, ns, id, exp)
}

// PutToken implements store.Tokens.
func (f *Failing) PutToken(ctx context.Context, rec *store.TokenRecord) error {
	if err := f.err("put token"); err != nil {
		return err
	}
	return f.Store.PutToken(ctx, rec)
}

// GetToken implements store.Tokens.
func (f *Failing) GetToken(ctx context.Context, id string) (*store.TokenRecord, error) {
	if err := f.err("get token"); err != nil {
		return nil, err
	}
	return f.Store.GetToken(ctx, id)
}

// DeleteToken implements store.Tokens.
func (f *Failing) DeleteToken(ctx context.Context, id string) error {
	if err := f.err("delete token"); err != nil {
		return err
	}
	return f.Store.DeleteToken(ctx, id)
}

// Revoke implements store.Revocations.
func (f *Failing) Revoke(ctx context.Context, jti string, exp time.Time) error {
	if err := f.err("revoke"); err != nil {
		return err
	}
	return f.Store.Revoke(ctx, jti, exp)
}

// IsRevoked implements store.Revocations.
func (f *Failing) IsRevoked(ctx context.Context, jti string) (bool, error) {
	if err := f.err("is revoked"); err != nil {
		return false, err
	}
	return f.Store.IsRevoked(ctx, jti)
}

// CachePut implements store.Cache.
func (f *Failing) CachePut(ctx context.Context, k, v string, d time.Duration) error {
	if err := f.err("cache put"); err != nil {
		return err
	}
	return f.Store.CachePut(ctx, k, v, d)
}

// CacheGet implements store.Cache.
func (f *Failing) CacheGet(ctx context.Context, k string) (string, error) {
	if err := f.err("cache get"); err != nil {
		return "", err
	}
	return f.Store.CacheGet(ctx, k)
}

// CacheGetAndRemove implements store.Cache.
func (f *Failing) CacheGetAndRemove(ctx context.Context, k string) (string, error) {
	if err := f.err("cache get and remove"); err != nil {
		return "", err
	}
	return f.Store.CacheGetAndRemove(ctx, k)
}

// CacheExists implements store.Cache.
func (f *Failing) CacheExists(ctx context.Context, k string) (bool, error) {
	if err := f.err("cache exists"); err != nil {
		return false, err
	}
	return f.Store.CacheExists(ctx, k)
}

// GetClient implements store.Clients.
func (f *Failing) GetClient(ctx context.Context, id string) (*store.ClientRecord, error) {
	if err := f.err("get client"); err != nil {
		return nil, err
	}
	return f.Store.GetClient(ctx, id)
}

// Ping implements store.Store.
func (f *Failing) Ping(ctx context.Context) error {
	if err := f.err("ping"); err != nil {
		return err
	}
	return f.Store.Ping(ctx)
}

var _ store.Store = (*Failing)(nil)

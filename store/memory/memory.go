package memory

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/chainsts/chainsts/store"
)

func init() {
	store.RegisterDriver("memory", func(_ context.Context, name string) (store.Store, error) {
		return Named(name), nil
	})
}

var (
	namedMu sync.Mutex
	named   = map[string]*Store{}
)

// Named returns the process-wide memory store with the name, creating it on
// first use, so a configuration reload finds the same state.
func Named(name string) *Store {
	namedMu.Lock()
	defer namedMu.Unlock()
	if s, ok := named[name]; ok {
		return s
	}
	s := New()
	named[name] = s
	return s
}

type entry struct {
	value string
	exp   time.Time
}

// Store is the memory backend. The zero value is not usable; call New.
type Store struct {
	mu          sync.Mutex
	now         func() time.Time
	replays     map[string]time.Time
	tokens      map[string]store.TokenRecord
	revocations map[string]time.Time
	cache       map[string]entry
	clients     map[string]store.ClientRecord
}

// New returns an empty memory store.
func New() *Store {
	return &Store{
		now:         time.Now,
		replays:     map[string]time.Time{},
		tokens:      map[string]store.TokenRecord{},
		revocations: map[string]time.Time{},
		cache:       map[string]entry{},
		clients:     map[string]store.ClientRecord{},
	}
}

// UseOnce implements store.Replays.
func (s *Store) UseOnce(_ context.Context, namespace, id string, exp time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := namespace + "\x00" + id
	if cur, ok := s.replays[k]; ok && cur.After(s.now()) {
		return store.ErrAlreadyUsed
	}
	s.replays[k] = exp
	return nil
}

// PutToken implements store.Tokens.
func (s *Store) PutToken(_ context.Context, rec *store.TokenRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tokens[rec.ID]; ok {
		return store.ErrConflict
	}
	c := *rec
	c.Data = slices.Clone(rec.Data)
	s.tokens[rec.ID] = c
	return nil
}

// GetToken implements store.Tokens.
func (s *Store) GetToken(_ context.Context, id string) (*store.TokenRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.tokens[id]
	if !ok || !rec.ExpiresAt.After(s.now()) {
		return nil, store.ErrNotFound
	}
	rec.Data = slices.Clone(rec.Data)
	return &rec, nil
}

// DeleteToken implements store.Tokens.
func (s *Store) DeleteToken(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, id)
	return nil
}

// Revoke implements store.Revocations.
func (s *Store) Revoke(_ context.Context, jti string, exp time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.revocations[jti]; ok && cur.After(exp) {
		return nil
	}
	s.revocations[jti] = exp
	return nil
}

// IsRevoked implements store.Revocations.
func (s *Store) IsRevoked(_ context.Context, jti string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.revocations[jti]
	return ok && exp.After(s.now()), nil
}

// CachePut implements store.Cache.
func (s *Store) CachePut(_ context.Context, key, value string, lifetime time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache[key] = entry{value: value, exp: s.now().Add(lifetime)}
	return nil
}

func (s *Store) cacheGet(key string, remove bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.cache[key]
	if !ok || !e.exp.After(s.now()) {
		return "", store.ErrNotFound
	}
	if remove {
		delete(s.cache, key)
	}
	return e.value, nil
}

// CacheGet implements store.Cache.
func (s *Store) CacheGet(_ context.Context, key string) (string, error) {
	return s.cacheGet(key, false)
}

// CacheGetAndRemove implements store.Cache.
func (s *Store) CacheGetAndRemove(_ context.Context, key string) (string, error) {
	return s.cacheGet(key, true)
}

// CacheExists implements store.Cache.
func (s *Store) CacheExists(_ context.Context, key string) (bool, error) {
	_, err := s.cacheGet(key, false)
	return err == nil, nil
}

// CreateClient implements store.Clients.
func (s *Store) CreateClient(_ context.Context, rec *store.ClientRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[rec.ID]; ok {
		return store.ErrConflict
	}
	c := *rec
	c.Data = slices.Clone(rec.Data)
	s.clients[rec.ID] = c
	return nil
}

// UpdateClient implements store.Clients.
func (s *Store) UpdateClient(_ context.Context, rec *store.ClientRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.clients[rec.ID]
	if !ok {
		return store.ErrNotFound
	}
	cur.Data = slices.Clone(rec.Data)
	cur.UpdatedAt = rec.UpdatedAt
	s.clients[rec.ID] = cur
	return nil
}

// GetClient implements store.Clients.
func (s *Store) GetClient(_ context.Context, id string) (*store.ClientRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.clients[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	rec.Data = slices.Clone(rec.Data)
	return &rec, nil
}

// DeleteClient implements store.Clients.
func (s *Store) DeleteClient(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[id]; !ok {
		return store.ErrNotFound
	}
	delete(s.clients, id)
	return nil
}

// ListClients implements store.Clients.
func (s *Store) ListClients(_ context.Context) ([]*store.ClientRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*store.ClientRecord, 0, len(s.clients))
	for _, rec := range s.clients {
		rec.Data = slices.Clone(rec.Data)
		out = append(out, &rec)
	}
	slices.SortFunc(out, func(a, b *store.ClientRecord) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out, nil
}

// DeleteExpired implements store.Store.
func (s *Store) DeleteExpired(_ context.Context, now time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for k, exp := range s.replays {
		if !exp.After(now) {
			delete(s.replays, k)
			n++
		}
	}
	for k, rec := range s.tokens {
		if !rec.ExpiresAt.After(now) {
			delete(s.tokens, k)
			n++
		}
	}
	for k, exp := range s.revocations {
		if !exp.After(now) {
			delete(s.revocations, k)
			n++
		}
	}
	for k, e := range s.cache {
		if !e.exp.After(now) {
			delete(s.cache, k)
			n++
		}
	}
	return n, nil
}

// Ping implements store.Store.
func (s *Store) Ping(context.Context) error { return nil }

// Close implements store.Store. The state stays reachable through Named.
func (s *Store) Close() error { return nil }

var _ store.Store = (*Store)(nil)

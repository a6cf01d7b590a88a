package mappingrules

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/chainsts/chainsts/store"
)

// Cache backs IDMappingExtCache (ISAM-COMPAT §3.4). The store app
// implements it (entries shared by every node); NewMemoryCache is the
// single-process fallback. Get and GetAndRemove report a missing or expired
// entry with store.ErrNotFound.
type Cache interface {
	CachePut(ctx context.Context, key, value string, lifetime time.Duration) error
	CacheGet(ctx context.Context, key string) (string, error)
	CacheGetAndRemove(ctx context.Context, key string) (string, error)
	CacheExists(ctx context.Context, key string) (bool, error)
}

var _ Cache = store.Cache(nil)

var errCacheMiss = store.ErrNotFound

func isStoreNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// maxMemoryEntries bounds the in-memory cache; the oldest-expiring entries
// are dropped first when it is full.
const maxMemoryEntries = 100000

type memEntry struct {
	value string
	exp   time.Time
}

// MemoryCache is an in-process Cache with per-entry lifetimes.
type MemoryCache struct {
	mu sync.Mutex
	m  map[string]memEntry
	// now is replaceable in tests.
	now func() time.Time
}

// NewMemoryCache returns an empty in-memory cache.
func NewMemoryCache() *MemoryCache {
	return &MemoryCache{m: map[string]memEntry{}, now: time.Now}
}

// CachePut implements Cache.
func (c *MemoryCache) CachePut(_ context.Context, key, value string, lifetime time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.m) >= maxMemoryEntries {
		for k, e := range c.m {
			if !e.exp.After(now) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < maxMemoryEntries {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = memEntry{value: value, exp: now.Add(lifetime)}
	return nil
}

func (c *MemoryCache) get(key string, remove bool) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !e.exp.After(c.now()) {
		delete(c.m, key)
		return "", store.ErrNotFound
	}
	if remove {
		delete(c.m, key)
	}
	return e.value, nil
}

// CacheGet implements Cache.
func (c *MemoryCache) CacheGet(_ context.Context, key string) (string, error) {
	return c.get(key, false)
}

// CacheGetAndRemove implements Cache.
func (c *MemoryCache) CacheGetAndRemove(_ context.Context, key string) (string, error) {
	return c.get(key, true)
}

// CacheExists implements Cache.
func (c *MemoryCache) CacheExists(_ context.Context, key string) (bool, error) {
	_, err := c.get(key, false)
	return err == nil, nil
}

package store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/chainsts/chainsts/sts"
)

// Sentinel errors. Every other error a Store returns is a backend failure.
var (
	// ErrNotFound is returned when a record does not exist or has expired.
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyUsed is returned by UseOnce when the identifier was recorded
	// before and its record has not expired: the token is a replay.
	ErrAlreadyUsed = errors.New("store: already used")
	// ErrConflict is returned when creating a record whose key exists.
	ErrConflict = errors.New("store: record exists")
)

// Replays records single-use identifiers (the jti of JWT bearer assertions
// and client assertions, SECURITY §1.9).
type Replays interface {
	// UseOnce records id in namespace until exp. It returns nil when id was
	// not recorded before (or its record had expired), ErrAlreadyUsed when it
	// was. The check and the write are one atomic operation: of any number
	// of concurrent calls with the same namespace and id, exactly one
	// returns nil. Any other error means the store could not decide, and
	// the caller must refuse the token.
	UseOnce(ctx context.Context, namespace, id string, exp time.Time) error
}

// TokenRecord is an opaque (reference) token as the store keeps it. The
// handle itself is never stored: ID is HashHandle(handle), so reading the
// store does not yield usable tokens.
type TokenRecord struct {
	// ID is HashHandle of the handle the client holds.
	ID string
	// ClientID is the client the token was issued to ("" when none).
	ClientID string
	// Subject is the principal name, for introspection and listing.
	Subject string
	// TokenType is the token type URI the handle was issued as.
	TokenType string
	// Data is the serialized universal user and metadata the issuing module
	// keeps with the handle; the store does not interpret it.
	Data []byte
	// IssuedAt and ExpiresAt bound the token's life; an expired record is
	// never returned.
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Tokens keeps opaque tokens.
type Tokens interface {
	// PutToken stores a new token record. A record with the same ID is
	// ErrConflict (handles are random; a collision means a broken random
	// source, never something to overwrite).
	PutToken(ctx context.Context, rec *TokenRecord) error
	// GetToken returns the unexpired record with the ID, or ErrNotFound.
	GetToken(ctx context.Context, id string) (*TokenRecord, error)
	// DeleteToken removes the record; deleting an absent record is not an
	// error (RFC 7009 §2.2: revoking an unknown token succeeds).
	DeleteToken(ctx context.Context, id string) error
}

// Revocations is the deny list of revoked self-contained tokens, keyed by
// their jti and kept until the token would have expired anyway.
type Revocations interface {
	// Revoke adds jti to the deny list until exp. Revoking twice is not an
	// error.
	Revoke(ctx context.Context, jti string, exp time.Time) error
	// IsRevoked reports whether jti is on the deny list.
	IsRevoked(ctx context.Context, jti string) (bool, error)
}

// Cache is the store-backed key/value cache behind the mapping rules'
// IDMappingExtCache (ISAM-COMPAT §3.4): entries with a lifetime, shared by
// every node using the same store.
type Cache interface {
	// CachePut sets key to value for lifetime (replacing any entry).
	CachePut(ctx context.Context, key, value string, lifetime time.Duration) error
	// CacheGet returns the unexpired value, or ErrNotFound.
	CacheGet(ctx context.Context, key string) (string, error)
	// CacheGetAndRemove returns the unexpired value and removes it
	// atomically: of concurrent callers exactly one gets the value, the
	// others get ErrNotFound.
	CacheGetAndRemove(ctx context.Context, key string) (string, error)
	// CacheExists reports whether an unexpired entry exists.
	CacheExists(ctx context.Context, key string) (bool, error)
}

// ClientRecord is an OAuth client created at run time (through the admin
// API), kept as the clients package's JSON document.
type ClientRecord struct {
	ID        string
	Data      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Clients keeps run-time OAuth clients.
type Clients interface {
	// CreateClient stores a new client; an existing ID is ErrConflict.
	CreateClient(ctx context.Context, rec *ClientRecord) error
	// UpdateClient replaces an existing client's document; an absent ID is
	// ErrNotFound.
	UpdateClient(ctx context.Context, rec *ClientRecord) error
	// GetClient returns the client with the ID, or ErrNotFound.
	GetClient(ctx context.Context, id string) (*ClientRecord, error)
	// DeleteClient removes the client; an absent ID is ErrNotFound.
	DeleteClient(ctx context.Context, id string) error
	// ListClients returns every run-time client ordered by ID.
	ListClients(ctx context.Context) ([]*ClientRecord, error)
}

// Store is the whole state interface a backend implements.
type Store interface {
	Replays
	Tokens
	Revocations
	Cache
	Clients
	// DeleteExpired removes every record that expired before now and
	// returns how many it removed. The store app calls it periodically;
	// expired records are never returned even before they are removed.
	DeleteExpired(ctx context.Context, now time.Time) (int64, error)
	// Ping checks that the backend answers (readiness).
	Ping(ctx context.Context) error
	// Close releases the backend.
	Close() error
}

// HashHandle returns the ID under which an opaque token handle is stored:
// the unpadded base64url SHA-256 of the handle. Handles carry at least 256
// random bits, so a fast hash is enough to keep a store dump from yielding
// usable tokens.
func HashHandle(handle string) string {
	sum := sha256.Sum256([]byte(handle))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Unavailable turns a store error into the error an entry point answers
// with: the sentinels pass through unchanged (the caller decides what they
// mean), anything else becomes 503 temporarily_unavailable with the store
// error as hidden cause (SECURITY §5.2).
func Unavailable(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrAlreadyUsed) || errors.Is(err, ErrConflict) {
		return err
	}
	var se *sts.Error
	if errors.As(err, &se) {
		return err
	}
	return sts.ErrTemporarilyUnavailable.WithCause(err)
}

package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/chainsts/chainsts/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	store.RegisterDriver("sqlite", func(ctx context.Context, path string) (store.Store, error) {
		return Open(ctx, path)
	})
}

// Store is the SQLite backend.
type Store struct {
	w    *sql.DB
	r    *sql.DB
	path string
}

// Open opens (creating if needed) the database file at path and applies
// pending migrations. The directory is created with mode 0700 and the file
// with 0600: the store holds state that must not be world-readable.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite store: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	f.Close()

	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	pragmas := "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
	w, err := sql.Open("sqlite", base+"?"+pragmas+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, path: path}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", base+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s.r = r
	return s, nil
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, each in its own transaction, in file-name order.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite store %s: migrations table: %w", s.path, err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		num, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("sqlite store: migration %s: name must start with a number", base)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if err := s.apply(ctx, version, string(body)); err != nil {
			return fmt.Errorf("sqlite store %s: migration %s: %w", s.path, base, err)
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, version int, body string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		version, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v) }

func (s *Store) wrap(op string, err error) error {
	return fmt.Errorf("sqlite store %s: %s: %w", s.path, op, err)
}

// UseOnce implements store.Replays with one upsert: a new id is inserted, an
// expired record is overwritten, a live record is left alone and the
// statement changes no row.
func (s *Store) UseOnce(ctx context.Context, namespace, id string, exp time.Time) error {
	res, err := s.w.ExecContext(ctx, `INSERT INTO replays (namespace, id, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (namespace, id) DO UPDATE SET expires_at = excluded.expires_at
		WHERE replays.expires_at <= ?`, namespace, id, ms(exp), ms(time.Now()))
	if err != nil {
		return s.wrap("use once", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap("use once", err)
	}
	if n == 0 {
		return store.ErrAlreadyUsed
	}
	return nil
}

// PutToken implements store.Tokens.
func (s *Store) PutToken(ctx context.Context, rec *store.TokenRecord) error {
	res, err := s.w.ExecContext(ctx, `INSERT INTO tokens (id, client_id, subject, token_type, data, issued_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		rec.ID, rec.ClientID, rec.Subject, rec.TokenType, rec.Data, ms(rec.IssuedAt), ms(rec.ExpiresAt))
	if err != nil {
		return s.wrap("put token", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap("put token", err)
	} else if n == 0 {
		return store.ErrConflict
	}
	return nil
}

// GetToken implements store.Tokens.
func (s *Store) GetToken(ctx context.Context, id string) (*store.TokenRecord, error) {
	rec := &store.TokenRecord{ID: id}
	var iat, exp int64
	err := s.r.QueryRowContext(ctx, `SELECT client_id, subject, token_type, data, issued_at, expires_at
		FROM tokens WHERE id = ? AND expires_at > ?`, id, ms(time.Now())).
		Scan(&rec.ClientID, &rec.Subject, &rec.TokenType, &rec.Data, &iat, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, s.wrap("get token", err)
	}
	rec.IssuedAt, rec.ExpiresAt = fromMS(iat), fromMS(exp)
	return rec, nil
}

// DeleteToken implements store.Tokens.
func (s *Store) DeleteToken(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, id); err != nil {
		return s.wrap("delete token", err)
	}
	return nil
}

// Revoke implements store.Revocations; a later expiry wins.
func (s *Store) Revoke(ctx context.Context, jti string, exp time.Time) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO revocations (jti, expires_at) VALUES (?, ?)
		ON CONFLICT (jti) DO UPDATE SET expires_at = MAX(revocations.expires_at, excluded.expires_at)`,
		jti, ms(exp)); err != nil {
		return s.wrap("revoke", err)
	}
	return nil
}

// IsRevoked implements store.Revocations.
func (s *Store) IsRevoked(ctx context.Context, jti string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM revocations WHERE jti = ? AND expires_at > ?`,
		jti, ms(time.Now())).Scan(&n)
	if err != nil {
		return false, s.wrap("is revoked", err)
	}
	return n > 0, nil
}

// CachePut implements store.Cache.
func (s *Store) CachePut(ctx context.Context, key, value string, lifetime time.Duration) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO cache (key, value, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
		key, value, ms(time.Now().Add(lifetime))); err != nil {
		return s.wrap("cache put", err)
	}
	return nil
}

// CacheGet implements store.Cache.
func (s *Store) CacheGet(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM cache WHERE key = ? AND expires_at > ?`,
		key, ms(time.Now())).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", s.wrap("cache get", err)
	}
	return v, nil
}

// CacheGetAndRemove implements store.Cache with one DELETE ... RETURNING,
// so two callers can never both receive the value.
func (s *Store) CacheGetAndRemove(ctx context.Context, key string) (string, error) {
	var v string
	var exp int64
	err := s.w.QueryRowContext(ctx, `DELETE FROM cache WHERE key = ? RETURNING value, expires_at`, key).Scan(&v, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", s.wrap("cache get and remove", err)
	}
	if exp <= ms(time.Now()) {
		return "", store.ErrNotFound
	}
	return v, nil
}

// CacheExists implements store.Cache.
func (s *Store) CacheExists(ctx context.Context, key string) (bool, error) {
	_, err := s.CacheGet(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// CreateClient implements store.Clients.
func (s *Store) CreateClient(ctx context.Context, rec *store.ClientRecord) error {
	res, err := s.w.ExecContext(ctx, `INSERT INTO clients (id, data, created_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, rec.ID, rec.Data, ms(rec.CreatedAt), ms(rec.UpdatedAt))
	if err != nil {
		return s.wrap("create client", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap("create client", err)
	} else if n == 0 {
		return store.ErrConflict
	}
	return nil
}

// UpdateClient implements store.Clients.
func (s *Store) UpdateClient(ctx context.Context, rec *store.ClientRecord) error {
	res, err := s.w.ExecContext(ctx, `UPDATE clients SET data = ?, updated_at = ? WHERE id = ?`,
		rec.Data, ms(rec.UpdatedAt), rec.ID)
	if err != nil {
		return s.wrap("update client", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap("update client", err)
	} else if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// GetClient implements store.Clients.
func (s *Store) GetClient(ctx context.Context, id string) (*store.ClientRecord, error) {
	rec := &store.ClientRecord{ID: id}
	var c, u int64
	err := s.r.QueryRowContext(ctx, `SELECT data, created_at, updated_at FROM clients WHERE id = ?`, id).
		Scan(&rec.Data, &c, &u)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, s.wrap("get client", err)
	}
	rec.CreatedAt, rec.UpdatedAt = fromMS(c), fromMS(u)
	return rec, nil
}

// DeleteClient implements store.Clients.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM clients WHERE id = ?`, id)
	if err != nil {
		return s.wrap("delete client", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap("delete client", err)
	} else if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ListClients implements store.Clients.
func (s *Store) ListClients(ctx context.Context) ([]*store.ClientRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, data, created_at, updated_at FROM clients ORDER BY id`)
	if err != nil {
		return nil, s.wrap("list clients", err)
	}
	defer rows.Close()
	var out []*store.ClientRecord
	for rows.Next() {
		rec := &store.ClientRecord{}
		var c, u int64
		if err := rows.Scan(&rec.ID, &rec.Data, &c, &u); err != nil {
			return nil, s.wrap("list clients", err)
		}
		rec.CreatedAt, rec.UpdatedAt = fromMS(c), fromMS(u)
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list clients", err)
	}
	return out, nil
}

// DeleteExpired implements store.Store.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for _, table := range []string{"replays", "tokens", "revocations", "cache"} {
		res, err := s.w.ExecContext(ctx, `DELETE FROM `+table+` WHERE expires_at <= ?`, ms(now))
		if err != nil {
			return total, s.wrap("delete expired "+table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, s.wrap("delete expired "+table, err)
		}
		total += n
	}
	return total, nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return s.wrap("ping", err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

var _ store.Store = (*Store)(nil)

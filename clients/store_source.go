package clients

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/chainsts/chainsts/store"
)

// StoreSource serves the clients created at run time, kept in the store as
// JSON documents with the same keys as a `clients.static` entry. Each
// lookup reads the store, so a client created, changed or deleted on one
// node is seen by every node sharing the store.
type StoreSource struct {
	Store store.Clients
	App   *App
}

// Client implements Source. A store failure is returned as an error (the
// caller answers 503); an absent client is nil, nil.
func (s *StoreSource) Client(ctx context.Context, id string) (*Client, error) {
	rec, err := s.Store.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c, err := DecodeClient(rec.Data)
	if err != nil {
		return nil, fmt.Errorf("stored client %q: %w", id, err)
	}
	if c.ID != id {
		return nil, fmt.Errorf("stored client %q holds id %q", id, c.ID)
	}
	if err := s.App.PrepareClient(c); err != nil {
		return nil, fmt.Errorf("stored client %q: %w", id, err)
	}
	return c, nil
}

// Create checks a new client like a configured one and stores it; an
// existing id is store.ErrConflict.
func (s *StoreSource) Create(ctx context.Context, c *Client) error {
	if err := s.App.PrepareClient(c); err != nil {
		return err
	}
	if st, ok := s.App.byID[c.ID]; ok && st != nil {
		return fmt.Errorf("client %q is defined in the configuration: %w", c.ID, store.ErrConflict)
	}
	data, err := EncodeClient(c)
	if err != nil {
		return err
	}
	now := time.Now()
	return s.Store.CreateClient(ctx, &store.ClientRecord{ID: c.ID, Data: data, CreatedAt: now, UpdatedAt: now})
}

// EncodeClient writes a client as the JSON document the store keeps.
func EncodeClient(c *Client) ([]byte, error) {
	return yaml.MarshalWithOptions(c, yaml.JSON(), yaml.Flow(true))
}

// DecodeClient reads a stored client document strictly: an unknown key is
// an error, as in the configuration.
func DecodeClient(data []byte) (*Client, error) {
	c := new(Client)
	if err := yaml.UnmarshalWithOptions(data, c, yaml.Strict()); err != nil {
		return nil, err
	}
	return c, nil
}

var _ Source = (*StoreSource)(nil)

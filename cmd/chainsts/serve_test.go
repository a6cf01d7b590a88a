package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// A change made after the configuration was read but before the watcher's
// first look must still cause a reload: the watcher compares with the
// stamp taken before the load, not with the files it first sees.
func TestWatchConfigSeesChangeBeforeItStarts(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "chainsts.yaml")
	if err := os.WriteFile(cfg, []byte("chains: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded := configStamp(cfg)
	// A different size: visible even within one modification-time tick.
	if err := os.WriteFile(cfg, []byte("chains: []\n# edited\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reload := make(chan os.Signal, 1)
	go watchConfig(ctx, cfg, loaded, 10*time.Millisecond, reload, hclog.NewNullLogger())
	select {
	case <-reload:
	case <-time.After(5 * time.Second):
		t.Fatal("no reload for a change made before the watcher started")
	}
}

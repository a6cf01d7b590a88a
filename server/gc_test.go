package server

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestTuneGC checks that server.gc reaches the runtime, and that GOGC and
// GOMEMLIMIT in the environment win over it.
func TestTuneGC(t *testing.T) {
	prevPercent := debug.SetGCPercent(100)
	prevLimit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	})
	reset := func() {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	}
	current := func() (int, int64) {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p, debug.SetMemoryLimit(-1) // a negative limit only reads it
	}
	log := hclog.NewNullLogger()
	tests := []struct {
		name      string
		gc        GC
		env       map[string]string
		percent   int
		limitMiB  int64
		unlimited bool
	}{
		{"defaults", NewConfig().GC, nil, DefaultGCPercent, 0, true},
		{"both set", GC{Percent: 250, MemoryLimitMB: 64}, nil, 250, 64, false},
		{"negative percent leaves the runtime alone", GC{Percent: -1}, nil, 100, 0, true},
		{"environment wins", GC{Percent: 400, MemoryLimitMB: 64}, map[string]string{"GOGC": "150", "GOMEMLIMIT": "1GiB"}, 100, 0, true},
		{"GOGC alone", GC{Percent: 400, MemoryLimitMB: 64}, map[string]string{"GOGC": "150"}, 100, 64, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reset()
			tuneGC(tt.gc, func(k string) string { return tt.env[k] }, log)
			p, lim := current()
			if p != tt.percent {
				t.Errorf("GC percent %d, want %d", p, tt.percent)
			}
			if tt.unlimited && lim != math.MaxInt64 {
				t.Errorf("memory limit %d, want none", lim)
			}
			if !tt.unlimited && lim != tt.limitMiB<<20 {
				t.Errorf("memory limit %d, want %d MiB", lim, tt.limitMiB)
			}
		})
	}
}

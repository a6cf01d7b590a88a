package server

import (
	"math"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit bounds how often the native API may be called (SECURITY
// §2.8). Buckets are kept per process and survive reloads; a reload
// changes their rates.
type RateLimit struct {
	// PerClient is the sustained requests per second of one authenticated
	// client (default 1000; negative: unlimited).
	PerClient float64 `yaml:"per_client"`
	// Burst is the client bucket's size (default twice PerClient).
	Burst int `yaml:"burst"`
	// AuthFailuresPerAddress is how many failed client authentications per
	// second one source address may make before its requests are refused
	// unchecked (default 5, burst 20; negative: unlimited). It bounds
	// secret guessing and the CPU slow hashes cost, without slowing
	// callers that authenticate correctly.
	AuthFailuresPerAddress float64 `yaml:"auth_failures_per_address"`
	// Disabled turns every limit off.
	Disabled bool `yaml:"disabled"`
}

func (c RateLimit) withDefaults() RateLimit {
	if c.PerClient == 0 {
		c.PerClient = 1000
	}
	if c.Burst <= 0 {
		c.Burst = int(math.Ceil(2 * c.PerClient))
	}
	if c.AuthFailuresPerAddress == 0 {
		c.AuthFailuresPerAddress = 5
	}
	return c
}

// maxBuckets bounds each bucket map; when full it is cleared, which only
// hands out fresh buckets.
const maxBuckets = 50000

// authFailureBurst is the failure bucket's size.
const authFailureBurst = 20

type limiters struct {
	mu        sync.Mutex
	byClient  map[string]*rate.Limiter
	byAddress map[string]*rate.Limiter
	now       func() time.Time
}

func newLimiters() *limiters {
	return &limiters{byClient: map[string]*rate.Limiter{}, byAddress: map[string]*rate.Limiter{}, now: time.Now}
}

func (l *limiters) bucket(m map[string]*rate.Limiter, key string, r float64, burst int) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := m[key]
	if !ok {
		if len(m) >= maxBuckets {
			clear(m)
		}
		lim = rate.NewLimiter(rate.Limit(r), burst)
		m[key] = lim
		return lim
	}
	if lim.Limit() != rate.Limit(r) {
		lim.SetLimitAt(l.now(), rate.Limit(r))
	}
	if lim.Burst() != burst {
		lim.SetBurstAt(l.now(), burst)
	}
	return lim
}

// allowClient takes a token from the client's bucket, returning the
// seconds to wait when it is empty.
func (l *limiters) allowClient(cfg RateLimit, id string) (int, bool) {
	cfg = cfg.withDefaults()
	if cfg.Disabled || cfg.PerClient < 0 {
		return 0, true
	}
	return take(l.bucket(l.byClient, id, cfg.PerClient, cfg.Burst), l.now())
}

// addressBlocked reports whether the address has used up its
// authentication failures, without taking a token.
func (l *limiters) addressBlocked(cfg RateLimit, remote string) (int, bool) {
	cfg = cfg.withDefaults()
	if cfg.Disabled || cfg.AuthFailuresPerAddress < 0 {
		return 0, false
	}
	lim := l.bucket(l.byAddress, hostOf(remote), cfg.AuthFailuresPerAddress, authFailureBurst)
	now := l.now()
	if lim.TokensAt(now) >= 1 {
		return 0, false
	}
	wait := (1 - lim.TokensAt(now)) / cfg.AuthFailuresPerAddress
	return int(math.Ceil(wait)), true
}

// authFailed takes a token from the address's failure bucket.
func (l *limiters) authFailed(cfg RateLimit, remote string) {
	cfg = cfg.withDefaults()
	if cfg.Disabled || cfg.AuthFailuresPerAddress < 0 {
		return
	}
	l.bucket(l.byAddress, hostOf(remote), cfg.AuthFailuresPerAddress, authFailureBurst).AllowN(l.now(), 1)
}

func take(lim *rate.Limiter, now time.Time) (int, bool) {
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return 1, false
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return int(math.Ceil(d.Seconds())), false
	}
	return 0, true
}

func hostOf(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}

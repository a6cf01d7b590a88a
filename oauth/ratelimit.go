package oauth

import (
	"math"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimiters bounds each limiter map; when full it is cleared, which only
// forgets partially used buckets (clients get a fresh burst).
const maxLimiters = 50000

// limiters are token buckets per client and per source address (SECURITY
// §2.8). Buckets live in memory on each node: a node enforces its own
// share, which is what protects it.
type limiters struct {
	cfg       RateLimitConfig
	mu        sync.Mutex
	byClient  map[string]*rate.Limiter
	byAddress map[string]*rate.Limiter
	now       func() time.Time
}

func newLimiters(cfg RateLimitConfig) *limiters {
	if cfg.PerClient == 0 {
		cfg.PerClient = 200
	}
	if cfg.PerAddress == 0 {
		cfg.PerAddress = 500
	}
	return &limiters{cfg: cfg, byClient: map[string]*rate.Limiter{}, byAddress: map[string]*rate.Limiter{}, now: time.Now}
}

// allowClient takes a token from the client's bucket; when empty it
// returns false and the seconds to wait (Retry-After).
func (l *limiters) allowClient(id string) (int, bool) {
	return l.allow(l.byClient, id, l.cfg.PerClient, l.cfg.Burst)
}

// allowAddress takes a token from the source address's bucket.
func (l *limiters) allowAddress(remote string) (int, bool) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	return l.allow(l.byAddress, host, l.cfg.PerAddress, 0)
}

func (l *limiters) allow(m map[string]*rate.Limiter, key string, r float64, burst int) (int, bool) {
	if l.cfg.Disabled || r < 0 {
		return 0, true
	}
	if burst <= 0 {
		burst = int(math.Ceil(2 * r))
	}
	l.mu.Lock()
	lim, ok := m[key]
	if !ok {
		if len(m) >= maxLimiters {
			clear(m)
		}
		lim = rate.NewLimiter(rate.Limit(r), burst)
		m[key] = lim
	}
	l.mu.Unlock()
	now := l.now()
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

package oauth

import "github.com/chainsts/chainsts/internal/ratelimit"

// limiters are token buckets per client and per source address (SECURITY
// §2.8). Buckets live in memory on each node: a node enforces its own
// share, which is what protects it.
type limiters struct {
	cfg       RateLimitConfig
	byClient  *ratelimit.Keyed
	byAddress *ratelimit.Keyed
}

func newLimiters(cfg RateLimitConfig) *limiters {
	if cfg.PerClient == 0 {
		cfg.PerClient = 200
	}
	if cfg.PerAddress == 0 {
		cfg.PerAddress = 500
	}
	return &limiters{cfg: cfg, byClient: ratelimit.New(), byAddress: ratelimit.New()}
}

// allowClient takes a token from the client's bucket; when empty it
// returns false and the seconds to wait (Retry-After).
func (l *limiters) allowClient(id string) (int, bool) {
	if l.cfg.Disabled || l.cfg.PerClient < 0 {
		return 0, true
	}
	return l.byClient.Take(id, l.cfg.PerClient, l.cfg.Burst)
}

// allowAddress takes a token from the source address's bucket (burst
// twice the rate: Burst sizes the client buckets only).
func (l *limiters) allowAddress(remote string) (int, bool) {
	if l.cfg.Disabled || l.cfg.PerAddress < 0 {
		return 0, true
	}
	return l.byAddress.Take(ratelimit.Host(remote), l.cfg.PerAddress, 0)
}

package server

import (
	"math"

	"github.com/chainsts/chainsts/internal/ratelimit"
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

// authFailureBurst is the failure bucket's size.
const authFailureBurst = 20

// limiters are the native API's buckets: requests per client, failed
// authentications per source address.
type limiters struct {
	byClient  *ratelimit.Keyed
	byAddress *ratelimit.Keyed
}

func newLimiters() *limiters {
	return &limiters{byClient: ratelimit.New(), byAddress: ratelimit.New()}
}

// allowClient takes a token from the client's bucket, returning the
// seconds to wait when it is empty.
func (l *limiters) allowClient(cfg RateLimit, id string) (int, bool) {
	cfg = cfg.withDefaults()
	if cfg.Disabled || cfg.PerClient < 0 {
		return 0, true
	}
	return l.byClient.Take(id, cfg.PerClient, cfg.Burst)
}

// addressBlocked reports whether the address has used up its
// authentication failures, without taking a token.
func (l *limiters) addressBlocked(cfg RateLimit, remote string) (int, bool) {
	cfg = cfg.withDefaults()
	if cfg.Disabled || cfg.AuthFailuresPerAddress < 0 {
		return 0, false
	}
	return l.byAddress.Exhausted(ratelimit.Host(remote), cfg.AuthFailuresPerAddress, authFailureBurst)
}

// authFailed takes a token from the address's failure bucket.
func (l *limiters) authFailed(cfg RateLimit, remote string) {
	cfg = cfg.withDefaults()
	if cfg.Disabled || cfg.AuthFailuresPerAddress < 0 {
		return
	}
	l.byAddress.Spend(ratelimit.Host(remote), cfg.AuthFailuresPerAddress, authFailureBurst)
}

package ratelimit

import (
	"math"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// MaxKeys bounds the buckets of one Keyed. When it is full the buckets are
// all dropped, which only hands out fresh bursts: a flood of distinct keys
// cannot grow the map without bound.
const MaxKeys = 50000

// Keyed is a set of token buckets, one per key. The rate and burst are
// passed on every call, so a bucket follows a reloaded configuration; a
// bucket whose rate or burst changed keeps its tokens and adopts the new
// values. The zero value is not usable: call New.
type Keyed struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	now     func() time.Time
}

// New returns an empty Keyed.
func New() *Keyed {
	return &Keyed{buckets: map[string]*rate.Limiter{}, now: time.Now}
}

// Take takes one token from key's bucket (r tokens per second, at most
// burst; burst <= 0 means twice r, rounded up). When the bucket is empty
// it takes nothing and returns false with the whole seconds to wait, the
// Retry-After value.
func (k *Keyed) Take(key string, r float64, burst int) (retryAfter int, ok bool) {
	now := k.now()
	res := k.bucket(key, r, burst, now).ReserveN(now, 1)
	if !res.OK() {
		return 1, false
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return int(math.Ceil(d.Seconds())), false
	}
	return 0, true
}

// Exhausted reports, without taking a token, whether key's bucket is
// empty, and if so the whole seconds until it holds one again.
func (k *Keyed) Exhausted(key string, r float64, burst int) (retryAfter int, empty bool) {
	now := k.now()
	tokens := k.bucket(key, r, burst, now).TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	return int(math.Ceil((1 - tokens) / r)), true
}

// Spend takes one token from key's bucket if it has one; an empty bucket
// stays empty (callers record events, such as failed authentications,
// that happen whether or not they are allowed).
func (k *Keyed) Spend(key string, r float64, burst int) {
	now := k.now()
	k.bucket(key, r, burst, now).AllowN(now, 1)
}

func (k *Keyed) bucket(key string, r float64, burst int, now time.Time) *rate.Limiter {
	if burst <= 0 {
		burst = int(math.Ceil(2 * r))
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	lim, ok := k.buckets[key]
	if !ok {
		if len(k.buckets) >= MaxKeys {
			clear(k.buckets)
		}
		lim = rate.NewLimiter(rate.Limit(r), burst)
		k.buckets[key] = lim
		return lim
	}
	if lim.Limit() != rate.Limit(r) {
		lim.SetLimitAt(now, rate.Limit(r))
	}
	if lim.Burst() != burst {
		lim.SetBurstAt(now, burst)
	}
	return lim
}

// Host is the host part of an http.Request's RemoteAddr ("host:port"), or
// remote itself when it has no port, so that one address's connections
// share a bucket.
func Host(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}

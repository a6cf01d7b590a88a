package ratelimit

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clock is a manual time source so bucket refills are exact.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newAt(c *clock) *Keyed {
	k := New()
	k.now = c.now
	return k
}

func TestTakeBurstThenWait(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	k := newAt(c)
	type result struct {
		Retry int
		OK    bool
	}
	var got []result
	for range 3 {
		r, ok := k.Take("a", 0.5, 2)
		got = append(got, result{r, ok})
	}
	// Another key has its own bucket.
	r, ok := k.Take("b", 0.5, 2)
	got = append(got, result{r, ok})
	c.t = c.t.Add(2 * time.Second)
	r, ok = k.Take("a", 0.5, 2)
	got = append(got, result{r, ok})
	want := []result{{0, true}, {0, true}, {2, false}, {0, true}, {0, true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Take (-want +got):\n%s", diff)
	}
}

func TestDefaultBurstIsTwiceTheRate(t *testing.T) {
	k := newAt(&clock{t: time.Unix(1000, 0)})
	n := 0
	for {
		if _, ok := k.Take("a", 1.5, 0); !ok {
			break
		}
		n++
	}
	if n != 3 {
		t.Fatalf("burst for rate 1.5: %d, want 3", n)
	}
}

func TestRateChangeIsAdopted(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	k := newAt(c)
	if _, ok := k.Take("a", 1, 1); !ok {
		t.Fatal("first token refused")
	}
	// 100ms later at 1/s the bucket holds 0.1 token; a reload then raises
	// the rate to 10/s, so 100ms more fill it (the old rate would need 900ms).
	c.t = c.t.Add(100 * time.Millisecond)
	if _, ok := k.Take("a", 10, 1); ok {
		t.Fatal("a token before the bucket refilled")
	}
	c.t = c.t.Add(100 * time.Millisecond)
	if _, ok := k.Take("a", 10, 1); !ok {
		t.Fatal("the new rate was not adopted")
	}
}

func TestExhaustedAndSpend(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	k := newAt(c)
	for i := range 3 {
		if _, empty := k.Exhausted("h", 0.25, 3); empty {
			t.Fatalf("exhausted after %d spends", i)
		}
		k.Spend("h", 0.25, 3)
	}
	wait, empty := k.Exhausted("h", 0.25, 3)
	if !empty || wait != 4 {
		t.Fatalf("after the burst: wait %d empty %v, want 4 true", wait, empty)
	}
	// Spending an empty bucket does not push it into debt.
	k.Spend("h", 0.25, 3)
	c.t = c.t.Add(4 * time.Second)
	if _, empty := k.Exhausted("h", 0.25, 3); empty {
		t.Fatal("still exhausted after one refill period")
	}
}

func TestBucketsAreBounded(t *testing.T) {
	k := New()
	for i := range MaxKeys + 10 {
		k.Take(strconv.Itoa(i), 1, 1)
	}
	if n := len(k.buckets); n > MaxKeys {
		t.Fatalf("%d buckets, bound %d", n, MaxKeys)
	}
}

func TestHost(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5000": "127.0.0.1",
		"[::1]:443":      "::1",
		"@":              "@",
	} {
		if got := Host(in); got != want {
			t.Errorf("Host(%q) = %q, want %q", in, got, want)
		}
	}
}

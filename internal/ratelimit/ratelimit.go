// Package ratelimit keeps one token bucket per API credential.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter holds the buckets. Buckets idle for longer than a few minutes are
// dropped so that the map stays small; a dropped bucket comes back full,
// which is what an idle credential would have anyway.
type Limiter struct {
	perSec float64
	burst  int
	now    func() time.Time

	mu      sync.Mutex
	buckets map[int64]*bucket
	swept   time.Time
}

type bucket struct {
	lim    *rate.Limiter
	perSec float64
	burst  int
	used   time.Time
}

// New returns a Limiter whose default bucket refills perSec tokens a second
// and holds burst. now is the clock (time.Now outside tests).
func New(perSec float64, burst int, now func() time.Time) *Limiter {
	return &Limiter{perSec: perSec, burst: burst, now: now, buckets: map[int64]*bucket{}}
}

// Allow takes one token from the bucket of credential id. perSec and burst
// override the defaults when positive (a credential's own limit).
func (l *Limiter) Allow(id int64, perSec float64, burst int) bool {
	if perSec <= 0 {
		perSec = l.perSec
	}
	if burst <= 0 {
		burst = l.burst
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.used) > 5*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[id]
	if b == nil || b.perSec != perSec || b.burst != burst {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(perSec), burst), perSec: perSec, burst: burst}
		l.buckets[id] = b
	}
	b.used = now
	return b.lim.AllowN(now, 1)
}

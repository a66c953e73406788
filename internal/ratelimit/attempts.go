package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Attempts limits failed attempts per key (a username, an IP address): each
// key may fail burst times in a row, then once per every interval. Only
// failures count, so a person who types the right password is never kept
// out by its own successes; a key that is out of attempts is refused
// before its password is even checked.
type Attempts struct {
	every time.Duration
	burst int
	now   func() time.Time

	mu    sync.Mutex
	keys  map[string]*rate.Limiter
	swept time.Time
}

// NewAttempts returns an Attempts allowing burst failures per key, then one
// more per every.
func NewAttempts(burst int, every time.Duration, now func() time.Time) *Attempts {
	if now == nil {
		now = time.Now
	}
	return &Attempts{every: every, burst: burst, now: now, keys: map[string]*rate.Limiter{}}
}

// Allow reports whether key may make another attempt now.
func (a *Attempts) Allow(key string) bool {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.keys[key]
	return l == nil || l.TokensAt(now) >= 1
}

// Fail records a failed attempt of key.
func (a *Attempts) Fail(key string) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Sub(a.swept) > time.Minute {
		// A key whose bucket is full again is forgotten.
		for k, l := range a.keys {
			if l.TokensAt(now) >= float64(a.burst) {
				delete(a.keys, k)
			}
		}
		a.swept = now
	}
	l := a.keys[key]
	if l == nil {
		l = rate.NewLimiter(rate.Every(a.every), a.burst)
		a.keys[key] = l
	}
	l.AllowN(now, 1)
}

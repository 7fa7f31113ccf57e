// Package ratelimit caps how many messages each account may submit in a
// sliding window ([submission] max_messages_per_hour), so that a stolen
// password cannot turn the server into a spam cannon. Counts are kept in
// memory: a restart forgets them, which at worst lets one more window's
// worth through.
package ratelimit

import (
	"sync"
	"time"
)

// DefaultWindow is the window of max_messages_per_hour.
const DefaultWindow = time.Hour

// DefaultSubmissionMax is the production default of [submission]
// max_messages_per_hour.
const DefaultSubmissionMax = 500

// Limiter counts events per key. It is safe for concurrent use.
type Limiter struct {
	// Max is how many events a key may have in a window; 0 means no limit.
	Max int
	// Window is DefaultWindow when 0.
	Window time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time

	mu        sync.Mutex
	keys      map[string][]time.Time // oldest first, at most Max
	lastSweep time.Time
}

// Decision is the outcome of Allow.
type Decision struct {
	OK bool
	// Count is how many events the key has in the window, this one
	// included when it was allowed.
	Count int
	// RetryAfter is when the next event would be allowed, for a refusal.
	RetryAfter time.Duration
}

// Allow records n events for key (a message to submit: n = 1) if they fit
// in the window, and says whether they did.
func (l *Limiter) Allow(key string, n int) Decision {
	if l.Max <= 0 {
		return Decision{OK: true}
	}
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	window := l.Window
	if window <= 0 {
		window = DefaultWindow
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys == nil {
		l.keys = map[string][]time.Time{}
	}
	if now.Sub(l.lastSweep) > window {
		l.sweep(now.Add(-window))
		l.lastSweep = now
	}
	ts := l.keys[key]
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-window)) {
		i++
	}
	ts = ts[i:]
	if len(ts)+n > l.Max {
		d := Decision{Count: len(ts)}
		if k := len(ts) + n - l.Max - 1; k < len(ts) {
			d.RetryAfter = ts[k].Add(window).Sub(now)
		} else {
			d.RetryAfter = window // n alone is over Max
		}
		l.keys[key] = ts
		return d
	}
	for range n {
		ts = append(ts, now)
	}
	l.keys[key] = ts
	return Decision{OK: true, Count: len(ts)}
}

// sweep forgets keys with no event after cutoff.
func (l *Limiter) sweep(cutoff time.Time) {
	for k, ts := range l.keys {
		if len(ts) == 0 || !ts[len(ts)-1].After(cutoff) {
			delete(l.keys, k)
		}
	}
}

// Keys reports how many keys are tracked, for tests and metrics.
func (l *Limiter) Keys() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// Package greylist defers the first delivery attempt of an unknown
// (client network, sender, recipient) triplet: a real mail server retries
// after a while, as RFC 5321 §4.5.4.1 requires, while much spamware never
// does. A triplet that retried after the delay passes from then on, for as
// long as it keeps being seen.
package greylist

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Defaults of Greylist.
const (
	// DefaultDelay is how long a new triplet waits before a retry passes.
	DefaultDelay = 5 * time.Minute
	// DefaultRetryWindow is how long a deferred triplet may take to retry
	// before it starts over (senders retry for days; 2 days, as Postgrey).
	DefaultRetryWindow = 48 * time.Hour
	// DefaultExpire is how long a passed triplet stays known without mail.
	DefaultExpire = 35 * 24 * time.Hour
)

// Entry is what is known of one triplet.
type Entry struct {
	// First is the first attempt; Last the last accepted one.
	First, Last time.Time
	// Passed tells that the triplet retried after the delay.
	Passed bool
}

// Store keeps triplets. Implementations must be safe for concurrent use.
type Store interface {
	Get(ctx context.Context, key string) (Entry, bool, error)
	Put(ctx context.Context, key string, e Entry) error
}

// Greylist decides on triplets.
type Greylist struct {
	Store Store
	// Delay, RetryWindow, Expire: the defaults when 0.
	Delay, RetryWindow, Expire time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Decision is the outcome for one triplet.
type Decision struct {
	Pass bool
	// RetryAfter is how long a deferred sender should wait.
	RetryAfter time.Duration
}

// Key is the triplet's key: the client's /24 (IPv4) or /64 (IPv6), since
// large senders retry from another address of the same pool, and the
// envelope addresses in lower case.
func Key(ip netip.Addr, from, to string) string {
	ip = ip.Unmap()
	bits := 64
	if ip.Is4() {
		bits = 24
	}
	p, _ := ip.Prefix(bits)
	if from == "" {
		from = "<>"
	}
	return p.String() + " " + strings.ToLower(from) + " " + strings.ToLower(to)
}

// Check records an attempt of the triplet and says whether it passes.
func (g *Greylist) Check(ctx context.Context, ip netip.Addr, from, to string) (Decision, error) {
	now := time.Now()
	if g.Now != nil {
		now = g.Now()
	}
	delay := orDefault(g.Delay, DefaultDelay)
	key := Key(ip, from, to)
	e, ok, err := g.Store.Get(ctx, key)
	if err != nil {
		return Decision{Pass: true}, err
	}
	fresh := !ok ||
		e.Passed && now.Sub(e.Last) > orDefault(g.Expire, DefaultExpire) ||
		!e.Passed && now.Sub(e.First) > orDefault(g.RetryWindow, DefaultRetryWindow)
	switch {
	case fresh:
		e = Entry{First: now}
	case e.Passed || now.Sub(e.First) >= delay:
		e.Passed, e.Last = true, now
		return Decision{Pass: true}, g.Store.Put(ctx, key, e)
	default:
		return Decision{RetryAfter: delay - now.Sub(e.First)}, nil
	}
	return Decision{RetryAfter: delay}, g.Store.Put(ctx, key, e)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// MemStore is a Store in memory holding at most a given number of triplets;
// when full, the entries first seen longest ago go.
type MemStore struct {
	mu      sync.Mutex
	max     int
	entries map[string]Entry
}

// NewMemStore returns a MemStore of at most max entries (100000 when 0).
func NewMemStore(max int) *MemStore {
	if max <= 0 {
		max = 100000
	}
	return &MemStore{max: max, entries: map[string]Entry{}}
}

// Get implements Store.
func (m *MemStore) Get(_ context.Context, key string) (Entry, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	return e, ok, nil
}

// Put implements Store.
func (m *MemStore) Put(_ context.Context, key string, e Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[key]; !ok && len(m.entries) >= m.max {
		// Drop the oldest tenth at once so that eviction stays rare.
		m.evict(max(m.max/10, 1))
	}
	m.entries[key] = e
	return nil
}

func (m *MemStore) evict(n int) {
	// The n-th oldest First, by selection in linear time.
	firsts := make([]time.Time, 0, len(m.entries))
	for _, e := range m.entries {
		firsts = append(firsts, e.First)
	}
	cutoff := nth(firsts, n)
	for k, e := range m.entries {
		if !e.First.After(cutoff) && n > 0 {
			delete(m.entries, k)
			n--
		}
	}
}

// nth returns the n-th smallest time (1-based) of ts, reordering ts.
func nth(ts []time.Time, n int) time.Time {
	lo, hi := 0, len(ts)-1
	k := min(n, len(ts)) - 1
	for lo < hi {
		p := ts[(lo+hi)/2]
		i, j := lo, hi
		for i <= j {
			for ts[i].Before(p) {
				i++
			}
			for ts[j].After(p) {
				j--
			}
			if i <= j {
				ts[i], ts[j] = ts[j], ts[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return ts[k]
		}
	}
	return ts[k]
}

// Len reports how many triplets are kept.
func (m *MemStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

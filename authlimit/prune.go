package authlimit

import (
	"net/netip"
	"time"
)

// evictSample is how many entries makeRoom looks at to choose a victim when
// the table is full. Looking at a sample rather than every entry keeps a
// flood of new sources from costing a full scan each.
const evictSample = 64

// maybePrune drops idle entries once per Window. It runs on the caller's
// goroutine while l.mu is held, so the Limiter needs no background goroutine
// and nothing to stop.
func (l *Limiter) maybePrune(now time.Time) {
	if now.Sub(l.lastPrune) < l.opts.Window {
		return
	}
	l.lastPrune = now
	for k, s := range l.sources {
		if s.idle(now, l.opts.Window) {
			delete(l.sources, k)
		}
	}
}

// makeRoom ensures there is space for one more source. When the table is
// full it evicts from a sample: idle entries first, then the entry whose last
// failure is oldest, and only when the whole sample is locked out the lockout
// that ends soonest. Memory stays bounded even when a spray of addresses
// (easy with IPv6) is aimed at filling the table. l.mu must be held.
func (l *Limiter) makeRoom(now time.Time) {
	if len(l.sources) < l.opts.MaxSources {
		return
	}
	var (
		victim      netip.Prefix
		victimFound bool
		victimLock  bool // victim is locked out
		victimTime  time.Time
	)
	seen := 0
	for k, s := range l.sources {
		if s.idle(now, l.opts.Window) {
			delete(l.sources, k)
			return
		}
		locked := !s.lockedUntil.IsZero() && now.Before(s.lockedUntil)
		t := s.lockedUntil
		if !locked && len(s.failures) > 0 {
			t = s.failures[len(s.failures)-1]
		}
		better := !victimFound ||
			(victimLock && !locked) ||
			(victimLock == locked && t.Before(victimTime))
		if better {
			victim, victimFound, victimLock, victimTime = k, true, locked, t
		}
		seen++
		if seen >= evictSample {
			break
		}
	}
	if victimFound {
		delete(l.sources, victim)
	}
}

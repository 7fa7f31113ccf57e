package auth

import (
	"net/netip"
	"time"
)

// evictSample is how many entries makeRoom looks at to choose a victim when
// the table is full. Looking at a sample rather than every entry keeps a
// flood of new sources from costing a full scan each.
const evictSample = 64

// pruneEvery is how often idle entries are dropped.
const pruneEvery = time.Minute

// maybePrune drops idle entries once a minute. It runs on the caller's
// goroutine while l.mu is held, so the Limiter needs no background goroutine
// and nothing to stop.
func (l *Limiter) maybePrune(now time.Time) {
	if now.Sub(l.lastPrune) < pruneEvery {
		return
	}
	l.lastPrune = now
	for k, s := range l.sources {
		if l.idle(s, now) {
			delete(l.sources, k)
		}
	}
	since := now.Add(-l.opts.SlowdownWindow)
	for k, a := range l.accounts {
		if a.failures = dropBefore(a.failures, since); len(a.failures) == 0 {
			delete(l.accounts, k)
		}
	}
}

// idle reports whether s carries no state worth keeping, dropping what has
// expired inside it. l.mu must be held.
func (l *Limiter) idle(s *source, now time.Time) bool {
	s.failures = dropBefore(s.failures, now.Add(-l.opts.Window))
	s.probes = dropBefore(s.probes, now.Add(-l.opts.ProbeWindow))
	for k, p := range s.accounts {
		p.failures = dropBefore(p.failures, now.Add(-l.opts.Window))
		if !p.lock.active(now) && len(p.failures) == 0 {
			delete(s.accounts, k)
		}
	}
	return !s.lock.active(now) && len(s.failures) == 0 && len(s.probes) == 0 && len(s.accounts) == 0
}

// latest is when s last saw a failure, or when its last lock ends, and
// whether a lock of it is in force.
func (s *source) latest(now time.Time) (t time.Time, locked bool) {
	locked = s.lock.active(now)
	if locked {
		t = s.lock.until
	}
	for _, p := range s.accounts {
		if p.lock.active(now) {
			locked = true
			t = later(t, p.lock.until)
		}
	}
	if n := len(s.failures); n > 0 {
		t = later(t, s.failures[n-1])
	}
	return t, locked
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
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
		victimLock  bool
		victimTime  time.Time
	)
	seen := 0
	for k, s := range l.sources {
		if l.idle(s, now) {
			delete(l.sources, k)
			return
		}
		t, locked := s.latest(now)
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

// makeRoomAccounts bounds the accounts tracked for the slowdown the same
// way: the one whose last failure is oldest goes. l.mu must be held.
func (l *Limiter) makeRoomAccounts(now time.Time) {
	if len(l.accounts) < l.opts.MaxSources {
		return
	}
	var victim string
	var oldest time.Time
	seen := 0
	for k, a := range l.accounts {
		if len(a.failures) == 0 {
			delete(l.accounts, k)
			return
		}
		if t := a.failures[len(a.failures)-1]; victim == "" || t.Before(oldest) {
			victim, oldest = k, t
		}
		if seen++; seen >= evictSample {
			break
		}
	}
	delete(l.accounts, victim)
}

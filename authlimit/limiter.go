// Package authlimit throttles password guessing. Every front end (SMTP
// submission, IMAP, POP3) shares one Limiter, so a source that fails to log
// in is slowed down and then locked out whichever protocol it uses.
//
// The intended call pattern around a password check is:
//
//	if err := lim.Check(ip); err != nil { // locked out: do not verify at all
//		return err
//	}
//	if err := verify(user, pass); err != nil {
//		lim.Failure(ip, user)
//		lim.Wait(ctx, ip) // sleep before answering the failure
//		return err
//	}
//	lim.Success(ip)
//
// Probing for addresses is guessing too: an SMTP recipient refused as
// unknown is recorded with Probe and counts toward the same lockout, so a
// source that enumerates addresses is slowed down and locked out, and
// cannot go on to guess their passwords.
//
// A source is an IPv4 address or an IPv6 /64, since one IPv6 host usually
// controls a whole /64. Loopback is not exempt: a local process guessing
// passwords is throttled like any other.
package authlimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Defaults for the zero values of Options.
const (
	DefaultBurst      = 10
	DefaultWindow     = time.Minute
	DefaultLockout    = 15 * time.Minute
	DefaultBaseDelay  = 250 * time.Millisecond
	DefaultMaxDelay   = 5 * time.Second
	DefaultMaxSources = 100_000
)

// ErrLockedOut is matched (with errors.Is) by the error Check and Wait return
// for a locked-out source. The concrete error is a *LockoutError.
var ErrLockedOut = errors.New("authlimit: source locked out after too many failed logins")

// LockoutError is returned for a source that is locked out. Its text tells
// the remaining time so that a log line or a protocol reply can say when to
// retry.
type LockoutError struct {
	Source    netip.Prefix  // the locked source: an IPv4 /32 or an IPv6 /64
	Until     time.Time     // when the lockout ends
	Remaining time.Duration // Until minus the time of the check
}

func (e *LockoutError) Error() string {
	// Round up so that "0s" is never shown while still locked.
	rem := e.Remaining.Truncate(time.Second)
	if rem < e.Remaining {
		rem += time.Second
	}
	return fmt.Sprintf("too many failed logins from %s: locked out for another %s", sourceString(e.Source), rem)
}

// Is makes errors.Is(err, ErrLockedOut) true.
func (e *LockoutError) Is(target error) bool { return target == ErrLockedOut }

// Options configures a Limiter. Zero values take the defaults above.
type Options struct {
	Burst      int           // failures within Window that trigger a lockout
	Window     time.Duration // how long a failure counts
	Lockout    time.Duration // how long a lockout lasts
	BaseDelay  time.Duration // delay after the first recent failure; doubles per further failure
	MaxDelay   time.Duration // cap on the delay
	MaxSources int           // cap on tracked sources, bounding memory
	Logger     *slog.Logger  // receives one Warn line per lockout; nil means slog.Default()
	Now        func() time.Time
	// Sleep waits for d or until ctx ends (then returning ctx.Err()); Wait
	// sleeps with it. Nil means a timer; tests record the delays asked for.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Limiter tracks failed logins per source. It is safe for concurrent use.
// It starts no goroutine: expired entries are pruned lazily as it is used.
type Limiter struct {
	opts Options

	mu        sync.Mutex
	sources   map[netip.Prefix]*source
	lastPrune time.Time
}

// source is the state of one address or /64.
type source struct {
	failures    []time.Time // recent failures, oldest first, at most Burst
	lockedUntil time.Time   // zero when not locked out
}

// New returns a Limiter with opts, defaults filled in.
func New(opts Options) *Limiter {
	if opts.Burst <= 0 {
		opts.Burst = DefaultBurst
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.Lockout <= 0 {
		opts.Lockout = DefaultLockout
	}
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = DefaultBaseDelay
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = DefaultMaxDelay
	}
	if opts.MaxDelay < opts.BaseDelay {
		opts.MaxDelay = opts.BaseDelay
	}
	if opts.MaxSources <= 0 {
		opts.MaxSources = DefaultMaxSources
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	return &Limiter{
		opts:    opts,
		sources: make(map[netip.Prefix]*source),
	}
}

// Key returns the source an address is counted under: the address itself
// for IPv4 (and IPv4-mapped IPv6), its /64 for IPv6. The zone is dropped.
// The zero Addr maps to the zero Prefix, one shared bucket for callers that
// could not tell the peer's address.
func Key(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap().WithZone("")
	bits := 64
	if ip.Is4() {
		bits = 32
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		// Unreachable: bits is within range for both families.
		return netip.Prefix{}
	}
	return p
}

// Check is called before a password is verified. For a locked-out source it
// returns a *LockoutError (matching ErrLockedOut) and the caller should
// refuse without verifying. Otherwise it returns the delay the caller should
// sleep before answering a failed attempt: zero for a source with no recent
// failures, BaseDelay after one, doubling per further failure up to MaxDelay.
func (l *Limiter) Check(ip netip.Addr) (time.Duration, error) {
	now := l.opts.Now()
	key := Key(ip)

	l.mu.Lock()
	defer l.mu.Unlock()
	l.maybePrune(now)

	s := l.sources[key]
	if s == nil {
		return 0, nil
	}
	if err := l.lockout(key, s, now); err != nil {
		return 0, err
	}
	return l.delay(s.recent(now, l.opts.Window)), nil
}

// Failure records a failed login from ip. When it makes Burst failures within
// Window, the source is locked out for Lockout and one Warn line is logged.
// Failures reported while the source is already locked out are ignored, so a
// lockout is never extended by the attempts it refuses.
func (l *Limiter) Failure(ip netip.Addr, user string) { l.fail(ip, "user", user) }

// Probe records a recipient refused as unknown from ip, as a failure: the
// caller then waits (Wait) before answering, and the source's lockout
// counts it like a failed login.
func (l *Limiter) Probe(ip netip.Addr, rcpt string) { l.fail(ip, "rcpt", rcpt) }

// fail records one failure; what and guess name what was tried, for the
// lockout's log line.
func (l *Limiter) fail(ip netip.Addr, what, guess string) {
	now := l.opts.Now()
	key := Key(ip)

	l.mu.Lock()
	l.maybePrune(now)
	s := l.sources[key]
	if s == nil {
		l.makeRoom(now)
		s = &source{}
		l.sources[key] = s
	}
	if !s.lockedUntil.IsZero() && now.Before(s.lockedUntil) {
		l.mu.Unlock()
		return
	}
	s.lockedUntil = time.Time{}
	s.failures = s.dropExpired(now, l.opts.Window)
	s.failures = append(s.failures, now)
	n := len(s.failures)
	var until time.Time
	if n >= l.opts.Burst {
		until = now.Add(l.opts.Lockout)
		s.lockedUntil = until
		s.failures = s.failures[:0]
	}
	l.mu.Unlock()

	if !until.IsZero() {
		l.opts.Logger.Warn("auth lockout",
			"ip", sourceString(key),
			"failures", n,
			"until", until,
			what, guess)
	}
}

// Success forgets the recent failures of ip's source, so that a user who
// mistyped a password once is not slowed down afterwards. An active lockout
// stays: a concurrent connection may have triggered it, and a guess that
// happened to succeed must not lift it.
func (l *Limiter) Success(ip netip.Addr) {
	now := l.opts.Now()
	key := Key(ip)

	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sources[key]
	if s == nil {
		return
	}
	if !s.lockedUntil.IsZero() && now.Before(s.lockedUntil) {
		s.failures = s.failures[:0]
		return
	}
	delete(l.sources, key)
}

// Wait sleeps for the delay Check reports for ip, returning early with
// ctx.Err() if ctx ends first. For a locked-out source it returns the
// lockout error at once, without sleeping.
func (l *Limiter) Wait(ctx context.Context, ip netip.Addr) error {
	d, err := l.Check(ip)
	if err != nil {
		return err
	}
	if d <= 0 {
		return ctx.Err()
	}
	return l.opts.Sleep(ctx, d)
}

// sleep is the default Options.Sleep.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Len reports how many sources are tracked, for tests and metrics.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sources)
}

// lockout returns the lockout error for s, or nil if s is not locked out.
// An expired lockout is cleared. l.mu must be held.
func (l *Limiter) lockout(key netip.Prefix, s *source, now time.Time) error {
	if s.lockedUntil.IsZero() {
		return nil
	}
	if !now.Before(s.lockedUntil) {
		s.lockedUntil = time.Time{}
		return nil
	}
	return &LockoutError{Source: key, Until: s.lockedUntil, Remaining: s.lockedUntil.Sub(now)}
}

// delay is the sleep owed after n recent failures.
func (l *Limiter) delay(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := l.opts.BaseDelay
	for i := 1; i < n; i++ {
		d *= 2
		if d >= l.opts.MaxDelay {
			return l.opts.MaxDelay
		}
	}
	return min(d, l.opts.MaxDelay)
}

// recent counts the failures still inside the window.
func (s *source) recent(now time.Time, window time.Duration) int {
	n := 0
	for _, t := range s.failures {
		if now.Sub(t) < window {
			n++
		}
	}
	return n
}

// dropExpired returns s.failures without the ones outside the window.
func (s *source) dropExpired(now time.Time, window time.Duration) []time.Time {
	i := 0
	for i < len(s.failures) && now.Sub(s.failures[i]) >= window {
		i++
	}
	if i == 0 {
		return s.failures
	}
	return append(s.failures[:0], s.failures[i:]...)
}

// idle reports whether s carries no state worth keeping.
func (s *source) idle(now time.Time, window time.Duration) bool {
	if !s.lockedUntil.IsZero() && now.Before(s.lockedUntil) {
		return false
	}
	return s.recent(now, window) == 0
}

// sourceString prints an IPv4 source as a bare address and an IPv6 source
// as its /64.
func sourceString(p netip.Prefix) string {
	if !p.IsValid() {
		return "unknown"
	}
	if p.Addr().Is4() {
		return p.Addr().String()
	}
	return p.String()
}

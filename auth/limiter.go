package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"postern/storage"
)

// Defaults for the zero values of LimiterOptions.
const (
	DefaultFailures           = 8
	DefaultFailuresPerAddress = 40
	DefaultLockout            = 15 * time.Minute
	DefaultProbes             = 10
	DefaultProbeWindow        = time.Minute
	DefaultSlowdownFailures   = 50
	DefaultSlowdownWindow     = time.Hour
	DefaultBaseDelay          = 250 * time.Millisecond
	DefaultMaxDelay           = 5 * time.Second
	DefaultMaxSlowdown        = 10 * time.Second
	DefaultMaxSources         = 100_000
)

// confirmEvery is how often a lock in force is checked against the
// BlockStore, where another process may have lifted it.
const confirmEvery = time.Second

// ErrLockedOut is matched (with errors.Is) by the error of a locked-out
// source. The concrete error is a *LockoutError.
var ErrLockedOut = errors.New("auth: locked out after too many failed attempts")

// LockoutError is returned for a locked-out source, or a source locked out
// of one account. Its text says when to retry.
type LockoutError struct {
	Source    netip.Prefix // an IPv4 /32 or an IPv6 /64
	Account   string       // "" when the whole source is locked
	Until     time.Time
	Remaining time.Duration
}

func (e *LockoutError) Error() string {
	// Round up so that "0s" is never shown while still locked.
	rem := e.Remaining.Truncate(time.Second)
	if rem < e.Remaining {
		rem += time.Second
	}
	if e.Account != "" {
		return fmt.Sprintf("too many failed logins to %s from %s: locked out for another %s", e.Account, sourceString(e.Source), rem)
	}
	return fmt.Sprintf("too many failed attempts from %s: locked out for another %s", sourceString(e.Source), rem)
}

// Is makes errors.Is(err, ErrLockedOut) true.
func (e *LockoutError) Is(target error) bool { return target == ErrLockedOut }

// LimiterOptions configures a Limiter. Zero values take the defaults above.
type LimiterOptions struct {
	// Failures is how many failed logins from one source to one account
	// within Window lock that source out of that account for Lockout.
	Failures int
	// FailuresPerAddress is how many failed logins from one source, to
	// any accounts, within Window lock the whole source out (password
	// spraying). Unknown recipients count too.
	FailuresPerAddress int
	Window             time.Duration // how long a failure counts; default Lockout
	Lockout            time.Duration
	// Probes is how many unknown recipients from one source within
	// ProbeWindow lock the whole source out.
	Probes      int
	ProbeWindow time.Duration
	// SlowdownFailures is how many failed logins to one account, from any
	// sources, within SlowdownWindow make every further attempt on it wait
	// (from BaseDelay, doubling, up to MaxSlowdown). Never a lock, which
	// would let anyone lock a user out.
	SlowdownFailures int
	SlowdownWindow   time.Duration
	MaxSlowdown      time.Duration
	BaseDelay        time.Duration // delay after the first recent failure; doubles per further one
	MaxDelay         time.Duration
	MaxSources       int // cap on tracked sources and accounts, bounding memory
	// Trusted sources are never delayed or locked out.
	Trusted []netip.Prefix
	// Blocks keeps the locks for other processes; nil keeps them in memory.
	Blocks BlockStore
	Logger *slog.Logger // one Warn line per lockout; nil means slog.Default()
	Now    func() time.Time
}

// Limiter counts failed logins and unknown recipients, per source address
// (an IPv4 address or an IPv6 /64: one IPv6 host usually holds a /64), per
// source and account, and per account. It is safe for concurrent use and
// starts no goroutine: expired entries are pruned as it is used.
type Limiter struct {
	opts LimiterOptions

	mu        sync.Mutex
	sources   map[netip.Prefix]*source
	accounts  map[string]*slowAccount
	lastPrune time.Time
}

// lock is a lockout in force, of a source or of a source and account.
type lock struct {
	until     time.Time
	persisted bool      // written to Blocks: another process may lift it
	confirmed time.Time // when Blocks last said it is still there
}

func (k *lock) active(now time.Time) bool { return now.Before(k.until) }

type source struct {
	failures []time.Time // failed logins and probes within Window, oldest first
	probes   []time.Time // unknown recipients within ProbeWindow
	lock     lock
	accounts map[string]*pair // by account key
}

type pair struct {
	failures []time.Time
	lock     lock
}

type slowAccount struct {
	failures []time.Time // within SlowdownWindow, oldest first
}

// NewLimiter returns a Limiter with opts, defaults filled in.
func NewLimiter(opts LimiterOptions) *Limiter {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&opts.Failures, DefaultFailures)
	def(&opts.FailuresPerAddress, DefaultFailuresPerAddress)
	def(&opts.Probes, DefaultProbes)
	def(&opts.SlowdownFailures, DefaultSlowdownFailures)
	def(&opts.MaxSources, DefaultMaxSources)
	defd(&opts.Lockout, DefaultLockout)
	defd(&opts.Window, opts.Lockout)
	defd(&opts.ProbeWindow, DefaultProbeWindow)
	defd(&opts.SlowdownWindow, DefaultSlowdownWindow)
	defd(&opts.BaseDelay, DefaultBaseDelay)
	defd(&opts.MaxDelay, DefaultMaxDelay)
	defd(&opts.MaxSlowdown, DefaultMaxSlowdown)
	opts.MaxDelay = max(opts.MaxDelay, opts.BaseDelay)
	opts.MaxSlowdown = max(opts.MaxSlowdown, opts.BaseDelay)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Limiter{
		opts:     opts,
		sources:  make(map[netip.Prefix]*source),
		accounts: make(map[string]*slowAccount),
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
		return netip.Prefix{}
	}
	return p
}

// Trusted reports whether ip is in a trusted network.
func (l *Limiter) Trusted(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range l.opts.Trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Check is called before a password is verified: it returns a
// *LockoutError when ip's source is locked out, or locked out of account,
// and the caller must refuse without verifying.
func (l *Limiter) Check(ctx context.Context, ip netip.Addr, account string) error {
	if l.Trusted(ip) {
		return nil
	}
	key := Key(ip)
	for {
		now := l.opts.Now()
		l.mu.Lock()
		l.maybePrune(now)
		s := l.sources[key]
		if s == nil {
			l.mu.Unlock()
			return nil
		}
		k, acct := &s.lock, ""
		if !k.active(now) {
			k, acct = nil, ""
			if p := s.accounts[account]; p != nil && p.lock.active(now) {
				k, acct = &p.lock, account
			}
		}
		if k == nil {
			l.mu.Unlock()
			return nil
		}
		err := &LockoutError{Source: key, Account: acct, Until: k.until, Remaining: k.until.Sub(now)}
		if l.opts.Blocks == nil || !k.persisted || now.Sub(k.confirmed) < confirmEvery {
			l.mu.Unlock()
			return err
		}
		k.confirmed = now
		l.mu.Unlock()
		// Another process may have lifted the lock ("postern auth
		// unblock"); ask the store, at most once a second per lock.
		there, qerr := l.opts.Blocks.AuthBlocked(ctx, sourceString(key), acct, now)
		if qerr != nil || there {
			return err
		}
		l.opts.Logger.Info("auth lockout lifted", "remote", sourceString(key), "account", acct)
		l.lift(key, acct)
	}
}

// Slowdown is the delay owed before a password for account is verified:
// zero until the account has SlowdownFailures recent failures, from any
// sources, then growing with each further one.
func (l *Limiter) Slowdown(ip netip.Addr, account string) time.Duration {
	if l.Trusted(ip) {
		return 0
	}
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.accounts[account]
	if a == nil {
		return 0
	}
	a.failures = dropBefore(a.failures, now.Add(-l.opts.SlowdownWindow))
	over := len(a.failures) - l.opts.SlowdownFailures
	if over < 0 {
		return 0
	}
	return grow(l.opts.BaseDelay, over+1, l.opts.MaxSlowdown)
}

// Failure records a failed login from ip to account and returns the delay
// to wait before answering it. known says whether the account exists:
// only failures on real accounts count toward the account's slowdown, so
// that names made up by the thousand take no memory. A failure that makes
// a threshold locks the pair or the source (the next Check says so).
func (l *Limiter) Failure(ctx context.Context, ip netip.Addr, account string, known bool) time.Duration {
	if l.Trusted(ip) {
		return 0
	}
	now := l.opts.Now()
	key := Key(ip)
	l.mu.Lock()
	l.maybePrune(now)
	if known {
		a := l.accounts[account]
		if a == nil {
			l.makeRoomAccounts(now)
			a = &slowAccount{}
			l.accounts[account] = a
		}
		a.failures = dropBefore(a.failures, now.Add(-l.opts.SlowdownWindow))
		if len(a.failures) < l.opts.SlowdownFailures+32 {
			a.failures = append(a.failures, now)
		}
	}
	s := l.source(key, now)
	if s.lock.active(now) {
		// A lockout is not extended by the attempts it refuses.
		l.mu.Unlock()
		return 0
	}
	p := s.accounts[account]
	if p == nil {
		p = &pair{}
		s.accounts[account] = p
	}
	if p.lock.active(now) {
		l.mu.Unlock()
		return 0
	}
	s.failures = appendWithin(s.failures, now, now.Add(-l.opts.Window), l.opts.FailuresPerAddress)
	p.failures = appendWithin(p.failures, now, now.Add(-l.opts.Window), l.opts.Failures)
	var b *storage.AuthBlock
	switch {
	case len(s.failures) >= l.opts.FailuresPerAddress:
		b = l.lockSource(key, s, now, len(s.failures), "failed logins")
	case len(p.failures) >= l.opts.Failures:
		b = &storage.AuthBlock{Source: sourceString(key), Account: account, Until: now.Add(l.opts.Lockout),
			Failures: len(p.failures), Reason: "failed logins", Created: now}
		p.lock = lock{until: b.Until, confirmed: now}
		p.failures = p.failures[:0]
	}
	n := max(len(p.failures), l.scaled(len(s.failures)))
	l.mu.Unlock()
	if b != nil {
		l.persist(ctx, *b, "account", account)
		return 0
	}
	return grow(l.opts.BaseDelay, n, l.opts.MaxDelay)
}

// Probe records a recipient refused as unknown from ip: probing for
// addresses is guessing too. It returns the delay to wait before answering
// it, or a *LockoutError when the source is (now) locked out, which ends
// the connection at once.
func (l *Limiter) Probe(ctx context.Context, ip netip.Addr, rcpt string) (time.Duration, error) {
	if l.Trusted(ip) {
		return 0, nil
	}
	now := l.opts.Now()
	key := Key(ip)
	l.mu.Lock()
	l.maybePrune(now)
	s := l.source(key, now)
	if s.lock.active(now) {
		err := &LockoutError{Source: key, Until: s.lock.until, Remaining: s.lock.until.Sub(now)}
		l.mu.Unlock()
		return 0, err
	}
	s.probes = appendWithin(s.probes, now, now.Add(-l.opts.ProbeWindow), l.opts.Probes)
	s.failures = appendWithin(s.failures, now, now.Add(-l.opts.Window), l.opts.FailuresPerAddress)
	var b *storage.AuthBlock
	switch {
	case len(s.probes) >= l.opts.Probes:
		b = l.lockSource(key, s, now, len(s.probes), "unknown recipients")
	case len(s.failures) >= l.opts.FailuresPerAddress:
		b = l.lockSource(key, s, now, len(s.failures), "failed logins and unknown recipients")
	}
	n := max(len(s.probes), l.scaled(len(s.failures)))
	l.mu.Unlock()
	if b != nil {
		l.persist(ctx, *b, "rcpt", rcpt)
		return 0, &LockoutError{Source: key, Until: b.Until, Remaining: b.Until.Sub(now)}
	}
	return grow(l.opts.BaseDelay, n, l.opts.MaxDelay), nil
}

// Success forgets the recent failures of ip to account, so that a user who
// mistyped a password once is not slowed down afterwards. The source's
// count stays (a sprayer who owns one account must not reset it), and so
// does a lock in force: a guess that happened to succeed must not lift it.
func (l *Limiter) Success(ip netip.Addr, account string) {
	if l.Trusted(ip) {
		return
	}
	key := Key(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.sources[key]; s != nil {
		if p := s.accounts[account]; p != nil && !p.lock.active(l.opts.Now()) {
			delete(s.accounts, account)
		}
	}
}

// Len reports how many sources are tracked, for tests and metrics.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sources)
}

// source returns key's state, creating it. l.mu must be held.
func (l *Limiter) source(key netip.Prefix, now time.Time) *source {
	s := l.sources[key]
	if s == nil {
		l.makeRoom(now)
		s = &source{accounts: make(map[string]*pair)}
		l.sources[key] = s
	}
	return s
}

// lockSource locks the whole source. l.mu must be held.
func (l *Limiter) lockSource(key netip.Prefix, s *source, now time.Time, n int, reason string) *storage.AuthBlock {
	b := &storage.AuthBlock{Source: sourceString(key), Until: now.Add(l.opts.Lockout), Failures: n, Reason: reason, Created: now}
	s.lock = lock{until: b.Until, confirmed: now}
	s.failures, s.probes = s.failures[:0], s.probes[:0]
	clear(s.accounts)
	return b
}

// scaled counts a source's failures to all accounts against the per-pair
// scale, for the delay: a source that failed FailuresPerAddress times is
// answered as slowly as a pair that failed Failures times.
func (l *Limiter) scaled(n int) int {
	return n * l.opts.Failures / l.opts.FailuresPerAddress
}

// grow is base after one failure, doubling per further one, at most limit.
func grow(base time.Duration, n int, limit time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	d := base
	for i := 1; i < n; i++ {
		d *= 2
		if d >= limit {
			return limit
		}
	}
	return min(d, limit)
}

// appendWithin drops the times before since from ts (oldest first), then
// appends now, keeping at most limit entries.
func appendWithin(ts []time.Time, now, since time.Time, limit int) []time.Time {
	ts = dropBefore(ts, since)
	if len(ts) >= limit {
		ts = append(ts[:0], ts[len(ts)-limit+1:]...)
	}
	return append(ts, now)
}

// dropBefore drops the times not after since from ts (oldest first).
func dropBefore(ts []time.Time, since time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(since) {
		i++
	}
	if i == 0 {
		return ts
	}
	return append(ts[:0], ts[i:]...)
}

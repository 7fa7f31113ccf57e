// Package auth is the one login path of every protocol (IMAP, POP3, SMTP
// submission, ManageSieve): the plaintext policy, the SASL mechanisms
// (PLAIN, LOGIN), the password check throttled and locked out fairly
// (Limiter), the cache that makes repeat logins cheap, and the failed-login
// log line.
//
// A front end asks PlaintextAllowed before it takes a password, hands each
// username and password to Login (directly, or through NewMechanism for
// SASL), and answers by the error: ErrFailed, ErrDisabled, a *LockoutError
// (ErrLockedOut), or a store error.
package auth

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"

	"postern/mailaddr"
	"postern/storage"
)

// Accounts is what the login path needs of the store: an account by its
// address, with its stored password hash (storage.ErrNotFound if none).
type Accounts interface {
	Credentials(ctx context.Context, address string) (storage.Account, string, error)
}

// Errors of Login, besides *LockoutError and the store's own. Their text is
// fit for the client: it tells a wrong password from an unknown account no
// more than the protocol reply does.
var (
	ErrFailed = errors.New("invalid user name or password")
	// ErrDisabled is only returned for the right password: the owner of
	// a disabled account learns why, a guesser learns nothing.
	ErrDisabled = errors.New("the account is disabled; ask the administrator")
)

// Reason says why a login failed, in the failed-login log line.
type Reason string

// The reasons of the log line (README: "Failed logins").
const (
	ReasonBadPassword Reason = "bad password"
	ReasonUnknown     Reason = "unknown account"
	ReasonDisabled    Reason = "disabled"
	ReasonLockedOut   Reason = "locked out"
	ReasonPlaintext   Reason = "plaintext refused"
)

// Attempt is one login attempt.
type Attempt struct {
	Protocol string // "imap", "pop3", "smtp", "managesieve": in the log line
	Remote   netip.Addr
	Username string
	Password string
}

// Options configures a Service.
type Options struct {
	Accounts Accounts
	// Limiter counts failures; nil makes one with the defaults.
	Limiter *Limiter
	// PlaintextOnLoopback allows passwords without TLS from loopback.
	PlaintextOnLoopback bool
	// CacheTTL is how long a verified password is remembered: 0 means
	// DefaultCacheTTL, negative turns the cache off.
	CacheTTL time.Duration
	// CacheSize caps the remembered logins; 0 means DefaultCacheSize.
	CacheSize int
	Logger    *slog.Logger
	Now       func() time.Time
	// Sleep waits for d or until ctx ends (returning ctx.Err()); nil
	// means a timer. Tests record the delays instead.
	Sleep func(ctx context.Context, d time.Duration) error
	// Verify checks a password against a stored hash; nil means
	// storage.CheckPassword.
	Verify func(hash, password string) bool
	// Observe, if set, is told the outcome of every login attempt that
	// got an answer (for the logins metric).
	Observe func(protocol string, ok bool)
}

// Defaults for zero Options.
const (
	DefaultCacheTTL  = time.Hour
	DefaultCacheSize = 100_000
)

// maxLoggedName caps the account name in a log line.
const maxLoggedName = 256

// Service is the login path. It is safe for concurrent use.
type Service struct {
	opts   Options
	lim    *Limiter
	cache  *cache // nil when off
	flight singleflight.Group
}

// New returns a Service for opts; opts.Accounts is required.
func New(opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Verify == nil {
		opts.Verify = storage.CheckPassword
	}
	if opts.Limiter == nil {
		opts.Limiter = NewLimiter(LimiterOptions{Logger: opts.Logger, Now: opts.Now})
	}
	s := &Service{opts: opts, lim: opts.Limiter}
	if opts.CacheTTL >= 0 {
		ttl, size := opts.CacheTTL, opts.CacheSize
		if ttl == 0 {
			ttl = DefaultCacheTTL
		}
		if size <= 0 {
			size = DefaultCacheSize
		}
		s.cache = newCache(ttl, size)
	}
	return s
}

// Limiter is the Service's failure counter (smtpd counts unknown
// recipients in it).
func (s *Service) Limiter() *Limiter { return s.lim }

// PlaintextAllowed reports whether a password may be sent on a connection:
// inside TLS, or from loopback when PlaintextOnLoopback is set (DESIGN:
// plaintext passwords only over TLS or from loopback).
func (s *Service) PlaintextAllowed(tls bool, remote netip.Addr) bool {
	return tls || s.opts.PlaintextOnLoopback && remote.Unmap().IsLoopback()
}

// RefusePlaintext logs a password refused for want of TLS. username is ""
// when the client was stopped before it named one.
func (s *Service) RefusePlaintext(protocol string, remote netip.Addr, username string) {
	s.logFailure(Attempt{Protocol: protocol, Remote: remote, Username: username}, ReasonPlaintext)
}

// Login checks one username and password. A locked-out source is refused
// before the password is looked at; a failure is answered only after the
// Limiter's delay, slept here; an account under attack (the Limiter's
// slowdown) is checked only after its delay. A password verified before,
// against the hash still stored, is answered from the cache without
// computing the hash again. Every failure logs one line.
func (s *Service) Login(ctx context.Context, a Attempt) (storage.Account, error) {
	loginMemory.start()
	defer loginMemory.end()
	acct, err := s.login(ctx, a)
	if s.opts.Observe != nil && (err == nil || errors.Is(err, ErrFailed) || errors.Is(err, ErrDisabled) || errors.Is(err, ErrLockedOut)) {
		s.opts.Observe(a.Protocol, err == nil)
	}
	return acct, err
}

func (s *Service) login(ctx context.Context, a Attempt) (storage.Account, error) {
	account := mailaddr.Key(a.Username)
	if err := s.lim.Check(ctx, a.Remote, account); err != nil {
		s.logFailure(a, ReasonLockedOut)
		return storage.Account{}, err
	}
	var ck cacheKey
	if s.cache != nil {
		ck = s.cache.key(account, a.Password)
		if acct, ok, err := s.fromCache(ctx, ck, a.Username); err != nil {
			return storage.Account{}, err
		} else if ok {
			s.lim.Success(a.Remote, account)
			return acct, nil
		}
	}
	if d := s.lim.Slowdown(a.Remote, account); d > 0 {
		if err := s.opts.Sleep(ctx, d); err != nil {
			return storage.Account{}, err
		}
	}
	res, err := s.verify(ctx, ck, a.Username, a.Password)
	if err != nil {
		return storage.Account{}, err
	}
	switch res.reason {
	case "":
		s.lim.Success(a.Remote, account)
		return res.acct, nil
	case ReasonDisabled:
		// The right password: not a guess, so not counted.
		s.logFailure(a, ReasonDisabled)
		return storage.Account{}, ErrDisabled
	}
	d := s.lim.Failure(ctx, a.Remote, account, res.reason == ReasonBadPassword)
	s.logFailure(a, res.reason)
	if d > 0 {
		if err := s.opts.Sleep(ctx, d); err != nil {
			return storage.Account{}, err
		}
	}
	return storage.Account{}, ErrFailed
}

// Probe records an unknown recipient from remote (see Limiter.Probe) and
// waits its delay. It returns a *LockoutError when the source is locked
// out: the SMTP session must end.
func (s *Service) Probe(ctx context.Context, remote netip.Addr, rcpt string) error {
	d, err := s.lim.Probe(ctx, remote, rcpt)
	if err != nil {
		return err
	}
	if d > 0 {
		return s.opts.Sleep(ctx, d)
	}
	return ctx.Err()
}

// Forget drops the remembered logins of an account. The server calls it
// for every password change, deletion and disabling, so that the old
// password stops working at once.
func (s *Service) Forget(accountID int64) {
	if s.cache != nil {
		s.cache.forget(accountID)
	}
}

// verified is the outcome of one password check against the store.
type verified struct {
	acct   storage.Account
	reason Reason // "" for a match
}

// verify checks the password against the stored hash. Identical attempts at
// once (a client opening several connections) share one computation.
func (s *Service) verify(ctx context.Context, ck cacheKey, username, password string) (verified, error) {
	// The check is shared: one caller giving up must not fail the others.
	qctx := context.WithoutCancel(ctx)
	do := func() (any, error) {
		acct, hash, err := s.opts.Accounts.Credentials(qctx, username)
		if errors.Is(err, storage.ErrNotFound) {
			// As slow as a wrong password, so that the answer's time
			// does not tell which accounts exist.
			s.opts.Verify(dummyHash(), password)
			return verified{reason: ReasonUnknown}, nil
		}
		if err != nil {
			return verified{}, err
		}
		if !s.opts.Verify(hash, password) {
			return verified{reason: ReasonBadPassword}, nil
		}
		if acct.Disabled {
			return verified{reason: ReasonDisabled}, nil
		}
		if s.cache != nil {
			// Inside the shared check, so that an attempt arriving just
			// after it finds the entry rather than checking again.
			s.cache.put(ck, acct.ID, stampOf(hash), s.opts.Now())
		}
		return verified{acct: acct}, nil
	}
	if s.cache == nil {
		v, err := do()
		return v.(verified), err
	}
	// Do, not DoChan: a panic stays on a session's goroutine, which
	// recovers it, instead of taking the process down.
	v, err, _ := s.flight.Do(string(ck[:]), do)
	if err != nil {
		return verified{}, err
	}
	return v.(verified), nil
}

// fromCache answers a login from the cache when the password was verified
// before against the hash still stored, and the account is still enabled.
func (s *Service) fromCache(ctx context.Context, ck cacheKey, username string) (storage.Account, bool, error) {
	id, st, ok := s.cache.get(ck, s.opts.Now())
	if !ok {
		return storage.Account{}, false, nil
	}
	acct, hash, err := s.opts.Accounts.Credentials(ctx, username)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		s.cache.forget(id)
		return storage.Account{}, false, nil
	case err != nil:
		return storage.Account{}, false, err
	case acct.ID != id || acct.Disabled || stampOf(hash) != st:
		// Changed by another process, whose events this one may not see.
		s.cache.forget(id)
		return storage.Account{}, false, nil
	}
	return acct, true, nil
}

// logFailure writes the failed-login line, in one format for every
// protocol (README: "Failed logins"), which contrib/fail2ban matches.
func (s *Service) logFailure(a Attempt, r Reason) {
	name := a.Username
	if len(name) > maxLoggedName {
		name = name[:maxLoggedName]
		for !utf8.ValidString(name) && len(name) > 0 {
			name = name[:len(name)-1]
		}
	}
	s.opts.Logger.Info("login failed", "proto", a.Protocol, "remote", remoteString(a.Remote), "user", name, "reason", string(r))
}

func remoteString(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	return a.Unmap().WithZone("").String()
}

// dummyHash is checked against when the account does not exist. It is
// made on first use, not at start: most programs that link this package
// never check a password.
var dummyHash = sync.OnceValue(func() string {
	h, err := storage.HashPassword("postern-timing-equaliser")
	if err != nil {
		panic(err)
	}
	return h
})

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

// ManageSieve adapts a Service to managesieve.Authenticator.
type ManageSieve struct{ *Service }

// Authenticate implements managesieve.Authenticator.
func (m ManageSieve) Authenticate(ctx context.Context, remote net.Addr, username, password string) (string, error) {
	ip, _ := addrIP(remote)
	acct, err := m.Login(ctx, Attempt{Protocol: "managesieve", Remote: ip, Username: username, Password: password})
	return acct.Address, err
}

// addrIP returns the IP of a connection's address, unmapped.
func addrIP(addr net.Addr) (netip.Addr, bool) {
	if ta, ok := addr.(*net.TCPAddr); ok && ta != nil {
		ip, ok := netip.AddrFromSlice(ta.IP)
		return ip.Unmap(), ok
	}
	if addr == nil {
		return netip.Addr{}, false
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

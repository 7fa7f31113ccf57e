// Package netlimit caps the connections a server holds open, so that one
// host cannot take every file descriptor or goroutine of the server, while
// an office of many users behind one address is served:
//
//   - per listener, at most PerIP connections from one address (IPv6: one
//     /64) that have not logged in ([limits] connections_per_ip);
//   - over all listeners, at most PerAccountIP logged-in connections of one
//     account from one address ([limits] connections_per_account_ip): a
//     connection leaves the first count for the second when its login
//     succeeds (LoggedIn);
//   - per listener, at most Total connections in all ([limits] connections).
//
// Trusted networks are counted in Total only. A connection over a cap is
// not closed silently: Accept still returns it, marked (Refused), and the
// protocol answers it with its "try again later" (IMAP BYE [UNAVAILABLE],
// POP3 -ERR [SYS/TEMP], SMTP 421 4.7.0) before closing it. One line is
// logged per refused connection, at most ten a second per listener.
package netlimit

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// maxRefusing bounds the connections of one listener that are over a cap
// and being answered; beyond it they are closed at once, so that a flood
// over the caps costs no more goroutines than the caps allow.
const maxRefusing = 64

// logBurst is how many refusals a listener logs per second.
const logBurst = 10

// CapError says which cap a connection is over. Its text fits a protocol
// reply and a log line.
type CapError struct {
	Key     string // the config key: "[limits] connections_per_ip", ...
	Limit   int
	Account string // for connections_per_account_ip
}

func (e *CapError) Error() string {
	switch e.Key {
	case KeyPerAccountIP:
		return fmt.Sprintf("too many connections of %s from your address (at most %d); close some and try again", e.Account, e.Limit)
	case KeyPerIP:
		return fmt.Sprintf("too many connections from your address (at most %d); try again later", e.Limit)
	}
	return "too many connections to this server; try again later"
}

// The config keys of the caps.
const (
	KeyPerIP        = "[limits] connections_per_ip"
	KeyPerAccountIP = "[limits] connections_per_account_ip"
	KeyTotal        = "[limits] connections"
)

// Accounts counts logged-in connections per account and address, over all
// the listeners that share it.
type Accounts struct {
	limit   int
	trusted []netip.Prefix
	log     *slog.Logger

	mu sync.Mutex
	n  map[accountKey]int
}

type accountKey struct {
	ip      netip.Addr
	account string
}

// NewAccounts returns the shared count, with at most limit logged-in
// connections per account and address (0: no cap).
func NewAccounts(limit int, trusted []netip.Prefix, log *slog.Logger) *Accounts {
	return &Accounts{limit: limit, trusted: trusted, log: log, n: make(map[accountKey]int)}
}

// Options configures a Listener.
type Options struct {
	PerIP, Total int // 0 or less: no cap
	Trusted      []netip.Prefix
	Accounts     *Accounts // nil: logged-in connections are not capped
	Logger       *slog.Logger
}

// Listener wraps a net.Listener with the caps.
type Listener struct {
	net.Listener
	opts Options

	mu       sync.Mutex
	n        int
	byIP     map[netip.Addr]int
	refusing int
	logged   int       // refusals logged in the current second
	logSec   time.Time // that second
	dropped  int       // refusals not logged since the last line
}

// Wrap returns l with the caps of opts.
func Wrap(l net.Listener, opts Options) *Listener {
	return &Listener{Listener: l, opts: opts, byIP: make(map[netip.Addr]int)}
}

// key groups IPv6 addresses by /64: one host usually has a whole /64.
func key(a net.Addr) netip.Addr {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

func trusted(prefixes []netip.Prefix, a net.Addr) bool {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Accept returns the next connection. One over a cap comes back marked:
// Refused reports it, and the caller answers and closes it.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		k := key(c.RemoteAddr())
		isTrusted := trusted(l.opts.Trusted, c.RemoteAddr())
		l.mu.Lock()
		var over *CapError
		switch {
		case l.opts.Total > 0 && l.n >= l.opts.Total:
			over = &CapError{Key: KeyTotal, Limit: l.opts.Total}
		case !isTrusted && l.opts.PerIP > 0 && l.byIP[k] >= l.opts.PerIP:
			over = &CapError{Key: KeyPerIP, Limit: l.opts.PerIP}
		}
		if over == nil {
			l.n++
			if !isTrusted {
				l.byIP[k]++
			}
			l.mu.Unlock()
			return &Conn{Conn: c, l: l, key: k, trusted: isTrusted, state: statePreAuth}, nil
		}
		if l.refusing >= maxRefusing {
			l.dropped++
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.refusing++
		l.mu.Unlock()
		l.logRefusal(c.RemoteAddr(), over)
		return &Conn{Conn: c, l: l, key: k, refused: over, state: stateRefused}, nil
	}
}

// logRefusal logs one line per refused connection, at most logBurst a
// second; a line after a quiet spell says how many were not logged.
func (l *Listener) logRefusal(remote net.Addr, e *CapError) {
	if l.opts.Logger == nil {
		return
	}
	now := time.Now().Truncate(time.Second)
	l.mu.Lock()
	if !now.Equal(l.logSec) {
		l.logSec, l.logged = now, 0
	}
	if l.logged >= logBurst {
		l.dropped++
		l.mu.Unlock()
		return
	}
	l.logged++
	dropped := l.dropped
	l.dropped = 0
	l.mu.Unlock()
	args := []any{"addr", l.Addr().String(), "remote", remote.String(), "cap", e.Key, "limit", e.Limit}
	if e.Account != "" {
		args = append(args, "user", e.Account)
	}
	if dropped > 0 {
		args = append(args, "not_logged", dropped)
	}
	l.opts.Logger.Warn("connection refused: over a cap", args...)
}

// Open reports how many connections are open in all.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

type connState uint8

const (
	statePreAuth  connState = iota // counted in byIP
	stateLoggedIn                  // counted in Accounts
	stateRefused                   // counted in refusing
	stateClosed
)

// Conn is an accepted connection. It gives its slots back when closed.
type Conn struct {
	net.Conn
	l       *Listener
	key     netip.Addr
	trusted bool
	refused *CapError

	mu      sync.Mutex
	state   connState
	account string
}

// Refused returns the cap a connection is over, or nil.
func (c *Conn) Refused() *CapError { return c.refused }

// Close closes the connection and gives its slot back, once.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.mu.Lock()
	state, account := c.state, c.account
	c.state = stateClosed
	c.mu.Unlock()
	l := c.l
	switch state {
	case statePreAuth, stateLoggedIn:
		l.mu.Lock()
		l.n--
		if state == statePreAuth && !c.trusted {
			if l.byIP[c.key]--; l.byIP[c.key] <= 0 {
				delete(l.byIP, c.key)
			}
		}
		l.mu.Unlock()
		if state == stateLoggedIn {
			l.opts.Accounts.release(c.key, account)
		}
	case stateRefused:
		l.mu.Lock()
		l.refusing--
		l.mu.Unlock()
	}
	return err
}

// NetConn returns the accepted connection, for code that looks through
// wrappers (tlsutil.ConnectionState).
func (c *Conn) NetConn() net.Conn { return c.Conn }

// loggedIn moves the connection from its address's count to its
// account's, or returns the cap that refuses it.
func (c *Conn) loggedIn(account string) *CapError {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != statePreAuth {
		return nil // already moved, or no longer counted
	}
	l := c.l
	if !c.trusted && l.opts.Accounts != nil {
		if err := l.opts.Accounts.take(c.key, account); err != nil {
			l.logRefusal(c.RemoteAddr(), err)
			return err
		}
	}
	l.mu.Lock()
	if !c.trusted {
		if l.byIP[c.key]--; l.byIP[c.key] <= 0 {
			delete(l.byIP, c.key)
		}
	}
	l.mu.Unlock()
	c.state, c.account = stateLoggedIn, account
	if c.trusted || l.opts.Accounts == nil {
		c.account = "" // nothing to give back
	}
	return nil
}

func (a *Accounts) take(ip netip.Addr, account string) *CapError {
	k := accountKey{ip, account}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.limit > 0 && a.n[k] >= a.limit {
		return &CapError{Key: KeyPerAccountIP, Limit: a.limit, Account: account}
	}
	a.n[k]++
	return nil
}

func (a *Accounts) release(ip netip.Addr, account string) {
	if a == nil || account == "" {
		return
	}
	k := accountKey{ip, account}
	a.mu.Lock()
	if a.n[k]--; a.n[k] <= 0 {
		delete(a.n, k)
	}
	a.mu.Unlock()
}

// Refused returns the cap nc (or a connection it wraps) is over, or nil
// for a connection within the caps or not from a Listener.
func Refused(nc net.Conn) *CapError {
	if c := find(nc); c != nil && c.refused != nil {
		return c.refused
	}
	return nil
}

// LoggedIn tells the caps that the connection nc (or one it wraps) has
// logged in to account: it is counted with the account's connections from
// its address from now on. Over connections_per_account_ip it returns the
// cap and logs the refusal; the caller answers and closes the connection.
// A connection not from a Listener is not counted.
func LoggedIn(nc net.Conn, account string) error {
	c := find(nc)
	if c == nil {
		return nil
	}
	if err := c.loggedIn(account); err != nil {
		return err
	}
	return nil
}

// find looks through wrappers (TLS, PROXY protocol) for the Conn.
func find(nc net.Conn) *Conn {
	for range 8 {
		switch v := nc.(type) {
		case *Conn:
			return v
		case interface{ NetConn() net.Conn }:
			nc = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// Package netlimit caps the connections a listener holds open, in all and per
// client address, so that one host cannot take every file descriptor or
// goroutine of the server. A connection over a cap is closed at once; the
// client sees the connection refused and tries again later, as mail clients
// and MTAs do.
package netlimit

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Listener wraps a net.Listener with the caps.
type Listener struct {
	net.Listener
	perIP, total int
	log          *slog.Logger

	mu      sync.Mutex
	n       int
	byIP    map[netip.Addr]int
	lastLog time.Time
}

// Wrap returns l with at most total connections open and at most perIP from
// one address (IPv6 by /64). Zero or negative values turn a cap off.
func Wrap(l net.Listener, perIP, total int, log *slog.Logger) *Listener {
	return &Listener{Listener: l, perIP: perIP, total: total, log: log, byIP: make(map[netip.Addr]int)}
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

// Accept returns the next connection within the caps; connections over a cap
// are closed and not returned.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		k := key(c.RemoteAddr())
		l.mu.Lock()
		over := (l.total > 0 && l.n >= l.total) || (l.perIP > 0 && l.byIP[k] >= l.perIP)
		if !over {
			l.n++
			l.byIP[k]++
		}
		logNow := over && time.Since(l.lastLog) > time.Minute
		if logNow {
			l.lastLog = time.Now()
		}
		l.mu.Unlock()
		if over {
			if logNow && l.log != nil {
				l.log.Warn("connection refused: too many open connections", "addr", l.Addr().String(),
					"remote", c.RemoteAddr().String(), "per_ip_cap", l.perIP, "total_cap", l.total)
			}
			c.Close()
			continue
		}
		return &conn{Conn: c, l: l, key: k}, nil
	}
}

func (l *Listener) release(k netip.Addr) {
	l.mu.Lock()
	l.n--
	if l.byIP[k]--; l.byIP[k] <= 0 {
		delete(l.byIP, k)
	}
	l.mu.Unlock()
}

// Open reports how many connections are open in all.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// conn gives its slot back when closed, once.
type conn struct {
	net.Conn
	l    *Listener
	key  netip.Addr
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

// NetConn returns the accepted connection, for code that looks through
// wrappers (tlsutil.ConnectionState).
func (c *conn) NetConn() net.Conn { return c.Conn }

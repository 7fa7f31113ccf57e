// Package proxyproto takes the client's real address from a PROXY protocol
// header (HAProxy's PROXY protocol, versions 1 and 2) sent by a trusted load
// balancer in front of a listener, so that logs, Received: fields, throttling
// and SPF see the client and not the proxy.
//
// Only peers in the trusted networks may send a header, and they must: a
// connection from them without a valid header is closed. Every other peer is
// served as it is, and a peer outside the trusted networks that opens with a
// PROXY header is refused and closed, since it could claim any address.
//
// Mail protocols are server-speaks-first: a client waits for the greeting
// before it sends anything. Waiting for a header that may not come would hold
// the greeting back, so headers are only waited for from trusted peers (which
// send one at once), and each such wait runs on its own goroutine so that a
// slow proxy connection never stalls the accept loop.
package proxyproto

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	pp "github.com/pires/go-proxyproto"
)

// HeaderTimeout bounds how long a trusted peer may take to send its header.
// Proxies send it with the connection, so this only matters for broken ones.
const HeaderTimeout = 10 * time.Second

// maxPending bounds the trusted connections whose header is still awaited.
const maxPending = 1024

// ErrRefused is the error a refused connection's reads return.
var ErrRefused = errors.New("proxyproto: PROXY header from a peer outside [limits] proxy_protocol_from")

// Contains reports whether addr (a connection's address) is in one of the
// prefixes. IPv4-mapped IPv6 addresses match IPv4 prefixes.
func Contains(prefixes []netip.Prefix, addr net.Addr) bool {
	ip, ok := AddrIP(addr)
	if !ok {
		return false
	}
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// AddrIP returns the IP address of a TCP connection's address, unmapped.
func AddrIP(addr net.Addr) (netip.Addr, bool) {
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

// Listener wraps a listener: see the package comment.
type Listener struct {
	inner   net.Listener
	trusted []netip.Prefix
	log     *slog.Logger
	timeout time.Duration

	start   sync.Once
	ready   chan accepted
	done    chan struct{}
	closeMu sync.Once
	pending chan struct{} // a slot per header being awaited

	logMu   sync.Mutex
	lastLog time.Time
	dropped int
}

type accepted struct {
	c   net.Conn
	err error
}

// Wrap returns l with PROXY headers required from peers in trusted and
// refused from everyone else. With no trusted prefixes it returns l itself.
func Wrap(l net.Listener, trusted []netip.Prefix, log *slog.Logger) net.Listener {
	if len(trusted) == 0 {
		return l
	}
	return &Listener{
		inner:   l,
		trusted: trusted,
		log:     log,
		timeout: HeaderTimeout,
		ready:   make(chan accepted),
		done:    make(chan struct{}),
		pending: make(chan struct{}, maxPending),
	}
}

// Accept returns the next connection whose client address is known.
func (l *Listener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.loop() })
	select {
	case a := <-l.ready:
		return a.c, a.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// loop accepts from the inner listener and hands connections to Accept:
// trusted ones once their header is read, others at once.
func (l *Listener) loop() {
	for {
		c, err := l.inner.Accept()
		if err != nil {
			// Pass the error on (the caller backs off on temporary ones)
			// and stop on a closed listener.
			select {
			case l.ready <- accepted{err: err}:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return
			}
			continue
		}
		if !Contains(l.trusted, c.RemoteAddr()) {
			l.deliver(&guardConn{Conn: c, l: l})
			continue
		}
		select {
		case l.pending <- struct{}{}:
		default:
			l.refuse(c, "too many connections awaiting a PROXY header")
			continue
		}
		go func() {
			defer func() { <-l.pending }()
			pc, err := readHeader(c, l.timeout)
			if err != nil {
				l.refuse(c, err.Error())
				return
			}
			l.deliver(pc)
		}()
	}
}

func (l *Listener) deliver(c net.Conn) {
	select {
	case l.ready <- accepted{c: c}:
	case <-l.done:
		c.Close()
	}
}

// readHeader reads the header of a trusted peer's connection.
func readHeader(c net.Conn, timeout time.Duration) (net.Conn, error) {
	pc := pp.NewConn(c, pp.WithPolicy(pp.REQUIRE), pp.SetReadHeaderTimeout(timeout))
	// A zero-length read processes the header and returns its error
	// without consuming or waiting for data.
	if _, err := pc.Read(nil); err != nil {
		if errors.Is(err, pp.ErrNoProxyProtocol) {
			return nil, errors.New("no PROXY header from a peer in [limits] proxy_protocol_from")
		}
		return nil, fmt.Errorf("bad PROXY header: %w", err)
	}
	return &proxiedConn{Conn: pc, raw: c}, nil
}

// refuse closes c and logs why, at most once a minute per listener so that a
// scan cannot flood the log.
func (l *Listener) refuse(c net.Conn, why string) {
	remote := c.RemoteAddr().String()
	c.Close()
	l.logMu.Lock()
	l.dropped++
	now := time.Now()
	logNow := now.Sub(l.lastLog) >= time.Minute
	n := l.dropped
	if logNow {
		l.lastLog = now
		l.dropped = 0
	}
	l.logMu.Unlock()
	if logNow && l.log != nil {
		l.log.Warn("connection refused: "+why, "addr", l.Addr().String(), "remote", remote, "refused_since_last_log", n)
	}
}

// Close stops the listener; connections not yet accepted are closed.
func (l *Listener) Close() error {
	err := l.inner.Close()
	l.closeMu.Do(func() { close(l.done) })
	return err
}

// Addr is the inner listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// proxiedConn is a trusted peer's connection after its header: RemoteAddr
// and LocalAddr are those the header names.
type proxiedConn struct {
	*pp.Conn
	raw net.Conn
}

// NetConn returns the TCP connection, for code that looks through wrappers.
func (c *proxiedConn) NetConn() net.Conn { return c.raw }

// guardConn is an untrusted peer's connection. Its first read refuses a
// PROXY header: the peer could claim any address with it.
type guardConn struct {
	net.Conn
	l       *Listener
	checked bool // only the first read looks; reads are not concurrent
}

// v1 signatures with the protocol word, so that an IMAP tag "PROXY" is no
// header; the v2 signature is 12 binary bytes no client sends.
var v1Prefixes = [][]byte{[]byte("PROXY TCP4 "), []byte("PROXY TCP6 "), []byte("PROXY UNKNOWN")}

func (c *guardConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.checked || n == 0 {
		return n, err
	}
	c.checked = true
	if isHeader(b[:n]) {
		c.l.refuse(c.Conn, "PROXY header from a peer outside [limits] proxy_protocol_from")
		return 0, ErrRefused
	}
	return n, err
}

// isHeader reports whether data, the first bytes a peer sent, starts with a
// PROXY header signature.
func isHeader(data []byte) bool {
	if bytes.HasPrefix(data, pp.SIGV2) {
		return true
	}
	for _, p := range v1Prefixes {
		if bytes.HasPrefix(data, p) {
			return true
		}
	}
	return false
}

// NetConn returns the TCP connection, for code that looks through wrappers.
func (c *guardConn) NetConn() net.Conn { return c.Conn }

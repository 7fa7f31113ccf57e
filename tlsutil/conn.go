package tlsutil

import (
	"crypto/tls"
	"net"
	"net/netip"
)

// IsLoopback reports whether addr, a connection's remote address, is a
// loopback address (127.0.0.0/8, ::1, or either mapped into IPv6). DESIGN
// allows plaintext passwords on unencrypted connections only from loopback.
// Unix socket and unknown addresses are not loopback: when in doubt, the
// password stays off the plaintext wire.
func IsLoopback(addr net.Addr) bool {
	switch a := addr.(type) {
	case nil:
		return false
	case *net.TCPAddr:
		return a != nil && a.IP.IsLoopback()
	case *net.UDPAddr:
		return a != nil && a.IP.IsLoopback()
	case *net.IPAddr:
		return a != nil && a.IP.IsLoopback()
	case *net.UnixAddr:
		return false
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return false
	}
	return ap.Addr().Unmap().IsLoopback()
}

// ConnectionState reports whether c is a *tls.Conn, or wraps one through a
// NetConn method (as *tls.Conn itself and many instrumenting wrappers do),
// and returns that connection's TLS state. go-smtp and go-imap only
// recognise a bare *tls.Conn, which is why listeners keep it outermost; this
// is for our own code, which should not be fooled by a wrapper.
func ConnectionState(c net.Conn) (tls.ConnectionState, bool) {
	// Bounded, in case wrappers form a cycle.
	for range 16 {
		switch v := c.(type) {
		case nil:
			return tls.ConnectionState{}, false
		case *tls.Conn:
			if v == nil {
				return tls.ConnectionState{}, false
			}
			return v.ConnectionState(), true
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return tls.ConnectionState{}, false
		}
	}
	return tls.ConnectionState{}, false
}

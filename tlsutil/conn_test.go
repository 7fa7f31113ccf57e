package tlsutil

import (
	"crypto/tls"
	"net"
	"testing"
)

type strAddr string

func (a strAddr) Network() string { return "tcp" }
func (a strAddr) String() string  { return string(a) }

func TestIsLoopback(t *testing.T) {
	var nilTCP *net.TCPAddr
	cases := []struct {
		addr net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 143}, true},
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.2"), Port: 143}, true},
		{&net.TCPAddr{IP: net.ParseIP("127.255.255.254"), Port: 1}, true},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 993}, true},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 25}, true},
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 25}, false},
		{&net.TCPAddr{IP: net.ParseIP("128.0.0.1"), Port: 25}, false},
		{&net.TCPAddr{IP: net.ParseIP("::2"), Port: 25}, false},
		{&net.TCPAddr{IP: net.ParseIP("::"), Port: 25}, false},
		{&net.TCPAddr{}, false},
		{&net.UDPAddr{IP: net.ParseIP("127.0.0.1")}, true},
		{&net.IPAddr{IP: net.ParseIP("::1")}, true},
		{&net.UnixAddr{Name: "/run/postern.sock", Net: "unix"}, false},
		{strAddr("127.0.0.9:25"), true},
		{strAddr("[::1]:25"), true},
		{strAddr("[fe80::1%lo]:25"), false},
		{strAddr("192.0.2.1:25"), false},
		{strAddr("localhost:25"), false},
		{strAddr(""), false},
		{nilTCP, false},
		{nil, false},
	}
	for _, tc := range cases {
		if got := IsLoopback(tc.addr); got != tc.want {
			t.Errorf("IsLoopback(%v) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

// wrapped hides a connection behind a NetConn method, as metrics and
// PROXY-protocol wrappers do.
type wrapped struct{ net.Conn }

func (w wrapped) NetConn() net.Conn { return w.Conn }

// loop is a wrapper whose NetConn leads back to itself.
type loop struct{ net.Conn }

func (l *loop) NetConn() net.Conn { return l }

// sliceConn is an uncomparable wrapper type.
type sliceConn struct {
	net.Conn
	tags []string
}

func (s sliceConn) NetConn() net.Conn { return s.Conn }

func TestConnectionStateWrappers(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()

	if _, ok := ConnectionState(a); ok {
		t.Error("plain pipe reported as TLS")
	}
	if _, ok := ConnectionState(wrapped{a}); ok {
		t.Error("wrapped plain pipe reported as TLS")
	}
	if _, ok := ConnectionState(&loop{a}); ok {
		t.Error("self-wrapping conn reported as TLS")
	}
	if _, ok := ConnectionState(nil); ok {
		t.Error("nil reported as TLS")
	}
	var nilTLS *tls.Conn
	if _, ok := ConnectionState(nilTLS); ok {
		t.Error("nil *tls.Conn reported as TLS")
	}

	// Before the handshake the state is there but not complete.
	tc := tls.Server(a, &tls.Config{})
	for _, c := range []net.Conn{tc, wrapped{tc}, wrapped{wrapped{tc}}, sliceConn{Conn: tc}} {
		st, ok := ConnectionState(c)
		if !ok || st.HandshakeComplete {
			t.Errorf("%T: ok=%v complete=%v", c, ok, st.HandshakeComplete)
		}
	}
}

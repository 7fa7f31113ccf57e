package proxyproto

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	pp "github.com/pires/go-proxyproto"
)

// The trusted proxy dials from 127.0.0.2, everyone else from 127.0.0.1.
var (
	proxyIP   = net.ParseIP("127.0.0.2")
	trustedNW = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
)

// greeter is a server-speaks-first test server: it greets with the client
// address it sees, then echoes one line.
type greeter struct {
	ln   net.Listener
	seen chan string // remote address of each accepted connection
}

func startGreeter(t *testing.T, timeout time.Duration) *greeter {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := Wrap(raw, trustedNW, nil)
	if timeout > 0 {
		ln.(*Listener).timeout = timeout
	}
	g := &greeter{ln: ln, seen: make(chan string, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			go func() {
				defer c.Close()
				g.seen <- c.RemoteAddr().String()
				io.WriteString(c, "220 hello "+c.RemoteAddr().String()+"\r\n")
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				io.WriteString(c, "echo "+line)
			}()
		}
	}()
	return g
}

func dial(t *testing.T, addr string, from net.IP) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

// converse reads the greeting, sends a line and reads the echo.
func converse(t *testing.T, c net.Conn) (greeting string) {
	t.Helper()
	r := bufio.NewReader(c)
	greeting, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("greeting: %v", err)
	}
	io.WriteString(c, "ping\r\n")
	echo, err := r.ReadString('\n')
	if err != nil || echo != "echo ping\r\n" {
		t.Fatalf("echo = %q, %v", echo, err)
	}
	return greeting
}

// expectClosed checks that the server closes c without a greeting.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err == nil {
		t.Fatalf("connection not closed; got %q", buf[:n])
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("connection still open after 30 s")
	}
}

func TestV1FromTrustedProxy(t *testing.T) {
	g := startGreeter(t, 0)
	c := dial(t, g.ln.Addr().String(), proxyIP)
	io.WriteString(c, "PROXY TCP4 203.0.113.7 192.0.2.1 40000 25\r\n")
	if got := converse(t, c); got != "220 hello 203.0.113.7:40000\r\n" {
		t.Errorf("greeting %q, want the client address from the header", got)
	}
}

func TestV2FromTrustedProxy(t *testing.T) {
	g := startGreeter(t, 0)
	c := dial(t, g.ln.Addr().String(), proxyIP)
	h := pp.HeaderProxyFromAddrs(2,
		&net.TCPAddr{IP: net.ParseIP("2001:db8::42"), Port: 51000},
		&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 993})
	if _, err := h.WriteTo(c); err != nil {
		t.Fatal(err)
	}
	if got := converse(t, c); got != "220 hello [2001:db8::42]:51000\r\n" {
		t.Errorf("greeting %q, want the client address from the header", got)
	}
}

// A header and the first command in one segment: the command must survive.
func TestHeaderAndDataTogether(t *testing.T) {
	g := startGreeter(t, 0)
	c := dial(t, g.ln.Addr().String(), proxyIP)
	io.WriteString(c, "PROXY TCP4 198.51.100.9 192.0.2.1 1234 25\r\nping\r\n")
	r := bufio.NewReader(c)
	greet, _ := r.ReadString('\n')
	echo, err := r.ReadString('\n')
	if greet != "220 hello 198.51.100.9:1234\r\n" || echo != "echo ping\r\n" {
		t.Fatalf("got %q %q %v", greet, echo, err)
	}
}

// A v2 LOCAL header (a proxy's own health check) keeps the proxy's address.
func TestV2Local(t *testing.T) {
	g := startGreeter(t, 0)
	c := dial(t, g.ln.Addr().String(), proxyIP)
	h := &pp.Header{Version: 2, Command: pp.LOCAL, TransportProtocol: pp.UNSPEC}
	if _, err := h.WriteTo(c); err != nil {
		t.Fatal(err)
	}
	if got := converse(t, c); !strings.HasPrefix(got, "220 hello 127.0.0.2:") {
		t.Errorf("greeting %q, want the proxy's own address", got)
	}
}

// Without a header a trusted peer is closed once the header timeout passes;
// the client never gets a greeting.
func TestTrustedWithoutHeader(t *testing.T) {
	g := startGreeter(t, 500*time.Millisecond)
	c := dial(t, g.ln.Addr().String(), proxyIP)
	expectClosed(t, c)
}

func TestMalformedHeaders(t *testing.T) {
	g := startGreeter(t, 0)
	for _, h := range []string{
		"PROXY TCP4 not-an-ip 192.0.2.1 1 25\r\n",
		"PROXY TCP4 203.0.113.7 192.0.2.1 99999 25\r\n",
		"PROXY TCP6 203.0.113.7 192.0.2.1 1 25\r\n",
		"PROXY TCP4 203.0.113.7 192.0.2.1 1 25\n",
		"PROXY " + strings.Repeat("A", 200) + "\r\n",
		"\r\n\r\n\x00\r\nQUIT\n\x99\x11\x00\x0c",         // v2, bad version
		"\r\n\r\n\x00\r\nQUIT\n\x21\x11\xff\xff" + "abc", // v2, length past the data
		"EHLO me\r\n", // no header at all
	} {
		c := dial(t, g.ln.Addr().String(), proxyIP)
		io.WriteString(c, h)
		if strings.HasPrefix(h, "\r\n") {
			c.(*net.TCPConn).CloseWrite() // v2 with a length past the data: EOF
		}
		expectClosed(t, c)
	}
	// The listener still serves good connections.
	c := dial(t, g.ln.Addr().String(), proxyIP)
	io.WriteString(c, "PROXY TCP4 203.0.113.7 192.0.2.1 40000 25\r\n")
	converse(t, c)
}

// Other peers are served at once, without waiting for a header
// (server-speaks-first), with their own address.
func TestUntrustedServedAtOnce(t *testing.T) {
	g := startGreeter(t, time.Hour)
	c := dial(t, g.ln.Addr().String(), net.ParseIP("127.0.0.1"))
	if got := converse(t, c); !strings.HasPrefix(got, "220 hello 127.0.0.1:") {
		t.Errorf("greeting %q", got)
	}
}

// A peer outside proxy_protocol_from that sends a header is refused: its
// read fails and the connection is closed, so it claims no address.
func TestUntrustedHeaderRefused(t *testing.T) {
	g := startGreeter(t, 0)
	for _, h := range []string{
		"PROXY TCP4 203.0.113.7 192.0.2.1 40000 25\r\n",
		string(pp.SIGV2) + "\x21\x11\x00\x0c\xcb\x00\x71\x07\xc0\x00\x02\x01\x9c\x40\x00\x19",
	} {
		c := dial(t, g.ln.Addr().String(), net.ParseIP("127.0.0.1"))
		r := bufio.NewReader(c)
		greet, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(greet, "220 hello 127.0.0.1:") {
			t.Fatalf("greeting %q %v", greet, err)
		}
		io.WriteString(c, h+"ping\r\n")
		rest, err := r.ReadString('\n')
		if err == nil {
			t.Fatalf("got %q after a spoofed header; want the connection closed", rest)
		}
	}
}

// A proxy connection that never sends its header does not hold up others.
func TestSlowHeaderDoesNotBlockAccept(t *testing.T) {
	g := startGreeter(t, time.Hour)
	slow := dial(t, g.ln.Addr().String(), proxyIP)
	_ = slow
	c := dial(t, g.ln.Addr().String(), proxyIP)
	io.WriteString(c, "PROXY TCP4 203.0.113.8 192.0.2.1 40001 25\r\n")
	if got := converse(t, c); got != "220 hello 203.0.113.8:40001\r\n" {
		t.Errorf("greeting %q", got)
	}
}

// Closing the listener ends Accept and closes connections still waiting.
func TestCloseWhilePending(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := Wrap(raw, trustedNW, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		errc <- err
	}()
	c := dial(t, raw.Addr().String(), proxyIP)
	io.WriteString(c, "PROXY TCP4 203.0.113.7 192.0.2.1 1 25\r\n")
	// The connection may or may not have been handed out before Close.
	time.Sleep(10 * time.Millisecond)
	ln.Close()
	select {
	case <-errc:
	case <-time.After(30 * time.Second):
		t.Fatal("Accept did not return after Close")
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v", err)
	}
}

func TestWrapOff(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if Wrap(raw, nil, nil) != raw {
		t.Error("an empty proxy_protocol_from must leave the listener as it is")
	}
}

func TestContains(t *testing.T) {
	ps := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	if !Contains(ps, &net.TCPAddr{IP: net.ParseIP("::ffff:10.1.2.3"), Port: 1}) {
		t.Error("IPv4-mapped address not matched by its IPv4 prefix")
	}
	if !Contains(ps, &net.TCPAddr{IP: net.ParseIP("2001:db8::5")}) {
		t.Error("IPv6 address not matched")
	}
	if Contains(ps, &net.TCPAddr{IP: net.ParseIP("11.0.0.1")}) || Contains(ps, nil) {
		t.Error("address outside every prefix matched")
	}
}

// FuzzReadHeader feeds arbitrary bytes as a trusted peer's first bytes: no
// panic, and an accepted header yields a usable address.
func FuzzReadHeader(f *testing.F) {
	f.Add([]byte("PROXY TCP4 203.0.113.7 192.0.2.1 40000 25\r\nEHLO x\r\n"))
	f.Add([]byte("PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(append(append([]byte{}, pp.SIGV2...), 0x21, 0x11, 0, 12, 203, 0, 113, 7, 192, 0, 2, 1, 0x9c, 0x40, 0, 25))
	f.Add(append(append([]byte{}, pp.SIGV2...), 0x20, 0x00, 0, 0))
	f.Add([]byte("A1 LOGIN x y\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := net.Pipe()
		defer a.Close()
		go func() {
			b.Write(data)
			b.Close()
		}()
		c, err := readHeader(a, time.Second)
		if err != nil {
			return
		}
		if c.RemoteAddr() == nil || c.RemoteAddr().String() == "" {
			t.Fatalf("accepted header without a remote address: %q", data)
		}
		io.Copy(io.Discard, c)
	})
}

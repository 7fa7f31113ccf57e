package netlimit

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveEcho echoes on connections within the caps; a line "LOGIN name"
// logs the connection in to account name and answers "OK" or the cap's
// error. A connection over a cap is told "REFUSED cap" and closed.
func serveEcho(t *testing.T, l net.Listener) {
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if e := Refused(c); e != nil {
					io.WriteString(c, "REFUSED "+e.Key+"\n")
					return
				}
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if name, ok := strings.CutPrefix(strings.TrimSpace(line), "LOGIN "); ok {
						if err := LoggedIn(c, name); err != nil {
							io.WriteString(c, "REFUSED "+err.(*CapError).Key+"\n")
							return
						}
						io.WriteString(c, "OK\n")
						continue
					}
					io.WriteString(c, line)
				}
			}()
		}
	}()
}

// say sends a line and returns the answer line; "" when the connection
// was closed.
func say(c net.Conn, line string) string {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return ""
	}
	var b []byte
	one := make([]byte, 1)
	for {
		if _, err := c.Read(one); err != nil {
			return string(b)
		}
		if one[0] == '\n' {
			return string(b)
		}
		b = append(b, one[0])
	}
}

func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func listen(t *testing.T, opts Options) *Listener {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Wrap(raw, opts)
	t.Cleanup(func() { l.Close() })
	serveEcho(t, l)
	return l
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) lines(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), sub)
}

func waitOpen(t *testing.T, l *Listener, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for l.Open() != n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := l.Open(); got != n {
		t.Fatalf("%d open, want %d", got, n)
	}
}

// Connections that have not logged in are capped per address; logging in
// moves a connection to its account's count and frees its slot; another
// address and trusted networks are not affected; a refused connection is
// told so and logged.
func TestPerIPCapCountsNotLoggedIn(t *testing.T) {
	logs := &logBuf{}
	l := listen(t, Options{PerIP: 3, Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")},
		Accounts: NewAccounts(20, nil, nil), Logger: slog.New(slog.NewTextHandler(logs, nil))})
	addr := l.Addr().String()
	var cs []net.Conn
	for i := range 3 {
		c := dialFrom(t, "127.0.0.1", addr)
		if got := say(c, "hi"); got != "hi" {
			t.Fatalf("connection %d under the cap: %q", i, got)
		}
		cs = append(cs, c)
	}
	over := dialFrom(t, "127.0.0.1", addr)
	if got := say(over, "hi"); got != "REFUSED [limits] connections_per_ip" {
		t.Fatalf("fourth connection: %q", got)
	}
	if n := logs.lines(`msg="connection refused: over a cap"`); n != 1 || logs.lines("cap=\"[limits] connections_per_ip\" limit=3") != 1 {
		t.Fatalf("%d log lines:\n%s", n, logs.b.String())
	}
	if got := say(dialFrom(t, "127.0.0.2", addr), "hi"); got != "hi" {
		t.Fatalf("another address: %q", got)
	}
	for range 10 {
		if got := say(dialFrom(t, "127.0.0.3", addr), "hi"); got != "hi" {
			t.Fatalf("trusted address: %q", got)
		}
	}
	// Two of the three log in: two slots free up for new connections.
	for _, c := range cs[:2] {
		if got := say(c, "LOGIN alice@example.test"); got != "OK" {
			t.Fatal(got)
		}
	}
	for range 2 {
		if got := say(dialFrom(t, "127.0.0.1", addr), "hi"); got != "hi" {
			t.Fatalf("after two logins: %q", got)
		}
	}
	if got := say(dialFrom(t, "127.0.0.1", addr), "hi"); got != "REFUSED [limits] connections_per_ip" {
		t.Fatalf("over the cap again: %q", got)
	}
	// A closed connection gives its slot back.
	cs[2].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got := say(dialFrom(t, "127.0.0.1", addr), "hi"); got == "hi" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("slot not given back after a close")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Logged-in connections are capped per account and address over every
// listener sharing the count; other accounts and addresses are not.
func TestPerAccountIPCap(t *testing.T) {
	accts := NewAccounts(2, []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")}, nil)
	a := listen(t, Options{PerIP: 100, Accounts: accts, Trusted: accts.trusted})
	b := listen(t, Options{PerIP: 100, Accounts: accts, Trusted: accts.trusted})
	login := func(from, addr, account string) string {
		return say(dialFrom(t, from, addr), "LOGIN "+account)
	}
	if login("127.0.0.1", a.Addr().String(), "alice") != "OK" || login("127.0.0.1", b.Addr().String(), "alice") != "OK" {
		t.Fatal("under the cap")
	}
	if got := login("127.0.0.1", a.Addr().String(), "alice"); got != "REFUSED [limits] connections_per_account_ip" {
		t.Fatalf("third of alice from one address: %q", got)
	}
	for _, c := range []struct{ from, account string }{{"127.0.0.1", "bob"}, {"127.0.0.2", "alice"}, {"127.0.0.3", "alice"}, {"127.0.0.3", "alice"}} {
		if got := login(c.from, a.Addr().String(), c.account); got != "OK" {
			t.Errorf("%s from %s: %q", c.account, c.from, got)
		}
	}
}

func TestTotalCap(t *testing.T) {
	l := listen(t, Options{Total: 2, Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	x, y := dialFrom(t, "127.0.0.1", l.Addr().String()), dialFrom(t, "127.0.0.2", l.Addr().String())
	if say(x, "a") != "a" || say(y, "b") != "b" {
		t.Fatal("refused under the cap")
	}
	if got := say(dialFrom(t, "127.0.0.3", l.Addr().String()), "c"); got != "REFUSED [limits] connections" {
		t.Errorf("third connection over a total cap of 2, trusted or not: %q", got)
	}
	waitOpen(t, l, 2)
}

// A flood over a cap is logged at most ten lines a second, and refused
// connections awaiting their answer are bounded.
func TestRefusalsBounded(t *testing.T) {
	logs := &logBuf{}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Wrap(raw, Options{Total: 1, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	defer l.Close()
	first := dialFrom(t, "127.0.0.1", l.Addr().String())
	if _, err := l.Accept(); err != nil { // within the cap, kept open
		t.Fatal(err)
	}
	var held []net.Conn // refused, not yet answered
	for range maxRefusing + 20 {
		dialFrom(t, "127.0.0.1", l.Addr().String())
	}
	for range maxRefusing {
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if Refused(c) == nil {
			t.Fatal("a connection over the cap is not marked")
		}
		held = append(held, c)
	}
	// The next ones are closed at once; a release lets one through again.
	held[0].Close()
	c, err := l.Accept()
	if err != nil || Refused(c) == nil {
		t.Fatalf("after a release: %v %v", c, err)
	}
	if n := logs.lines("connection refused"); n < 1 || n > 2*logBurst {
		t.Errorf("%d log lines for %d refusals", n, maxRefusing+20)
	}
	first.Close()
}

func TestKeyGroupsIPv6By64(t *testing.T) {
	a := key(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::1"), Port: 1})
	b := key(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:bbbb::2"), Port: 2})
	c := key(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:3::1"), Port: 3})
	m := key(&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 4})
	if a != b || a == c || m.String() != "192.0.2.7" {
		t.Errorf("keys: %v %v %v %v", a, b, c, m)
	}
}

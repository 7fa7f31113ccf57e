package e2e

import (
	"bufio"
	"crypto/tls"
	"net/netip"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"

	"postern/config"
	"postern/internal/testserver"
)

// linesFrom connects from a chosen loopback address (Linux routes all of
// 127.0.0.0/8 to lo), so that a test can be two or three clients.
func linesFrom(t *testing.T, from, addr string) *lineConn {
	t.Helper()
	c := dialFrom(t, addr, from)
	return &lineConn{t: t, c: c, br: bufio.NewReader(c)}
}

// first returns the first line the server sends, and whether the server
// then closed the connection.
func (l *lineConn) first() (string, bool) {
	l.t.Helper()
	s, err := l.line()
	if err != nil {
		l.t.Fatalf("no first line: %v", err)
	}
	rest, closed := l.rest()
	if rest != "" {
		l.t.Fatalf("after %q: %q", s, rest)
	}
	return s, closed
}

// The caps of [limits]: connections_per_ip counts the connections of an
// address that have not logged in, per listener; a login moves a
// connection to the count of its account and address
// (connections_per_account_ip, over all listeners); trusted networks are
// exempt. A connection over a cap gets the protocol's "try later" and one
// log line, not a silent close.
func TestConnectionCaps(t *testing.T) {
	logs := &syncLog{}
	ts := testserver.Start(t, testserver.Options{Log: logs, Configure: func(c *config.Config) {
		c.Limits.ConnectionsPerIP = 5
		c.Limits.ConnectionsPerAccountIP = 4
		c.Auth.TrustedNetworks = []config.Prefix{{Prefix: netip.MustParsePrefix("127.0.0.3/32")}}
	}})
	ts.AddUser(t, "alice@example.test", "alice's password")
	ts.AddUser(t, "bob@example.test", "bob's password")

	var waiting []*lineConn
	for range 5 {
		l := linesFrom(t, "127.0.0.1", ts.IMAPAddr)
		l.expect("* OK")
		waiting = append(waiting, l)
	}
	over := linesFrom(t, "127.0.0.1", ts.IMAPAddr)
	if line, closed := over.first(); !strings.HasPrefix(line, "* BYE [UNAVAILABLE] too many connections from your address (at most 5)") || !closed {
		t.Fatalf("IMAP over connections_per_ip: %q, closed %v", line, closed)
	}
	if n := logs.count(`msg="connection refused: over a cap"`); n != 1 || logs.count(`cap="[limits] connections_per_ip" limit=5`) != 1 {
		t.Fatalf("%d refusal lines:\n%s", n, logs)
	}
	// Each listener counts its own; every protocol answers.
	for _, p := range []struct{ addr, want string }{{ts.POP3Addr, "-ERR [SYS/TEMP] too many connections"}, {ts.SMTPAddr, "421 4.7.0 localhost too many connections"}} {
		for range 5 {
			linesFrom(t, "127.0.0.1", p.addr).line()
		}
		if line, closed := linesFrom(t, "127.0.0.1", p.addr).first(); !strings.HasPrefix(line, p.want) || !closed {
			t.Errorf("%s over the cap: %q, closed %v", p.addr, line, closed)
		}
	}
	for range 5 {
		c, err := tls.Dial("tcp", ts.SubmissionTLSAddr, ts.TLSConfig)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		bufio.NewReader(c).ReadString('\n')
	}
	c, err := tls.Dial("tcp", ts.SubmissionTLSAddr, ts.TLSConfig)
	if err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(c).ReadString('\n'); !strings.HasPrefix(line, "421 4.7.0") {
		t.Errorf("implicit TLS submission over the cap: %q", line)
	}
	c.Close()

	// Logging in frees the slot for a connection yet to log in.
	for _, l := range waiting[:3] {
		l.send(`a LOGIN alice@example.test "alice's password"`)
		l.expect("a OK")
	}
	for range 3 {
		linesFrom(t, "127.0.0.1", ts.IMAPAddr).expect("* OK")
	}
	// Logged-in connections of one account from one address are capped
	// over all listeners: a fourth over implicit TLS, then a fifth.
	im, err := imapclient.DialTLS(ts.IMAPTLSAddr, &imapclient.Options{TLSConfig: ts.TLSConfig})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	if err := im.Login("alice@example.test", "alice's password").Wait(); err != nil {
		t.Fatalf("fourth login of alice: %v", err)
	}
	l := waiting[3]
	l.send(`a LOGIN alice@example.test "alice's password"`)
	if line, closed := l.first(); !strings.HasPrefix(line, "* BYE [UNAVAILABLE] too many connections of alice@example.test from your address (at most 4)") || !closed {
		t.Fatalf("fifth login of alice: %q, closed %v", line, closed)
	}
	if logs.count(`cap="[limits] connections_per_account_ip" limit=4 user=alice@example.test`) != 1 {
		t.Fatalf("no refusal line for the account cap:\n%s", logs)
	}
	waiting[4].send(`b LOGIN bob@example.test "bob's password"`)
	waiting[4].expect("b OK")
	other := linesFrom(t, "127.0.0.2", ts.IMAPAddr)
	other.expect("* OK")
	other.send(`a LOGIN alice@example.test "alice's password"`)
	other.expect("a OK")
	// Trusted networks are not capped.
	for range 10 {
		l := linesFrom(t, "127.0.0.3", ts.IMAPAddr)
		l.expect("* OK")
		l.send(`a LOGIN alice@example.test "alice's password"`)
		l.expect("a OK")
	}
	// A connection that ends gives its slot back.
	waiting[0].c.Close()
	eventually(t, "alice's slot given back", func() bool {
		l := linesFrom(t, "127.0.0.1", ts.IMAPAddr)
		if line, err := l.line(); err != nil || !strings.HasPrefix(line, "* OK") {
			return false
		}
		l.send(`a LOGIN alice@example.test "alice's password"`)
		line, err := l.line()
		return err == nil && strings.HasPrefix(line, "a OK")
	})
}

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"postern/internal/testserver"
)

// lineConn speaks IMAP or POP3 a line at a time, for tests that must see
// exactly what the server sends (an untagged BYE, a RECENT, the bytes of a
// literal) or must stop reading in the middle of a response.
type lineConn struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dialLines(t testing.TB, addr string) *lineConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &lineConn{t: t, c: c, br: bufio.NewReader(c)}
}

// imapLines logs in over IMAP (plaintext is allowed from loopback).
func imapLines(t testing.TB, ts *testserver.Server, user, pass string) *lineConn {
	t.Helper()
	l := dialLines(t, ts.IMAPAddr)
	l.expect("* OK")
	l.send("l LOGIN %s %q", user, pass)
	l.expect("l OK")
	return l
}

// popLines opens a POP3 session; the maildrop listing is fixed from here on.
func popLines(t testing.TB, ts *testserver.Server, user, pass string) *lineConn {
	t.Helper()
	l := dialLines(t, ts.POP3Addr)
	l.expect("+OK")
	l.send("USER %s", user)
	l.expect("+OK")
	l.send("PASS %s", pass)
	l.expect("+OK")
	return l
}

func (l *lineConn) send(format string, args ...any) {
	l.t.Helper()
	l.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(l.c, format+"\r\n", args...); err != nil {
		l.t.Fatalf("write: %v", err)
	}
}

// line reads one line without its CRLF; err is io.EOF once the server has
// closed the connection.
func (l *lineConn) line() (string, error) {
	l.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	s, err := l.br.ReadString('\n')
	if err != nil {
		return s, err
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// expect reads lines until one starts with prefix and returns every line
// read, that one last. A tagged IMAP answer with another status, or a POP3
// -ERR when +OK is expected, fails the test.
func (l *lineConn) expect(prefix string) []string {
	l.t.Helper()
	var lines []string
	tag, _, _ := strings.Cut(prefix, " ")
	for {
		s, err := l.line()
		if err != nil {
			l.t.Fatalf("waiting for %q: %v (after %q)", prefix, err, lines)
		}
		lines = append(lines, s)
		if strings.HasPrefix(s, prefix) {
			return lines
		}
		if (tag != "*" && tag != "+" && !strings.HasPrefix(tag, "+") && strings.HasPrefix(s, tag+" ")) || (prefix == "+OK" && strings.HasPrefix(s, "-ERR")) {
			l.t.Fatalf("want %q, got %q (after %q)", prefix, s, lines)
		}
	}
}

// until reads lines up to and including the first that starts with prefix
// (a tagged answer, whatever its status); it fails the test on EOF.
func (l *lineConn) until(prefix string) []string {
	l.t.Helper()
	var lines []string
	for {
		s, err := l.line()
		if err != nil {
			l.t.Fatalf("waiting for %q: %v (after %q)", prefix, err, lines)
		}
		lines = append(lines, s)
		if strings.HasPrefix(s, prefix) {
			return lines
		}
	}
}

// rest reads what the server sends until it closes the connection, for up
// to 10 seconds; closed is false if the connection stayed open.
func (l *lineConn) rest() (text string, closed bool) {
	var b strings.Builder
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 4096)
	for time.Now().Before(deadline) {
		l.c.SetReadDeadline(deadline)
		n, err := l.br.Read(buf)
		b.Write(buf[:n])
		if err == io.EOF || err != nil && strings.Contains(err.Error(), "reset") {
			return b.String(), true
		}
		if err != nil {
			return b.String(), false
		}
	}
	return b.String(), false
}

package pop3d

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"postern/auth"
)

func TestPipelining(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	for i := 1; i <= 20; i++ {
		e.deliver(acct, testMessage(i))
	}
	c := e.dial()
	// Everything in one write, login included (RFC 2449 §6.6).
	var b strings.Builder
	b.WriteString("USER user@example.test\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL\r\n")
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&b, "RETR %d\r\nTOP %d 0\r\nLIST %d\r\n", i, i, i)
	}
	b.WriteString("DELE 1\r\nDELE 2\r\nNOOP\r\nQUIT\r\n")
	if _, err := c.conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	c.ok()
	c.ok()
	if got := c.ok(); !strings.HasPrefix(got, "20 ") {
		t.Errorf("STAT = %q", got)
	}
	c.ok()
	if n := len(c.lines()); n != 20 {
		t.Errorf("LIST has %d lines", n)
	}
	c.ok()
	c.lines()
	for i := 1; i <= 20; i++ {
		c.ok()
		if got := strings.Join(c.lines(), "\r\n") + "\r\n"; got != testMessage(i) {
			t.Errorf("RETR %d = %q", i, got)
		}
		c.ok()
		c.lines()
		if got := c.ok(); !strings.HasPrefix(got, fmt.Sprint(i)+" ") {
			t.Errorf("LIST %d = %q", i, got)
		}
	}
	for range 4 {
		c.ok()
	}
	if n := len(e.inboxState(acct)); n != 18 {
		t.Errorf("INBOX has %d messages, want 18", n)
	}
}

func TestHugeLines(t *testing.T) {
	e := newEnv(t)
	e.addUser("user@example.test", "secret")
	c := e.dial()
	// Longer than the reader's buffer: skipped, answered once.
	c.send("USER %s", strings.Repeat("a", 10000))
	if got := c.fail(); !strings.Contains(got, "too long") {
		t.Errorf("10000-octet line: %q", got)
	}
	// Over RFC 2449's 255 octets but within the buffer.
	c.send("NOOP %s", strings.Repeat("b", 300))
	if got := c.fail(); !strings.Contains(got, "too long") {
		t.Errorf("300-octet line: %q", got)
	}
	// PASS may be longer (up to 1024), AUTH too.
	c.do("USER user@example.test")
	if got := c.doErr("PASS %s", strings.Repeat("p", 900)); !strings.HasPrefix(got, "[AUTH]") {
		t.Errorf("900-octet PASS: %q", got)
	}
	c.send("AUTH PLAIN")
	c.tp.ReadLine()
	c.send("%s", strings.Repeat("QUFB", 2000))
	c.fail()
	c.login("user@example.test", "secret")
	// A line without end is cut off after a bound.
	big := bytes.Repeat([]byte("x"), 1<<20)
	c.conn.Write(big)
	if !c.closed() {
		t.Error("connection still open after 1 MiB without a line break")
	}
}

func TestBinaryGarbage(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	e.deliver(acct, testMessage(1))
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 5 {
		c := e.dial()
		if round%2 == 1 {
			c.login("user@example.test", "secret")
		}
		junk := make([]byte, 4096)
		for i := range junk {
			junk[i] = byte(rng.IntN(256))
		}
		c.conn.Write(junk)
		c.conn.Write([]byte("\r\n\x00\x00\r\nSTAT\r\nQUIT\r\n"))
		// The server answers errors and, past the error budget, closes.
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			if _, err := c.tp.ReadLine(); err != nil {
				break
			}
		}
	}
	// The server is still fine.
	c := e.dial()
	c.login("user@example.test", "secret")
	c.do("STAT")
}

func TestErrorBudget(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxErrors = 5 })
	c := e.dial()
	for range 4 {
		c.doErr("BOGUS")
	}
	c.send("BOGUS")
	c.fail()
	if got := c.fail(); !strings.Contains(got, "too many") {
		t.Errorf("after the budget: %q", got)
	}
	if !c.closed() {
		t.Error("connection open after error budget")
	}
}

func TestTruncatedCommandThenClose(t *testing.T) {
	e := newEnv(t)
	e.addUser("user@example.test", "secret")
	c := e.dial()
	c.conn.Write([]byte("USER user@exa"))
	c.conn.Close()
	c = e.dial()
	c.login("user@example.test", "secret")
}

func TestIdleTimeout(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.IdleTimeout = 200 * time.Millisecond })
	e.addUser("user@example.test", "secret")
	c := e.dial()
	c.login("user@example.test", "secret")
	if got := c.fail(); !strings.Contains(got, "autologout") {
		t.Errorf("idle: %q", got)
	}
	// The lock went with the session.
	c = e.dial()
	c.login("user@example.test", "secret")
}

func TestShutdown(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	e.deliver(acct, testMessage(1))
	c := e.dial()
	c.login("user@example.test", "secret")
	c.do("DELE 1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.fail(); !strings.Contains(got, "shutting down") {
		t.Errorf("at shutdown: %q", got)
	}
	if n := len(e.inboxState(acct)); n != 1 {
		t.Errorf("shutdown committed a DELE: %d messages", n)
	}
}

// TestPanicClosesOnlyThatConnection: a panic inside a session (here a
// server without a store, which cannot check passwords) is recovered and
// ends that connection alone.
func TestPanicClosesOnlyThatConnection(t *testing.T) {
	broken := New(Config{Hostname: "broken", Auth: auth.New(auth.Options{PlaintextOnLoopback: true}), Logger: testLogger(t)})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- broken.Serve(l) }()
	defer func() {
		broken.Shutdown(context.Background())
		<-done
	}()
	dial := func() *client {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return newClient(t, c)
	}
	a, b := dial(), dial()
	a.do("USER user@example.test")
	a.send("PASS secret")
	if !a.closed() {
		t.Fatal("connection open after a panic")
	}
	b.doErr("NOOP") // still served
	b.do("QUIT")
}

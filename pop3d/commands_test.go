package pop3d

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestGreetingCapaQuit(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	_, caps := c.multi("CAPA")
	for _, want := range []string{"TOP", "UIDL", "USER", "SASL PLAIN LOGIN", "RESP-CODES", "AUTH-RESP-CODE",
		"PIPELINING", "STLS", "IMPLEMENTATION Postern", "EXPIRE NEVER"} {
		if !slices.Contains(caps, want) {
			t.Errorf("CAPA lacks %q: %q", want, caps)
		}
	}
	c.do("QUIT")
	if !c.closed() {
		t.Error("connection open after QUIT")
	}
}

func TestStatListUidlRetr(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	var sizes []int
	for i := 1; i <= 3; i++ {
		e.deliver(acct, testMessage(i))
		sizes = append(sizes, len(testMessage(i)))
	}
	box := e.inbox(acct)
	c := e.dial()
	if got := c.login("user@example.test", "secret"); !strings.Contains(got, "3 messages") {
		t.Errorf("PASS reply %q", got)
	}
	total := sizes[0] + sizes[1] + sizes[2]
	if got, want := c.do("STAT"), fmt.Sprintf("3 %d", total); got != want {
		t.Errorf("STAT = %q, want %q", got, want)
	}
	_, list := c.multi("LIST")
	for i, l := range list {
		if want := fmt.Sprintf("%d %d", i+1, sizes[i]); l != want {
			t.Errorf("LIST line %d = %q, want %q", i, l, want)
		}
	}
	if len(list) != 3 {
		t.Fatalf("LIST has %d lines", len(list))
	}
	if got, want := c.do("LIST 2"), fmt.Sprintf("2 %d", sizes[1]); got != want {
		t.Errorf("LIST 2 = %q, want %q", got, want)
	}
	_, uidl := c.multi("UIDL")
	for i, l := range uidl {
		want := fmt.Sprintf("%d %08x%08x", i+1, box.UIDValidity, uint32(i+1))
		if l != want {
			t.Errorf("UIDL line %d = %q, want %q", i, l, want)
		}
	}
	if got, want := c.do("UIDL 3"), fmt.Sprintf("3 %08x%08x", box.UIDValidity, 3); got != want {
		t.Errorf("UIDL 3 = %q, want %q", got, want)
	}
	for i := 1; i <= 3; i++ {
		c.send("RETR %d", i)
		st := c.ok()
		if want := fmt.Sprintf("%d octets", sizes[i-1]); st != want {
			t.Errorf("RETR %d status %q, want %q", i, st, want)
		}
		if got := strings.Join(c.lines(), "\r\n") + "\r\n"; got != testMessage(i) {
			t.Errorf("RETR %d = %q, want %q", i, got, testMessage(i))
		}
	}
	c.do("NOOP")
	c.do("QUIT")
}

func TestMessageNumberErrors(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	e.deliver(acct, testMessage(1))
	c := e.dial()
	c.login("user@example.test", "secret")
	for _, cmd := range []string{"RETR 0", "RETR 2", "LIST 9", "UIDL 5", "TOP 3 1", "DELE 2", "RETR -1",
		"RETR x", "RETR", "LIST 1 2", "UIDL 1 2", "TOP 1", "TOP 1 x", "TOP 1 -1", "DELE", "STAT 1", "NOOP x",
		"RSET 1", "RETR 1 1", "RETR 99999999999", "CAPA x", "QUIT now"} {
		c.doErr("%s", cmd)
	}
	c.do("DELE 1")
	for _, cmd := range []string{"RETR 1", "DELE 1", "LIST 1", "UIDL 1", "TOP 1 0"} {
		if got := c.doErr("%s", cmd); !strings.Contains(got, "deleted") {
			t.Errorf("%s after DELE: %q", cmd, got)
		}
	}
	if _, l := c.multi("LIST"); len(l) != 0 {
		t.Errorf("LIST after DELE lists %q", l)
	}
	if _, l := c.multi("UIDL"); len(l) != 0 {
		t.Errorf("UIDL after DELE lists %q", l)
	}
	if got := c.do("STAT"); got != "0 0" {
		t.Errorf("STAT after DELE = %q", got)
	}
	if got := c.do("RSET"); !strings.Contains(got, "1 messages") {
		t.Errorf("RSET = %q", got)
	}
	c.do("RETR 1")
	c.lines()
}

func TestWrongState(t *testing.T) {
	e := newEnv(t)
	e.addUser("user@example.test", "secret")
	c := e.dial()
	for _, cmd := range []string{"STAT", "LIST", "LIST 1", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 1", "UIDL", "UIDL 1"} {
		if got := c.doErr("%s", cmd); !strings.Contains(got, "not valid before login") {
			t.Errorf("%s before login: %q", cmd, got)
		}
	}
	c.doErr("PASS secret") // PASS without USER
	c.doErr("APOP user@example.test 0123456789abcdef0123456789abcdef")
	c.doErr("XYZZY")
	c.login("user@example.test", "secret")
	for _, cmd := range []string{"USER x", "PASS y", "AUTH PLAIN", "STLS", "APOP a b"} {
		if got := c.doErr("%s", cmd); !strings.Contains(got, "not valid after login") {
			t.Errorf("%s after login: %q", cmd, got)
		}
	}
	_, caps := c.multi("CAPA")
	if slices.Contains(caps, "STLS") || slices.Contains(caps, "USER") {
		t.Errorf("CAPA in TRANSACTION offers login capabilities: %q", caps)
	}
	c.do("QUIT")
}

func TestCaseInsensitiveCommands(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	e.deliver(acct, testMessage(1))
	c := e.dial()
	c.do("user user@example.test")
	c.do("Pass secret")
	c.do("stat")
	c.multi("list")
	c.multi("uIdL")
	c.do("quit")
}

func TestEmptyMaildrop(t *testing.T) {
	e := newEnv(t)
	e.addUser("user@example.test", "secret")
	c := e.dial()
	c.login("user@example.test", "secret")
	if got := c.do("STAT"); got != "0 0" {
		t.Errorf("STAT = %q", got)
	}
	if _, l := c.multi("LIST"); len(l) != 0 {
		t.Errorf("LIST = %q", l)
	}
	c.doErr("RETR 1")
	c.do("QUIT")
}

package pop3d

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"postern/storage"
)

func TestDotStuffing(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	raw := "Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nmiddle . dot\r\n.\r\n"
	e.deliver(acct, raw)
	c := e.dial()
	c.login("user@example.test", "secret")
	c.do("RETR 1")
	got := c.rawLines()
	want := []string{"Subject: dots", "", "..leading dot", "...two dots", "..", "middle . dot", ".."}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("RETR on the wire:\n%q\nwant\n%q", got, want)
	}
	if got := c.retrBytes(1); got != raw {
		t.Errorf("RETR unstuffed %q, want %q", got, raw)
	}
	c.do("TOP 1 2")
	if got := c.rawLines(); strings.Join(got, "\n") != strings.Join(want[:4], "\n") {
		t.Errorf("TOP 1 2 on the wire: %q", got)
	}
}

// TestLargeMessageStreams crosses the store's chunk size and the copy
// buffer with dots at the boundaries.
func TestLargeMessageStreams(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	var b strings.Builder
	b.WriteString("Subject: big\r\n\r\n")
	for i := 0; b.Len() < 900<<10; i++ {
		if i%3 == 0 {
			b.WriteString(".")
		}
		fmt.Fprintf(&b, "line %d %s\r\n", i, strings.Repeat("x", i%97))
	}
	raw := b.String()
	e.deliver(acct, raw)
	c := e.dial()
	c.login("user@example.test", "secret")
	if got := c.do("LIST 1"); got != fmt.Sprintf("1 %d", len(raw)) {
		t.Errorf("LIST 1 = %q, want size %d", got, len(raw))
	}
	if got := c.retrBytes(1); got != raw {
		t.Errorf("RETR of %d bytes came back as %d bytes (differs)", len(raw), len(got))
	}
}

func TestMessageWithoutFinalCRLF(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	e.deliver(acct, "Subject: x\r\n\r\nno newline at end")
	e.deliver(acct, "Subject: header only\r\n")
	e.deliver(acct, "Subject: lf only\n\nline one\n.line two\n")
	c := e.dial()
	c.login("user@example.test", "secret")
	if got := c.retrBytes(1); got != "Subject: x\r\n\r\nno newline at end\r\n" {
		t.Errorf("RETR 1 = %q", got)
	}
	if got := c.retrBytes(2); got != "Subject: header only\r\n" {
		t.Errorf("RETR 2 = %q", got)
	}
	c.do("TOP 2 5")
	if got := c.lines(); strings.Join(got, "|") != "Subject: header only|" {
		t.Errorf("TOP 2 5 = %q", got)
	}
	// Sizes are the CRLF octets RETR sends.
	want := "Subject: lf only\r\n\r\nline one\r\n.line two\r\n"
	if got := c.do("LIST 3"); got != fmt.Sprintf("3 %d", len(want)) {
		t.Errorf("LIST 3 = %q, want %d octets", got, len(want))
	}
	if got := c.retrBytes(3); got != want {
		t.Errorf("RETR 3 = %q", got)
	}
	c.do("TOP 1 1")
	if got := c.lines(); strings.Join(got, "|") != "Subject: x||no newline at end" {
		t.Errorf("TOP 1 1 = %q", got)
	}
}

func TestTop(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	e.deliver(acct, "From: a@example.test\r\nSubject: top\r\n\r\none\r\ntwo\r\n.three\r\nfour\r\n")
	c := e.dial()
	c.login("user@example.test", "secret")
	cases := []struct {
		n    int
		want string
	}{
		{0, "From: a@example.test|Subject: top|"},
		{1, "From: a@example.test|Subject: top||one"},
		{3, "From: a@example.test|Subject: top||one|two|.three"},
		{4, "From: a@example.test|Subject: top||one|two|.three|four"},
		{1000, "From: a@example.test|Subject: top||one|two|.three|four"},
	}
	for _, tc := range cases {
		c.do("TOP 1 %d", tc.n)
		if got := strings.Join(c.lines(), "|"); got != tc.want {
			t.Errorf("TOP 1 %d = %q, want %q", tc.n, got, tc.want)
		}
	}
	// TOP changes nothing: no \Seen (DESIGN: POP3 TOP).
	if ms := e.inboxState(acct); ms[0].Flags.Has(storage.FlagSeen) {
		t.Errorf("TOP set \\Seen")
	}
}

func TestRetrSetsSeen(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	for i := 1; i <= 3; i++ {
		e.deliver(acct, testMessage(i))
	}
	c := e.dial()
	c.login("user@example.test", "secret")
	c.retrBytes(2)
	// \Seen is stored right after the reply goes out.
	e.waitFlags(acct, func(ms []storage.MessageState) bool { return ms[1].Flags.Has(storage.FlagSeen) })
	ms := e.inboxState(acct)
	for i, m := range ms {
		if got, want := m.Flags.Has(storage.FlagSeen), i == 1; got != want {
			t.Errorf("message %d \\Seen = %v, want %v", i+1, got, want)
		}
	}
	// A retrieved message keeps \Seen when the connection drops without
	// QUIT; the next session, once it has the lock, sees it.
	c.retrBytes(3)
	c.conn.Close()
	c = e.dial()
	c.login("user@example.test", "secret")
	if ms := e.inboxState(acct); !ms[2].Flags.Has(storage.FlagSeen) || ms[0].Flags.Has(storage.FlagSeen) {
		t.Errorf("after drop and relogin: %+v", ms)
	}
	// QUIT waits for the flags: after its reply they are stored.
	c.retrBytes(1)
	c.do("QUIT")
	if ms := e.inboxState(acct); !ms[0].Flags.Has(storage.FlagSeen) {
		t.Errorf("message 1 not \\Seen after RETR and QUIT")
	}
}

// TestExpungedByIMAPDuringSession: another session removes a message while
// POP3 has it listed; RETR and TOP say so, QUIT commits the rest.
func TestExpungedByIMAPDuringSession(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	var uids []uint32
	for i := 1; i <= 4; i++ {
		uids = append(uids, e.deliver(acct, testMessage(i)))
	}
	box := e.inbox(acct)
	c := e.dial()
	c.login("user@example.test", "secret")
	c.do("DELE 1")
	if _, err := e.st.Expunge(context.Background(), box.ID, []uint32{uids[1], uids[2]}); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"RETR 2", "TOP 3 0"} {
		if got := c.doErr("%s", cmd); !strings.Contains(got, "deleted by another session") {
			t.Errorf("%s of an expunged message: %q", cmd, got)
		}
	}
	if got := c.retrBytes(4); got != testMessage(4) {
		t.Errorf("RETR 4 = %q", got)
	}
	c.do("DELE 2")
	c.do("QUIT")
	ms := e.inboxState(acct)
	if len(ms) != 1 || ms[0].UID != uids[3] {
		t.Errorf("INBOX after QUIT: %+v, want only UID %d", ms, uids[3])
	}
}

// TestExpungedBodyShared: a message expunged from INBOX whose body lives on
// in another mailbox is still gone for POP3.
func TestExpungedBodyShared(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	uid := e.deliver(acct, testMessage(1))
	box := e.inbox(acct)
	arch, err := e.st.Mailbox(context.Background(), acct.ID, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	c := e.dial()
	c.login("user@example.test", "secret")
	if _, err := e.st.Move(context.Background(), box.ID, []uint32{uid}, arch.ID); err != nil {
		t.Fatal(err)
	}
	if got := c.doErr("RETR 1"); !strings.Contains(got, "deleted by another session") {
		t.Errorf("RETR of a moved message: %q", got)
	}
}

func TestSizesMatchRetr(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	msgs := []string{"A: b\n\nbare LF\n", "A: b\r\n\r\nmixed\nend\r\n", "A: b\r\n\r\n" + strings.Repeat(".", 300) + "\r\n"}
	for _, m := range msgs {
		e.deliver(acct, m)
	}
	c := e.dial()
	c.login("user@example.test", "secret")
	_, list := c.multi("LIST")
	for i, l := range list {
		var n, size int
		fmt.Sscanf(l, "%d %d", &n, &size)
		got := c.retrBytes(i + 1)
		if len(got) != size {
			t.Errorf("message %d: LIST says %d octets, RETR sent %d", i+1, size, len(got))
		}
		if bytes.Contains([]byte(got), []byte("\n\n")) && !bytes.Contains([]byte(got), []byte("\r\n\r\n")) {
			t.Errorf("message %d has bare LF: %q", i+1, got)
		}
	}
}

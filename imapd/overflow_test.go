package imapd

import (
	"strings"
	"testing"

	"postern/storage"
)

// A selected session that does not read while its event queue overflows can
// no longer keep its view in step: it gets BYE at its next command instead of
// wrong sequence numbers. An unselected session just goes on.
func TestEventOverflowEndsSelectedSession(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("one", "bob@example.test", "hi"))
	selected := e.raw(t, true)
	selected.send("s SELECT INBOX\r\n")
	selected.expect("s OK")
	unselected := e.raw(t, true)

	flood := make([]storage.Event, storage.MaxQueuedEvents+1)
	for i := range flood {
		flood[i] = storage.Event{Kind: storage.EventFlags, AccountID: e.acct.ID, MailboxID: 1, UIDs: []uint32{1}, Flags: []storage.FlagSet{{}}}
	}
	e.bus.Publish(flood)

	selected.send("n NOOP\r\n")
	lines := selected.expect("* BYE")
	if !strings.Contains(lines[len(lines)-1], "reconnect") {
		t.Errorf("BYE text: %q", lines)
	}
	if !selected.closed() {
		t.Error("connection left open after BYE")
	}
	unselected.send("n NOOP\r\n")
	unselected.expect("n OK")
}

// Events held back while a client only sends commands that may not report
// an EXPUNGE (FETCH, STORE, SEARCH; RFC 3501 §7.4.1) are bounded too: past
// MaxQueuedEvents the session ends instead of growing without end.
func TestHeldBackEventsAreBounded(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("one", "bob@example.test", "hi"))
	e.deliver(t, "INBOX", testMessage("two", "bob@example.test", "hi"))
	inbox, err := e.st.Mailbox(t.Context(), e.acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	c := e.raw(t, true)
	c.send("s SELECT INBOX\r\n")
	c.expect("s OK")
	e.bus.Publish([]storage.Event{{Kind: storage.EventExpunge, AccountID: e.acct.ID, MailboxID: inbox.ID, UIDs: []uint32{1}}})
	flood := make([]storage.Event, storage.MaxQueuedEvents*2/3)
	for i := range flood {
		flood[i] = storage.Event{Kind: storage.EventFlags, AccountID: e.acct.ID, MailboxID: inbox.ID, UIDs: []uint32{2}, Flags: []storage.FlagSet{{}}}
	}
	for round := range 2 {
		e.bus.Publish(flood)
		c.send("f FETCH 2 UID\r\n")
		lines := c.until("f ", "* BYE")
		last := lines[len(lines)-1]
		if round == 0 && !strings.HasPrefix(last, "f OK") {
			t.Fatalf("first FETCH: %q", last)
		}
		if round == 1 && !strings.HasPrefix(last, "* BYE") {
			t.Fatalf("FETCH with %d events held back: %q, want BYE", (round+1)*len(flood), last)
		}
	}
	if !c.closed() {
		t.Error("connection left open after BYE")
	}
}

// until reads lines up to the first that starts with one of prefixes.
func (r *raw) until(prefixes ...string) []string {
	r.t.Helper()
	var lines []string
	for {
		l := r.line()
		lines = append(lines, l)
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				return lines
			}
		}
	}
}

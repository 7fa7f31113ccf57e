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

package imapd

import (
	"strings"
	"testing"
)

// STATUS RECENT on the selected mailbox counts the messages that are
// \Recent in this session (RFC 3501 §6.3.10, §2.3.2), the number SELECT
// reported, while another session sees them as not recent.
func TestStatusRecentOfSelectedMailbox(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("one", "a@example.test", "hello"))
	e.deliver(t, "INBOX", testMessage("two", "a@example.test", "hello"))
	r := e.raw(t, true)
	r.send("a SELECT INBOX\r\n")
	if l := strings.Join(r.expect("a OK"), "\n"); !strings.Contains(l, "* 2 RECENT") {
		t.Fatalf("SELECT: %q", l)
	}
	r.send("b STATUS INBOX (MESSAGES RECENT)\r\n")
	if l := r.expect("b OK"); !strings.Contains(l[0], "MESSAGES 2 RECENT 2)") {
		t.Fatalf("STATUS of the selected mailbox: %q", l)
	}
	r2 := e.raw(t, true)
	r2.send("c STATUS INBOX (RECENT)\r\n")
	if l := r2.expect("c OK"); !strings.Contains(l[0], "RECENT 0)") {
		t.Fatalf("STATUS from another session: %q", l)
	}
}

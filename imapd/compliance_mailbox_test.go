package imapd

import (
	"strings"
	"testing"
)

// A session that deletes the mailbox it has selected gets a plain OK and
// is left in the authenticated state (as Dovecot does); only a deletion by
// someone else ends the session with BYE.
func TestDeleteOwnSelectedMailbox(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw(t, true)
	r.send("a CREATE Old\r\n")
	r.expect("a OK")
	r.send("b APPEND Old {5+}\r\nhello\r\n")
	r.expect("b OK")
	r.send("c SELECT Old\r\n")
	r.expect("c OK")
	r.send("d DELETE Old\r\n")
	for _, l := range r.expect("d ") {
		if strings.HasPrefix(l, "* BYE") || strings.HasPrefix(l, "d NO") || strings.HasPrefix(l, "d BAD") {
			t.Fatalf("DELETE of the selected mailbox: %q", l)
		}
	}
	r.send("e FETCH 1 FLAGS\r\n")
	if l := r.line(); !strings.HasPrefix(l, "e BAD") {
		t.Fatalf("FETCH after deleting the selected mailbox: %q, want BAD (authenticated state)", l)
	}
	r.send("f SELECT INBOX\r\n")
	r.expect("f OK")
}

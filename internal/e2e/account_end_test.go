package e2e

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"postern/internal/testserver"
)

// When an account is deleted or disabled, every session it has open in
// the server ends at once: IMAP with an untagged BYE, also in IDLE (RFC
// 3501 §7.1.5), POP3 with -ERR [SYS/PERM] (RFC 3206 §4: only an
// administrator can undo it), submission with 421 (RFC 5321 §3.8).
// Sessions of other accounts carry on.
func TestSessionsEndWithTheirAccount(t *testing.T) {
	for _, action := range []string{"delete", "disable"} {
		t.Run(action, func(t *testing.T) {
			ts := testserver.Start(t, testserver.Options{})
			ts.AddUser(t, "dave@example.test", "dave-pw")
			ts.AddUser(t, "alice@example.test", "alice-pw")

			waiting := imapLines(t, ts, "dave@example.test", "dave-pw")
			waiting.send("s SELECT INBOX")
			waiting.expect("s OK")
			idling := imapLines(t, ts, "dave@example.test", "dave-pw")
			idling.send("s SELECT INBOX")
			idling.expect("s OK")
			idling.send("i IDLE")
			idling.expect("+ ")
			pop := popLines(t, ts, "dave@example.test", "dave-pw")
			sub := dialLines(t, ts.SubmissionAddr)
			sub.expect("220 ")
			sub.send("EHLO client.test")
			sub.expect("250 ")
			sub.send("AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00dave@example.test\x00dave-pw")))
			sub.expect("235 ")
			bystander := imapLines(t, ts, "alice@example.test", "alice-pw")

			var err error
			if action == "delete" {
				err = ts.Store.DeleteAccount(context.Background(), "dave@example.test")
			} else {
				err = ts.Store.DisableAccount(context.Background(), "dave@example.test")
			}
			if err != nil {
				t.Fatal(err)
			}

			for name, c := range map[string]*lineConn{"IMAP": waiting, "IMAP IDLE": idling} {
				text, closed := c.rest()
				if !strings.Contains(text, "* BYE ") || !strings.Contains(strings.ToLower(text), action) || !closed {
					t.Errorf("%s session got %q (closed %v), want * BYE naming the %s and the connection closed", name, text, closed, action)
				}
			}
			if text, closed := pop.rest(); !strings.HasPrefix(text, "-ERR [SYS/PERM]") || !closed {
				t.Errorf("POP3 session got %q (closed %v), want -ERR [SYS/PERM] and the connection closed", text, closed)
			}
			if text, closed := sub.rest(); !strings.HasPrefix(text, "421 4.7.0 ") || !strings.Contains(text, action) || !closed {
				t.Errorf("submission session got %q (closed %v), want 421 4.7.0 naming the %s and the connection closed", text, closed, action)
			}
			bystander.send("n NOOP")
			bystander.expect("n OK")

			// A new login of the account fails.
			c := dialLines(t, ts.IMAPAddr)
			c.expect("* OK")
			c.send("l LOGIN dave@example.test dave-pw")
			if l := c.until("l "); !strings.HasPrefix(l[len(l)-1], "l NO") {
				t.Errorf("login after %s: %q", action, l)
			}
		})
	}
}

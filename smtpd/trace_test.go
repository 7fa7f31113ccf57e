package smtpd

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestHostileAddressesRefused: an address no header can carry (invalid
// UTF-8, over RFC 5321 §4.5.3.1.3's 256 octets) is refused at MAIL or RCPT,
// even where a catch-all would take any local part.
func TestHostileAddressesRefused(t *testing.T) {
	e := startEnv(t, nil)
	e.addUser(t, "alice@example.test", "pw")
	e.addAlias(t, "@example.test", "alice@example.test")
	rc := dialRaw(t, e.mxAddr)
	rc.send("EHLO raw.test\r\n")
	rc.expect("250 ")
	rc.send("MAIL FROM:<" + strings.Repeat("s", 300) + "@remote.test>\r\n")
	rc.expect("553 5.1.7")
	rc.send("MAIL FROM:<\xff\xfe@remote.test>\r\n")
	rc.expect("553 5.1.7")
	rc.send("MAIL FROM:<x@remote.test>\r\n")
	rc.expect("250 ")
	rc.send("RCPT TO:<" + strings.Repeat("\xff", 600) + "@example.test>\r\n")
	rc.expect("501 5.1.3")
	rc.send("RCPT TO:<" + strings.Repeat("a", 300) + "@example.test>\r\n")
	rc.expect("501 5.1.3")
}

// TestReceivedOfLongRecipient: the longest recipient a catch-all takes,
// in UTF-8 under SMTPUTF8, gives a Received field whose lines are all
// within RFC 5322's 998 octets and valid UTF-8.
func TestReceivedOfLongRecipient(t *testing.T) {
	e := startEnv(t, nil)
	alice := e.addUser(t, "alice@example.test", "pw")
	e.addAlias(t, "@example.test", "alice@example.test")
	rcpt := strings.Repeat("ü", 118) + "@example.test" // 249 octets
	rc := dialRaw(t, e.mxAddr)
	rc.send("EHLO " + strings.Repeat("h", 63) + "." + strings.Repeat("e", 63) + ".test\r\n")
	rc.expect("250 ")
	rc.send("MAIL FROM:<x@remote.test> SMTPUTF8\r\nRCPT TO:<" + rcpt + ">\r\nDATA\r\n")
	rc.expect("250 ")
	rc.expect("250 ")
	rc.expect("354 ")
	rc.send("Subject: long\r\n\r\nx\r\n.\r\n")
	rc.expect("250 ")
	msgs := inbox(t, e.st, alice)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	rec := splitTrace(t, msgs[0].Raw, "x@remote.test", "Subject: long\r\n\r\nx\r\n")
	if !strings.Contains(rec, "for <"+rcpt+">") {
		t.Errorf("Received does not name the recipient:\n%s", rec)
	}
	for _, l := range strings.Split(strings.TrimSuffix(rec, "\r\n"), "\r\n") {
		if len(l) > 998 || !utf8.ValidString(l) {
			t.Errorf("Received line of %d octets (valid UTF-8: %v)", len(l), utf8.ValidString(l))
		}
	}
}

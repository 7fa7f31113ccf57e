package smtpd

import (
	"strings"
	"testing"
)

// RFC 5321 §4.1.4, §4.3.2: MAIL inside a transaction is out of sequence
// (503 5.5.1); the transaction in progress stays as it was, and after RSET
// a new one starts with a fresh recipient count.
func TestNestedMail(t *testing.T) {
	e := startEnv(t, func(c *Config) { c.MaxRecipients = 2 })
	alice := e.addUser(t, "alice@example.test", "pw")
	e.addUser(t, "bob@example.test", "pw")
	e.addUser(t, "carol@example.test", "pw")

	c := dialRaw(t, e.mxAddr)
	c.send("EHLO client.test\r\n")
	c.expect("250 ")
	c.send("MAIL FROM:<a@remote.test>\r\n")
	c.expect("250 ")
	c.send("RCPT TO:<alice@example.test>\r\n")
	c.expect("250 ")
	c.send("MAIL FROM:<b@remote.test>\r\n")
	c.expect("503 5.5.1 ")
	// The first transaction is intact.
	c.send("RCPT TO:<bob@example.test>\r\n")
	c.expect("250 ")
	c.send("DATA\r\n")
	c.expect("354 ")
	c.send("Subject: one\r\n\r\nbody\r\n.\r\n")
	c.expect("250 ")
	msgs := inbox(t, e.st, alice)
	if len(msgs) != 1 || !strings.HasPrefix(string(msgs[0].Raw), "Return-Path: <a@remote.test>\r\n") {
		t.Fatalf("alice has %d messages, want 1 from <a@remote.test>", len(msgs))
	}

	// After DATA a new MAIL starts a new transaction, with its own count.
	c.send("MAIL FROM:<c@remote.test>\r\n")
	c.expect("250 ")
	c.send("RCPT TO:<alice@example.test>\r\n")
	c.expect("250 ")
	c.send("RSET\r\n")
	c.expect("250 ")
	c.send("MAIL FROM:<d@remote.test>\r\n")
	c.expect("250 ")
	c.send("RCPT TO:<bob@example.test>\r\n")
	c.expect("250 ")
	c.send("RCPT TO:<carol@example.test>\r\n")
	c.expect("250 ")
	c.send("QUIT\r\n")
	c.expect("221 ")
}

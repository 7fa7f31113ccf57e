package smtpd

import (
	"context"
	"strings"
	"testing"

	"postern/delivery"
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

// acceptAll is an outbound queue that takes every remote recipient.
type acceptAll struct{}

func (acceptAll) Accept(context.Context, string, delivery.Recipient) error { return nil }
func (acceptAll) Queued()                                                  {}

// The same recipient named twice in one transaction gets one copy; the
// Received field names it in its FOR clause as for a single recipient. A
// remote recipient named twice, or reached again through an alias, is
// queued once.
func TestDuplicateRecipients(t *testing.T) {
	e := startEnv(t, func(c *Config) { c.Queue = acceptAll{} })
	alice := e.addUser(t, "alice@example.test", "pw")
	e.addAlias(t, "fwd@example.test", "friend@remote.test")

	c := dial(t, e.mxAddr)
	msg := "Subject: twice\r\n\r\nbody\r\n"
	if _, err := send(c, "a@remote.test", []string{"alice@example.test", "alice@EXAMPLE.test"}, msg); err != nil {
		t.Fatal(err)
	}
	msgs := inbox(t, e.st, alice)
	if len(msgs) != 1 {
		t.Fatalf("alice has %d messages, want 1", len(msgs))
	}
	rec := splitTrace(t, msgs[0].Raw, "a@remote.test", msg)
	if !strings.Contains(rec, "for <alice@example.test>") {
		t.Errorf("Received lacks the FOR clause of the single recipient:\n%s", rec)
	}

	s := dial(t, e.subAddr)
	if err := plainLogin(s, "alice@example.test", "pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := send(s, "alice@example.test", []string{"friend@remote.test", "friend@REMOTE.test", "fwd@example.test"}, msg); err != nil {
		t.Fatal(err)
	}
	q, err := e.st.QueueList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || len(q[0].Recipients) != 1 {
		t.Fatalf("queue = %+v, want one entry with one recipient", q)
	}
}

// RFC 5321 §4.1.2: a recipient whose domain is neither a domain name nor an
// address literal is a syntax error (501 5.1.3), not a relay attempt, and
// is never queued.
func TestRecipientDomainSyntax(t *testing.T) {
	e := startEnv(t, func(c *Config) { c.Queue = acceptAll{} })
	e.addUser(t, "alice@example.test", "pw")
	e.addAlias(t, "@example.test", "alice@example.test")
	for _, addr := range []string{"e", "s"} {
		c := dialRaw(t, map[string]string{"e": e.mxAddr, "s": e.subAddr}[addr])
		c.send("EHLO client.test\r\n")
		c.expect("250 ")
		if addr == "s" {
			c.send("AUTH PLAIN " + b64("\x00alice@example.test\x00pw") + "\r\n")
			c.expect("235 ")
		}
		c.send("MAIL FROM:<alice@example.test>\r\n")
		c.expect("250 ")
		for _, bad := range []string{"bob@exa_mple.test", "bob@example..test", "bob@-example.test", "bob@example.test!", "bob@[1.2.3]", "bob@[IPv6:1.2.3.4]"} {
			c.send("RCPT TO:<" + bad + ">\r\n")
			c.expect("501 5.1.3 ")
		}
		for _, good := range []string{"bob@example.test", "bob@EXAMPLE.test."} {
			c.send("RCPT TO:<" + good + ">\r\n")
			c.expect("250 ")
		}
		c.send("QUIT\r\n")
		c.expect("221 ")
	}
}

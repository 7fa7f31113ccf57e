package smtpd

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

func testMessage(subject string) string {
	return "From: Sender <sender@remote.test>\r\n" +
		"To: someone@example.test\r\n" +
		"Subject: " + subject + "\r\n" +
		"Message-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@remote.test>\r\n" +
		"\r\n" +
		"Hello,\r\n" +
		"..a line that starts with a dot\r\n" +
		"\r\n" +
		"bye\r\n"
}

// dotUnstuffed is what the receiver must store for testMessage: the client
// doubles the leading dot on the wire and the server removes it.
func dotUnstuffed(msg string) string { return msg }

func TestMXDeliversToAccount(t *testing.T) {
	e := startEnv(t, nil)
	alice := e.addUser(t, "alice@example.test", "pw-alice")

	c := dial(t, e.mxAddr)
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Error("MX does not offer STARTTLS")
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("MX offers AUTH")
	}
	for _, ext := range []string{"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "CHUNKING", "SMTPUTF8", "DSN"} {
		if ok, _ := c.Extension(ext); !ok {
			t.Errorf("MX does not offer %s", ext)
		}
	}
	// SIZE without a number (see newServer): the limit is enforced at MAIL
	// and DATA, exactly.
	if ok, param := c.Extension("SIZE"); !ok || param != "" {
		t.Errorf("SIZE %q, %v; want SIZE without a number", param, ok)
	}
	msg := testMessage("mx delivery")
	resp, err := send(c, "sender@remote.test", []string{"Alice@Example.TEST"}, msg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.StatusText, "accepted as ") {
		t.Errorf("250 text %q does not name the id", resp.StatusText)
	}
	id := resp.StatusText[strings.LastIndex(resp.StatusText, " ")+1:]

	msgs := inbox(t, e.st, alice)
	if len(msgs) != 1 {
		t.Fatalf("INBOX has %d messages, want 1", len(msgs))
	}
	rec := splitTrace(t, msgs[0].Raw, "sender@remote.test", dotUnstuffed(msg))
	for _, want := range []string{
		"Received: from client.test ([127.0.0.1])\r\n",
		"\tby mx.example.test (Postern) with ESMTP\r\n",
		"\tid " + id + "\r\n",
		"\tfor <Alice@Example.TEST>;\r\n",
	} {
		if !strings.Contains(rec, want) {
			t.Errorf("Received field lacks %q:\n%s", want, rec)
		}
	}
	if strings.Contains(rec, "authenticated") {
		t.Errorf("MX Received names an authenticated user:\n%s", rec)
	}
	if !strings.Contains(e.log.String(), "id="+id) {
		t.Errorf("no log line for message %s", id)
	}
}

func TestMXAliasWithTwoTargetsStoresOneBody(t *testing.T) {
	e := startEnv(t, nil)
	alice := e.addUser(t, "alice@example.test", "pw")
	bob := e.addUser(t, "bob@example.test", "pw")
	e.addAlias(t, "team@example.test", "alice@example.test", "bob@example.test")

	c := dial(t, e.mxAddr)
	msg := testMessage("to the team")
	// alice is named twice, directly and through the alias: one copy.
	if _, err := send(c, "x@remote.test", []string{"team@example.test", "alice@example.test"}, msg); err != nil {
		t.Fatal(err)
	}
	a, b := inbox(t, e.st, alice), inbox(t, e.st, bob)
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("alice has %d, bob has %d messages; want 1 each", len(a), len(b))
	}
	if a[0].BodyID != b[0].BodyID {
		t.Errorf("two bodies stored (%d, %d) for one message", a[0].BodyID, b[0].BodyID)
	}
	rec := splitTrace(t, a[0].Raw, "x@remote.test", msg)
	if strings.Contains(rec, "for <") {
		t.Errorf("Received names a recipient of a multi-recipient message:\n%s", rec)
	}
}

func TestMXPlusAddressAndCatchAll(t *testing.T) {
	e := startEnv(t, nil)
	alice := e.addUser(t, "alice@example.test", "pw")
	post := e.addUser(t, "postmaster@example.test", "pw")
	carol := e.addUser(t, "carol@example.test", "pw")
	e.addAlias(t, "sales@example.test", "carol@example.test")

	c := dial(t, e.mxAddr)
	// Without a catch-all an unknown user is refused at RCPT time.
	if err := c.Mail("x@remote.test", nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.Rcpt("nobody@example.test", nil), 550, smtp.EnhancedCode{5, 1, 1})
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}

	if _, err := send(c, "x@remote.test", []string{"alice+lists@example.test"}, testMessage("plus")); err != nil {
		t.Fatal(err)
	}
	e.addAlias(t, "@example.test", "postmaster@example.test")
	if _, err := send(c, "x@remote.test", []string{"nobody@example.test"}, testMessage("catch all")); err != nil {
		t.Fatal(err)
	}
	// A real account and a real alias win over the catch-all.
	if _, err := send(c, "x@remote.test", []string{"alice@example.test"}, testMessage("account wins")); err != nil {
		t.Fatal(err)
	}
	if _, err := send(c, "x@remote.test", []string{"SALES@example.test"}, testMessage("alias wins")); err != nil {
		t.Fatal(err)
	}
	subjects := func(msgs []storedMsg) []string {
		var out []string
		for _, m := range msgs {
			s := string(m.Raw)
			i := strings.Index(s, "Subject: ")
			out = append(out, s[i+9:i+strings.Index(s[i:], "\r\n")])
		}
		return out
	}
	if got := subjects(inbox(t, e.st, alice)); strings.Join(got, ",") != "plus,account wins" {
		t.Errorf("alice got %q", got)
	}
	if got := subjects(inbox(t, e.st, post)); strings.Join(got, ",") != "catch all" {
		t.Errorf("postmaster got %q", got)
	}
	if got := subjects(inbox(t, e.st, carol)); strings.Join(got, ",") != "alias wins" {
		t.Errorf("carol got %q", got)
	}
	m := inbox(t, e.st, alice)[0]
	splitTrace(t, m.Raw, "x@remote.test", testMessage("plus"))
}

func TestMXNeverRelays(t *testing.T) {
	e := startEnv(t, nil)
	e.addUser(t, "alice@example.test", "pw")
	c := dial(t, e.mxAddr)
	// The sender claims a local domain; the recipient is still foreign.
	if err := c.Mail("alice@example.test", nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.Rcpt("victim@elsewhere.test", nil), 554, smtp.EnhancedCode{5, 7, 1})
	wantCode(t, c.Rcpt("alice@example.test.elsewhere.test", nil), 554, smtp.EnhancedCode{5, 7, 1})
	wantCode(t, c.Rcpt("alice@sub.example.test", nil), 554, smtp.EnhancedCode{5, 7, 1})
	// The session is still usable.
	if err := c.Rcpt("alice@example.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.log.String(), "relay refused") {
		t.Error("no log line for the refused relay")
	}
}

func TestMXMaxRecipients(t *testing.T) {
	e := startEnv(t, func(c *Config) { c.MaxRecipients = 2 })
	e.addUser(t, "alice@example.test", "pw")
	e.addAlias(t, "a1@example.test", "alice@example.test")
	e.addAlias(t, "a2@example.test", "alice@example.test")
	c := dial(t, e.mxAddr)
	if err := c.Mail("x@remote.test", nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"a1@example.test", "a2@example.test"} {
		if err := c.Rcpt(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, c.Rcpt("alice@example.test", nil), 452, smtp.EnhancedCode{4, 5, 3})
}

func TestMXStoreFailureStoresNothing(t *testing.T) {
	e := startEnv(t, nil)
	alice := e.addUser(t, "alice@example.test", "pw")
	e.addUser(t, "gone@example.test", "pw")
	c := dial(t, e.mxAddr)
	if err := c.Mail("x@remote.test", nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"alice@example.test", "gone@example.test"} {
		if err := c.Rcpt(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	// The second recipient's account disappears between RCPT and DATA, so
	// the store's one transaction fails: neither copy may remain.
	if err := e.st.DeleteAccount(context.Background(), "gone@example.test"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(testMessage("half")))
	_, err = w.CloseWithResponse()
	wantCode(t, err, 451, smtp.EnhancedCode{4, 3, 0})
	if n := len(inbox(t, e.st, alice)); n != 0 {
		t.Fatalf("alice has %d messages after a failed transaction", n)
	}
	// The next transaction works.
	if _, err := send(c, "x@remote.test", []string{"alice@example.test"}, testMessage("whole")); err != nil {
		t.Fatal(err)
	}
	if n := len(inbox(t, e.st, alice)); n != 1 {
		t.Fatalf("alice has %d messages, want 1", n)
	}
}

func TestMXSizeLimit(t *testing.T) {
	const limit = 4096
	e := startEnv(t, func(c *Config) { c.MaxMessageBytes = limit })
	alice := e.addUser(t, "alice@example.test", "pw")
	c := dial(t, e.mxAddr)
	// Declared too big in MAIL (RFC 1870 §6.1); exactly the limit is fine.
	wantCode(t, c.Mail("x@remote.test", &smtp.MailOptions{Size: limit + 1}), 552, smtp.EnhancedCode{5, 3, 4})
	if err := c.Mail("x@remote.test", &smtp.MailOptions{Size: limit}); err != nil {
		t.Fatalf("MAIL SIZE=%d: %v", limit, err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	// Sent too big in DATA: one octet over the limit. The connection
	// survives.
	err := sendLarge(c, "x@remote.test", "alice@example.test", limit+1, 1)
	wantCode(t, err, 552, smtp.EnhancedCode{5, 3, 4})
	// A message of exactly the limit gets through (RFC 1870 §4): the limit
	// counts what the client sends, not the header fields the server adds.
	if err := sendLarge(c, "x@remote.test", "alice@example.test", limit, 2); err != nil {
		t.Fatalf("message of exactly %d octets: %v", limit, err)
	}
	msgs := inbox(t, e.st, alice)
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored, want 1", len(msgs))
	}
	splitTrace(t, msgs[0].Raw, "x@remote.test", sentLarge("x@remote.test", "alice@example.test", limit, 2))

	// BDAT (RFC 3030) counts the same way.
	rc := dialRaw(t, e.mxAddr)
	for i, size := range []int{limit + 1, limit} {
		msg := sentLarge("x@remote.test", "alice@example.test", size, 10+i)
		rc.send("EHLO raw.test\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\n")
		rc.expect("250 ")
		rc.expect("250 ")
		rc.expect("250 ")
		rc.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg), msg))
		if size > limit {
			rc.expect("552 5.3.4")
		} else {
			rc.expect("250 ")
		}
	}
	if n := len(inbox(t, e.st, alice)); n != 2 {
		t.Fatalf("%d messages stored, want 2", n)
	}
}

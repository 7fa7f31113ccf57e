package e2e

import (
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"postern/config"
	"postern/internal/testserver"
)

// TestAddressForms: every part of the server agrees on what an address is.
// A served domain written in U-labels in the config is served in A-labels;
// mail for it written either way, in any case, reaches the same account; a
// quoted local part is one account; a domain that is no domain is refused
// with 501 5.1.3 on the MX and on submission alike; and a greeting in
// U-labels is written in A-labels in the Received field.
func TestAddressForms(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{Configure: func(c *config.Config) {
		c.Domains = []string{"example.test", "Bücher.Example."}
	}})
	if got := ts.Config.Domains[1]; got != "xn--bcher-kva.example" {
		t.Fatalf("served domain %q, want its A-labels", got)
	}
	ts.AddUser(t, "jörg@bücher.example", "pw")
	ts.AddUser(t, `"john doe"@example.test`, "pw")

	c, err := smtp.Dial(ts.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("relay.bücher.example"); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"jörg@BÜCHER.EXAMPLE", "jörg@xn--BCHER-kva.example.", `"john doe"@Example.TEST`} {
		if err := c.Mail("x@remote.test", &smtp.MailOptions{UTF8: true}); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(rcpt, nil); err != nil {
			t.Fatalf("RCPT %q: %v", rcpt, err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("From: <x@remote.test>\r\nSubject: to " + rcpt + "\r\n\r\nhi\r\n"))
		if err := w.Close(); err != nil {
			t.Fatalf("DATA to %q: %v", rcpt, err)
		}
	}
	for _, addr := range []string{ts.SMTPAddr, ts.SubmissionAddr} {
		c, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		if addr == ts.SubmissionAddr {
			if err := c.Auth(plainAuth("jörg@xn--bcher-kva.example", "pw")); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Mail("jörg@xn--bcher-kva.example", nil); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"a@exa_mple.test", "a@-x.test", "a@[300.1.1.1]", "a@x..test"} {
			err := c.Rcpt(bad, nil)
			if code, ec := smtpCode(err); code != 501 || ec != (smtp.EnhancedCode{5, 1, 3}) {
				t.Errorf("%s: RCPT %q: %v, want 501 5.1.3", addr, bad, err)
			}
		}
		c.Close()
	}

	jorg := imapLogin(t, ts, "jörg@xn--bcher-kva.example", "pw", nil)
	msgs := fetchAll(t, jorg, "INBOX")
	if len(msgs) != 2 {
		t.Fatalf("jörg has %d messages, want 2", len(msgs))
	}
	for _, m := range msgs {
		if !strings.Contains(string(m), "from relay.xn--bcher-kva.example (") {
			t.Errorf("Received field does not name the greeting in A-labels:\n%s", m)
		}
	}
	john := imapLogin(t, ts, `"john doe"@example.test`, "pw", nil)
	if n := len(fetchAll(t, john, "INBOX")); n != 1 {
		t.Fatalf(`"john doe" has %d messages, want 1`, n)
	}
}

func plainAuth(user, pass string) sasl.Client { return sasl.NewPlainClient("", user, pass) }

// smtpCode returns the reply code and enhanced code of a go-smtp error.
func smtpCode(err error) (int, smtp.EnhancedCode) {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code, se.EnhancedCode
	}
	return 0, smtp.EnhancedCode{}
}

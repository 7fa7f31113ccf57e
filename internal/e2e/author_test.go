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

// TestSubmissionAuthorCheck: through the whole server, a submitted From
// in another domain is refused unless [submission] allow_from_domains
// grants that domain.
func TestSubmissionAuthorCheck(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{Configure: func(c *config.Config) {
		c.Submission.AllowFromDomains = []string{"news.test"}
	}})
	ts.AddUser(t, "alice@example.test", "pw")
	c, err := smtp.DialStartTLS(ts.SubmissionAddr, ts.TLSConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.test", "pw")); err != nil {
		t.Fatal(err)
	}
	err = c.SendMail("alice@example.test", []string{"alice@example.test"}, strings.NewReader("From: ceo@other.test\r\nSubject: x\r\n\r\nx\r\n"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 553 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) || !strings.Contains(se.Message, "ceo@other.test") {
		t.Fatalf("From: ceo@other.test: %v, want 553 5.7.1 naming it", err)
	}
	if err := c.SendMail("alice@example.test", []string{"alice@example.test"}, strings.NewReader("From: letter@news.test\r\nSubject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatalf("From in a granted domain: %v", err)
	}
}

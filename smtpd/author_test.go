package smtpd

import (
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// TestSubmissionFromMustBelongToAccount: the From and Sender header
// fields of submitted mail name the authenticated account (its address,
// with or without a +tag, or one of its aliases) or a domain granted by
// allow_from_domains; every address counts, in every such field.
// Otherwise the message is refused with 553 5.7.1 naming the address, and
// nothing is stored or queued: the server would sign it with the From
// domain's DKIM key.
func TestSubmissionFromMustBelongToAccount(t *testing.T) {
	e := startEnv(t, func(c *Config) {
		c.AllowFromDomains = []string{"news.test"}
		c.MaxMessageBytes = 4 << 20
	})
	alice := e.addUser(t, "alice@example.test", "secret")
	e.addUser(t, "bob@example.test", "pw")
	e.addAlias(t, "sales@example.test", "alice@example.test")
	e.addAlias(t, "@example.test", "alice@example.test") // the catch-all grants nothing
	c := dial(t, e.subAddr)
	if err := plainLogin(c, "alice@example.test", "secret"); err != nil {
		t.Fatal(err)
	}
	junk := strings.Repeat("X-Junk: "+strings.Repeat("j", 70)+"\r\n", (1<<20)/80+100) // past the 1 MiB the analysis reads
	refused := []struct{ header, who string }{
		{"From: ceo@other.test\r\n", "ceo@other.test"},
		{"From: CEO <ceo@other.test>\r\n", "ceo@other.test"},
		{"From: alice@example.test, ceo@other.test\r\n", "ceo@other.test"},
		{"From: alice@example.test\r\nFrom: ceo@other.test\r\n", "ceo@other.test"},
		{"From: alice@example.test\r\nSender: bob@example.test\r\n", "bob@example.test"},
		{"From: random@example.test\r\n", "random@example.test"},
		{"From: \"ceo\"@other.test\r\n", "ceo@other.test"},
		{"From: x@sub.news.test\r\n", "x@sub.news.test"},
		{"From: ceo\r\n", "ceo"},
		{"From: Folded\r\n <ceo@other.test>\r\n", "ceo@other.test"},
		{"From: alice@example.test\r\n" + junk + "From: ceo@other.test\r\n", "ceo@other.test"},
	}
	for _, tc := range refused {
		_, err := send(c, "alice@example.test", []string{"bob@example.test"}, tc.header+"Subject: x\r\n\r\nbody\r\n")
		wantCode(t, err, 553, smtp.EnhancedCode{5, 7, 1})
		if !strings.Contains(err.Error(), tc.who) {
			t.Errorf("refusal of %.60q does not name %s: %v", tc.header, tc.who, err)
		}
	}
	accepted := []string{
		"From: alice@example.test\r\n",
		"From: \"Alice\" <Alice+lists@EXAMPLE.test>\r\n",
		"From: sales@example.test\r\nSender: alice@example.test\r\n",
		"From: Newsletter <letter@news.test>\r\nSender: alice@example.test\r\n",
		"From: alice@example.test, sales@example.test\r\n",
		"From: \"alice\"@example.test\r\n",
		"Subject: no From at all\r\n",
	}
	for _, h := range accepted {
		if _, err := send(c, "alice@example.test", []string{"alice@example.test"}, h+"Subject: x\r\n\r\nbody\r\n"); err != nil {
			t.Errorf("%q refused: %v", h, err)
		}
	}
	if n := len(inbox(t, e.st, alice)); n != len(accepted) {
		t.Errorf("alice has %d messages, want %d", n, len(accepted))
	}

	// The MX takes mail from anyone, in anyone's name.
	mx := dial(t, e.mxAddr)
	if _, err := send(mx, "ceo@other.test", []string{"alice@example.test"}, "From: ceo@other.test\r\n\r\nhi\r\n"); err != nil {
		t.Fatal(err)
	}
}

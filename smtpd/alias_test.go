package smtpd

import (
	"context"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// Mail to an alias whose targets were deleted is refused saying so (and
// not as a loop); the targets are not named to the sender, the log names
// the alias.
func TestAliasWithVanishedTarget(t *testing.T) {
	e := startEnv(t, nil)
	e.addUser(t, "alice@example.test", "alice's password")
	e.addUser(t, "bob@example.test", "bob's password")
	e.addAlias(t, "team@example.test", "bob@example.test")
	e.addAlias(t, "loop1@example.test", "loop2@example.test")
	e.addAlias(t, "loop2@example.test", "loop1@example.test")
	if err := e.st.DeleteAccount(context.Background(), "bob@example.test"); err != nil {
		t.Fatal(err)
	}
	c := dial(t, e.mxAddr)
	if err := c.Mail("x@remote.test", nil); err != nil {
		t.Fatal(err)
	}
	err := c.Rcpt("team@example.test", nil)
	wantCode(t, err, 550, smtp.EnhancedCode{5, 1, 6})
	if msg := err.Error(); !strings.Contains(msg, "leads to no mailbox any more") || strings.Contains(msg, "bob") || strings.Contains(msg, "loop") {
		t.Errorf("reply %q", msg)
	}
	wantCode(t, c.Rcpt("loop1@example.test", nil), 550, smtp.EnhancedCode{5, 4, 6})
	if !strings.Contains(e.log.String(), `msg="alias leads to no mailbox: its targets are gone" proto=smtp rcpt=team@example.test`) {
		t.Errorf("no log line:\n%s", e.log.String())
	}
}

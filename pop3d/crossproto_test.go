package pop3d

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"postern/imapd"
	"postern/smtpd"
)

// stack is pop3d beside imapd and the SMTP MX on one store: the cross-
// protocol rows of DESIGN.md, each protocol spoken by a real client.
type stack struct {
	*env
	imapAddr, smtpAddr string
}

func newStack(t *testing.T, tweak ...func(*Config)) *stack {
	e := newEnv(t, tweak...)
	s := &stack{env: e}
	cfg := e.srv.cfg
	im := imapd.New(imapd.Config{Store: e.st, Hostname: "imap.example.test", TLS: cfg.TLS, Auth: cfg.Auth, Logger: cfg.Logger})
	mx := smtpd.NewMX(smtpd.Config{Store: e.st, Hostname: "mx.example.test", TLS: cfg.TLS, Auth: cfg.Auth,
		Logger: cfg.Logger, Domains: []string{"example.test"}})
	serve := func(f func(net.Listener) error) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- f(l) }()
		t.Cleanup(func() {
			if err := <-done; err != nil {
				t.Errorf("Serve after Shutdown: %v", err)
			}
		})
		return l.Addr().String()
	}
	s.imapAddr = serve(im.Serve)
	s.smtpAddr = serve(mx.Serve)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		im.Shutdown(ctx)
		mx.Shutdown(ctx)
	})
	return s
}

func (s *stack) imap(t *testing.T, user string, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.imapAddr, &imapclient.Options{UnilateralDataHandler: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, "secret").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *stack) sendMail(t *testing.T, to, subject string) {
	t.Helper()
	c, err := smtp.Dial(s.smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := "From: sender@elsewhere.test\r\nTo: " + to + "\r\nSubject: " + subject + "\r\n\r\nhello over SMTP\r\n.dot line\r\n"
	if err := c.SendMail("sender@elsewhere.test", []string{to}, strings.NewReader(msg)); err != nil {
		t.Fatalf("SMTP: %v", err)
	}
	c.Quit()
}

func imapFlags(t *testing.T, c *imapclient.Client) [][]imap.Flag {
	t.Helper()
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, // 1:*
		&imap.FetchOptions{Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]imap.Flag
	for _, m := range msgs {
		out = append(out, m.Flags)
	}
	return out
}

// SMTP delivers to a user: POP3 has the message in its next session.
func TestCrossSMTPDeliveryAppearsInPOP3(t *testing.T) {
	s := newStack(t)
	s.addUser("user@example.test", "secret")
	s.sendMail(t, "user@example.test", "via smtp")
	c := s.dial()
	if got := c.login("user@example.test", "secret"); !strings.Contains(got, "1 messages") {
		t.Fatalf("after SMTP delivery: %q", got)
	}
	body := c.retrBytes(1)
	if !strings.Contains(body, "Subject: via smtp\r\n") || !strings.Contains(body, "\r\n.dot line\r\n") {
		t.Errorf("RETR = %q", body)
	}
	// A message delivered during the session waits for the next one.
	s.sendMail(t, "user@example.test", "second")
	if got := c.do("STAT"); !strings.HasPrefix(got, "1 ") {
		t.Errorf("STAT during session = %q", got)
	}
	c.do("QUIT")
	c = s.dial()
	if got := c.login("user@example.test", "secret"); !strings.Contains(got, "2 messages") {
		t.Errorf("next session: %q", got)
	}
}

// POP3 DELE then QUIT: an IMAP client in IDLE sees EXPUNGE.
func TestCrossPOP3DeleteShowsExpungeInIDLE(t *testing.T) {
	s := newStack(t)
	acct := s.addUser("user@example.test", "secret")
	for i := 1; i <= 3; i++ {
		s.deliver(acct, testMessage(i))
	}
	expunged := make(chan uint32, 8)
	ic := s.imap(t, "user@example.test", &imapclient.UnilateralDataHandler{
		Expunge: func(seq uint32) { expunged <- seq },
	})
	idle, err := ic.Idle()
	if err != nil {
		t.Fatal(err)
	}
	c := s.dial()
	c.login("user@example.test", "secret")
	c.do("DELE 2")
	select {
	case seq := <-expunged:
		t.Fatalf("EXPUNGE %d before QUIT", seq)
	case <-time.After(200 * time.Millisecond):
	}
	c.do("QUIT")
	select {
	case seq := <-expunged:
		if seq != 2 {
			t.Errorf("EXPUNGE %d, want 2", seq)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no EXPUNGE in IDLE after POP3 QUIT")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := len(imapFlags(t, ic)); n != 2 {
		t.Errorf("IMAP has %d messages, want 2", n)
	}
}

// IMAP STORE \Deleted leaves the message listed in POP3; EXPUNGE removes it
// from the next POP3 session.
func TestCrossIMAPExpungeRemovesFromPOP3(t *testing.T) {
	s := newStack(t)
	acct := s.addUser("user@example.test", "secret")
	for i := 1; i <= 3; i++ {
		s.deliver(acct, testMessage(i))
	}
	ic := s.imap(t, "user@example.test", nil)
	if err := ic.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	c := s.dial()
	if got := c.login("user@example.test", "secret"); !strings.Contains(got, "3 messages") {
		t.Errorf("with \\Deleted set in IMAP: %q", got)
	}
	c.do("QUIT")
	if err := ic.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	c = s.dial()
	if got := c.login("user@example.test", "secret"); !strings.Contains(got, "2 messages") {
		t.Errorf("after IMAP EXPUNGE: %q", got)
	}
	if got := c.retrBytes(1); got != testMessage(2) {
		t.Errorf("RETR 1 = %q, want message 2", got)
	}
}

// POP3 RETR sets \Seen as IMAP sees it; TOP changes nothing.
func TestCrossRetrSeenInIMAP(t *testing.T) {
	s := newStack(t)
	acct := s.addUser("user@example.test", "secret")
	s.deliver(acct, testMessage(1))
	s.deliver(acct, testMessage(2))
	ic := s.imap(t, "user@example.test", nil)
	c := s.dial()
	c.login("user@example.test", "secret")
	c.do("TOP 1 1")
	c.lines()
	c.retrBytes(2)
	c.do("QUIT")
	flags := imapFlags(t, ic)
	if slices.Contains(flags[0], imap.FlagSeen) {
		t.Errorf("TOP set \\Seen: %v", flags[0])
	}
	if !slices.Contains(flags[1], imap.FlagSeen) {
		t.Errorf("RETR did not set \\Seen: %v", flags[1])
	}
}

// With delete = "flag", POP3 DELE+QUIT shows as \Deleted in IMAP and the
// message stays until an IMAP client expunges it.
func TestCrossFlagPolicyInIMAP(t *testing.T) {
	s := newStack(t, func(c *Config) { c.DeletePolicy = DeleteFlag })
	acct := s.addUser("user@example.test", "secret")
	s.deliver(acct, testMessage(1))
	s.deliver(acct, testMessage(2))
	c := s.dial()
	c.login("user@example.test", "secret")
	c.do("DELE 1")
	c.do("QUIT")
	ic := s.imap(t, "user@example.test", nil)
	flags := imapFlags(t, ic)
	if len(flags) != 2 || !slices.Contains(flags[0], imap.FlagDeleted) || slices.Contains(flags[1], imap.FlagDeleted) {
		t.Errorf("IMAP flags after POP3 DELE with flag policy: %v", flags)
	}
}

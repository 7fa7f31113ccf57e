package smtpd

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"postern/auth"
)

func TestSubmissionAuthOnlyAfterTLS(t *testing.T) {
	// Without plaintext_on_loopback, 127.0.0.1 is treated like any remote
	// address: no AUTH before STARTTLS.
	e := startEnv(t, func(c *Config) { c.Auth = newAuth(c, false, auth.LimiterOptions{}, nil) })
	alice := e.addUser(t, "alice@example.test", "secret")

	c := dial(t, e.subAddr)
	if ok, _ := c.Extension("AUTH"); ok {
		t.Fatal("AUTH offered before STARTTLS")
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered")
	}
	wantCode(t, plainLogin(c, "alice@example.test", "secret"), 523, smtp.EnhancedCode{5, 7, 10})
	// Unauthenticated, MAIL is refused, and so relaying.
	wantCode(t, c.Mail("alice@example.test", nil), 530, smtp.EnhancedCode{5, 7, 0})

	tc := dialStartTLS(t, e.subAddr, e.clientTLS)
	if !tc.SupportsAuth("PLAIN") || !tc.SupportsAuth("LOGIN") {
		t.Fatal("AUTH PLAIN and LOGIN not offered after STARTTLS")
	}
	wantCode(t, tc.Mail("alice@example.test", nil), 530, smtp.EnhancedCode{5, 7, 0})
	if err := plainLogin(tc, "alice@example.test", "secret"); err != nil {
		t.Fatal(err)
	}
	msg := "From: alice@example.test\r\nSubject: self\r\n\r\nnote to self\r\n"
	if _, err := send(tc, "alice@example.test", []string{"alice@example.test"}, msg); err != nil {
		t.Fatal(err)
	}
	msgs := inbox(t, e.st, alice)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	rec := splitTrace(t, msgs[0].Raw, "alice@example.test", msg)
	for _, want := range []string{"with ESMTPSA", "(TLS 1.3 cipher ", "(authenticated user alice@example.test)"} {
		if !strings.Contains(rec, want) {
			t.Errorf("Received lacks %q:\n%s", want, rec)
		}
	}
}

func TestSubmissionLoginMechanismAndImplicitTLS(t *testing.T) {
	e := startEnv(t, func(c *Config) { c.Auth = newAuth(c, false, auth.LimiterOptions{}, nil) })
	bob := e.addUser(t, "bob@example.test", "pw-bob")
	c, err := smtp.DialTLS(e.subTLSAddr, e.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered inside implicit TLS")
	}
	if err := c.Auth(sasl.NewLoginClient("bob@example.test", "pw-bob")); err != nil {
		t.Fatal(err)
	}
	if _, err := send(c, "bob@example.test", []string{"bob@example.test"}, "Subject: 465\r\n\r\nx\r\n"); err != nil {
		t.Fatal(err)
	}
	if n := len(inbox(t, e.st, bob)); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
}

func TestSubmissionPlaintextOnLoopback(t *testing.T) {
	e := startEnv(t, nil) // PlaintextOnLoopback: true
	e.addUser(t, "alice@example.test", "secret")
	c := dial(t, e.subAddr)
	if !c.SupportsAuth("PLAIN") {
		t.Fatal("AUTH not offered in plaintext on loopback with plaintext_on_loopback")
	}
	if err := plainLogin(c, "alice@example.test", "secret"); err != nil {
		t.Fatal(err)
	}
	// A second AUTH is refused.
	wantCode(t, plainLogin(c, "alice@example.test", "secret"), 503, smtp.EnhancedCode{5, 5, 1})
}

func TestSubmissionSenderMustBelongToAccount(t *testing.T) {
	e := startEnv(t, nil)
	alice := e.addUser(t, "alice@example.test", "secret")
	e.addUser(t, "bob@example.test", "pw")
	e.addAlias(t, "sales@example.test", "alice@example.test")
	e.addAlias(t, "@example.test", "alice@example.test")
	c := dial(t, e.subAddr)
	if err := plainLogin(c, "alice@example.test", "secret"); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{"bob@example.test", "someone@remote.test", "random@example.test"} {
		wantCode(t, c.Mail(from, nil), 553, smtp.EnhancedCode{5, 7, 1})
	}
	for _, from := range []string{"alice@example.test", "Alice+x@EXAMPLE.test", "sales@example.test"} {
		if _, err := send(c, from, []string{"bob@example.test"}, "Subject: from "+from+"\r\n\r\nx\r\n"); err != nil {
			t.Fatalf("MAIL FROM %s: %v", from, err)
		}
	}
	if n := len(inbox(t, e.st, alice)); n != 0 {
		t.Errorf("alice got %d messages", n)
	}
}

func TestSubmissionRemoteRecipientNeedsQueue(t *testing.T) {
	e := startEnv(t, nil)
	alice := e.addUser(t, "alice@example.test", "secret")
	c := dial(t, e.subAddr)
	if err := plainLogin(c, "alice@example.test", "secret"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("alice@example.test", nil); err != nil {
		t.Fatal(err)
	}
	err := c.Rcpt("friend@remote.test", &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifyFailure}})
	wantCode(t, err, 451, smtp.EnhancedCode{4, 3, 0})
	if !strings.Contains(err.Error(), "not enabled") {
		t.Errorf("reply %q does not say why", err)
	}
	// A local recipient in the same transaction is still delivered.
	if err := c.Rcpt("alice@example.test", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("Subject: mixed\r\n\r\nx\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(inbox(t, e.st, alice)); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
}

func TestAuthThrottling(t *testing.T) {
	e := startEnv(t, func(c *Config) {
		c.Auth = newAuth(c, true, auth.LimiterOptions{Failures: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, Lockout: time.Hour}, nil)
	})
	e.addUser(t, "alice@example.test", "secret")
	c := dial(t, e.subAddr)
	for i := 0; i < 3; i++ {
		wantCode(t, plainLogin(c, "alice@example.test", "wrong"), 535, smtp.EnhancedCode{5, 7, 8})
	}
	// Locked out: even the right password is refused, temporarily.
	wantCode(t, plainLogin(c, "alice@example.test", "secret"), 454, smtp.EnhancedCode{4, 7, 0})
	c2 := dial(t, e.subAddr)
	wantCode(t, plainLogin(c2, "alice@example.test", "secret"), 454, smtp.EnhancedCode{4, 7, 0})

	// Another source address is unaffected.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	conn, err := d.Dial("tcp", e.subAddr)
	if err != nil {
		t.Fatal(err)
	}
	c3 := smtp.NewClient(conn)
	defer c3.Close()
	if err := c3.Hello("other.test"); err != nil {
		t.Fatal(err)
	}
	if err := plainLogin(c3, "alice@example.test", "secret"); err != nil {
		t.Fatalf("login from another address: %v", err)
	}
	if !strings.Contains(e.log.String(), "locked out") && !strings.Contains(e.log.String(), "auth lockout") {
		t.Error("no log line for the lockout")
	}
}

func TestAuthMalformed(t *testing.T) {
	e := startEnv(t, nil)
	e.addUser(t, "alice@example.test", "secret")
	rc := dialRaw(t, e.subAddr)
	rc.send("EHLO raw.test\r\n")
	rc.expect("250 ")
	rc.send("AUTH PLAIN !!!notbase64\r\n")
	rc.expect("454 4.7.0")
	rc.send("AUTH PLAIN " + b64("no-nul-here") + "\r\n")
	rc.expect("501 5.5.2")
	rc.send("AUTH PLAIN " + b64("bob@example.test\x00alice@example.test\x00secret") + "\r\n")
	rc.expect("535 5.7.8")
	rc.send("AUTH CRAM-MD5\r\n")
	rc.expect("504 5.7.4")
	rc.send("AUTH LOGIN\r\n")
	rc.expect("334 ")
	rc.send("*\r\n")
	rc.expect("501 ")
	rc.send("AUTH PLAIN " + b64("\x00alice@example.test\x00secret") + "\r\n")
	rc.expect("235 ")
}

func TestSubmissionTLSConfigRequired(t *testing.T) {
	s := NewSubmission(Config{Hostname: "x"})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := s.ServeTLS(l); err == nil {
		t.Fatal("ServeTLS without a TLS config did not fail")
	}
}

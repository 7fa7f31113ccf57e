package auth

import (
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/textproto"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// authSession offers both mechanisms over go-smtp, as the submission
// server does, so the tests below cover the base64 framing end to end.
type authSession struct{ auth CheckFunc }

func (s *authSession) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (s *authSession) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return NewPlain(s.auth), nil
	case sasl.Login:
		return NewLogin(s.auth), nil
	}
	return nil, errors.New("unsupported mechanism")
}

func (s *authSession) Reset()                               {}
func (s *authSession) Logout() error                        { return nil }
func (s *authSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *authSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *authSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }

var errBadCreds = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Invalid credentials"}

func startSMTP(t *testing.T) string {
	t.Helper()
	auth := func(user, pass string) error {
		if user == "alice@example.org" && pass == "correct horse" {
			return nil
		}
		return errBadCreds
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &authSession{auth: auth}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // loopback test; TLS policy belongs to smtpd
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

func TestSMTPAuth(t *testing.T) {
	addr := startSMTP(t)
	cases := []struct {
		name   string
		client sasl.Client
		ok     bool
	}{
		{"PLAIN", sasl.NewPlainClient("", "alice@example.org", "correct horse"), true},
		{"PLAIN authzid", sasl.NewPlainClient("alice@example.org", "alice@example.org", "correct horse"), true},
		{"PLAIN wrong password", sasl.NewPlainClient("", "alice@example.org", "battery"), false},
		{"LOGIN", sasl.NewLoginClient("alice@example.org", "correct horse"), true},
		{"LOGIN wrong password", sasl.NewLoginClient("alice@example.org", "staple"), false},
	}
	for _, tc := range cases {
		c, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Auth(tc.client)
		var se *smtp.SMTPError
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case !tc.ok && (!errors.As(err, &se) || se.Code != 535):
			t.Errorf("%s: %v, want the authenticator's 535", tc.name, err)
		}
		c.Close()
	}
}

// TestSMTPLoginPrompts speaks AUTH LOGIN by hand without an initial
// response, the way Outlook does, and checks the prompts on the wire.
func TestSMTPLoginPrompts(t *testing.T) {
	conn, err := textproto.Dial("tcp", startSMTP(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b64 := base64.StdEncoding.EncodeToString
	expect := func(code int, msg string) {
		t.Helper()
		_, got, err := conn.ReadResponse(code)
		if err != nil {
			t.Fatalf("want %d %s: %v", code, msg, err)
		}
		if msg != "" && got != msg {
			t.Fatalf("got %q, want %q", got, msg)
		}
	}
	expect(220, "")
	conn.PrintfLine("EHLO client.example")
	expect(250, "")
	conn.PrintfLine("AUTH LOGIN")
	expect(334, b64([]byte("Username:")))
	conn.PrintfLine("%s", b64([]byte("alice@example.org")))
	expect(334, b64([]byte("Password:")))
	conn.PrintfLine("%s", b64([]byte("correct horse")))
	expect(235, "")
}

package smtpd

import (
	"testing"
)

// RFC 6409 §3.2: MAIL FROM:<> on submission is permitted and must not in
// itself be refused; mail clients send disposition notifications with it.
func TestSubmissionNullSender(t *testing.T) {
	e := startEnv(t, nil)
	alice := e.addUser(t, "alice@example.test", "secret")
	e.addUser(t, "bob@example.test", "pw")

	c := dial(t, e.subAddr)
	if err := plainLogin(c, "bob@example.test", "pw"); err != nil {
		t.Fatal(err)
	}
	msg := "From: bob@example.test\r\nSubject: Read: hello\r\n\r\nread receipt\r\n"
	if _, err := send(c, "", []string{"alice@example.test"}, msg); err != nil {
		t.Fatalf("null sender on submission: %v", err)
	}
	msgs := inbox(t, e.st, alice)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	splitTrace(t, msgs[0].Raw, "", msg)

	// Unauthenticated, <> is still refused: AUTH comes first.
	u := dial(t, e.subAddr)
	wantCode(t, u.Mail("", nil), 530, [3]int{5, 7, 0})
}

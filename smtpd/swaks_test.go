package smtpd

import (
	"os/exec"
	"strings"
	"testing"

	"postern/auth"
)

// swaks runs the swaks SMTP test tool (Debian package "swaks"; CI installs
// it). A missing swaks fails the test: it is how we know a widely used
// independent client gets through.
func swaks(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("swaks")
	if err != nil {
		t.Fatalf("swaks is not installed (apt-get install swaks): %v", err)
	}
	out, err := exec.Command(path, append([]string{"--timeout", "20"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("swaks %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestSwaksMX(t *testing.T) {
	e := startEnv(t, nil)
	alice := e.addUser(t, "alice@example.test", "pw")
	out := swaks(t, "--server", e.mxAddr, "--helo", "swaks.test",
		"--from", "sender@remote.test", "--to", "alice@example.test",
		"--header", "Subject: via swaks MX", "--body", "hello from swaks")
	if !strings.Contains(out, "<-  250 2.0.0 OK: message accepted as") {
		t.Fatalf("no 250 for DATA in swaks transcript:\n%s", out)
	}
	msgs := inbox(t, e.st, alice)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	raw := string(msgs[0].Raw)
	for _, want := range []string{"Return-Path: <sender@remote.test>\r\n", "Received: from swaks.test ([127.0.0.1])", "Subject: via swaks MX\r\n", "\r\n\r\nhello from swaks\r\n"} {
		if !strings.Contains(raw, want) {
			t.Errorf("stored message lacks %q:\n%s", want, raw)
		}
	}
}

func TestSwaksSubmissionSTARTTLSAuth(t *testing.T) {
	e := startEnv(t, func(c *Config) { c.Auth = newAuth(c, false, auth.LimiterOptions{}, nil) })
	e.addUser(t, "alice@example.test", "s3cret pass")
	bob := e.addUser(t, "bob@example.test", "pw")
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		out := swaks(t, "--server", e.subAddr, "--helo", "swaks.test", "-tls",
			"--auth", mech, "--auth-user", "alice@example.test", "--auth-password", "s3cret pass",
			"--from", "alice@example.test", "--to", "bob@example.test",
			"--header", "Subject: submitted "+mech, "--body", "hi bob")
		if !strings.Contains(out, "235 2.0.0 Authentication succeeded") {
			t.Fatalf("AUTH %s failed:\n%s", mech, out)
		}
	}
	msgs := inbox(t, e.st, bob)
	if len(msgs) != 2 {
		t.Fatalf("bob has %d messages, want 2", len(msgs))
	}
	raw := string(msgs[0].Raw)
	for _, want := range []string{"with ESMTPSA", "(authenticated user alice@example.test)", "Subject: submitted PLAIN\r\n"} {
		if !strings.Contains(raw, want) {
			t.Errorf("stored message lacks %q:\n%s", want, raw)
		}
	}

	// Without TLS swaks cannot log in.
	path, _ := exec.LookPath("swaks")
	out, err := exec.Command(path, "--timeout", "20", "--server", e.subAddr, "--auth", "PLAIN",
		"--auth-user", "alice@example.test", "--auth-password", "s3cret pass",
		"--from", "alice@example.test", "--to", "bob@example.test").CombinedOutput()
	if err == nil {
		t.Fatalf("swaks logged in without TLS:\n%s", out)
	}
}

package pop3d

import (
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"postern/storage"
)

// runFetchmail downloads the mail of user@example.test with fetchmail over
// STLS and returns the messages it delivered. It fails (not skips) when
// fetchmail is missing: CI installs the Debian package.
func runFetchmail(t *testing.T, e *env, keep bool) []string {
	t.Helper()
	bin, err := exec.LookPath("fetchmail")
	if err != nil {
		t.Fatalf("fetchmail is required for this test (apt-get install fetchmail): %v", err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	der := e.srv.cfg.TLS.Certificates[0].Certificate[0]
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	mda := filepath.Join(dir, "mda.sh")
	if err := os.WriteFile(mda, []byte("#!/bin/sh\nexec cat > \"$(mktemp "+out+"/msg.XXXXXX)\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(e.addr)
	keepWord := "no keep"
	if keep {
		keepWord = "keep"
	}
	rc := filepath.Join(dir, "fetchmailrc")
	conf := fmt.Sprintf(`set no bouncemail
poll localhost via 127.0.0.1 service %s protocol POP3 auth password timeout 30
  user "user@example.test" there with password "secret" is "tester" here
  sslproto "tls1.2+" sslcertck sslcertfile "%s" sslcommonname "localhost"
  mda "%s"
  %s
`, port, ca, mda, keepWord)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", rc, "--nosyslog", "-v", "--idfile", filepath.Join(dir, "ids"), "--pidfile", filepath.Join(dir, "pid"))
	cmd.Env = append(os.Environ(), "HOME="+dir, "FETCHMAILHOME="+dir)
	logOut, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fetchmail: %v\n%s", err, logOut)
	}
	if testing.Verbose() {
		t.Logf("fetchmail:\n%s", logOut)
	}
	files, err := filepath.Glob(filepath.Join(out, "msg.*"))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, string(b))
	}
	return msgs
}

// subjects returns the sorted Subject values of messages.
func subjects(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		for _, l := range strings.Split(strings.ReplaceAll(m, "\r\n", "\n"), "\n") {
			if s, ok := strings.CutPrefix(l, "Subject: "); ok {
				out = append(out, s)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestFetchmail(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	want := []string{"message 1", "message 2", "message 3"}
	for i := 1; i <= 3; i++ {
		e.deliver(acct, testMessage(i))
	}
	e.deliver(acct, "Subject: dots\r\n\r\n.a line with a dot\r\n")
	want = append(want, "dots")
	sort.Strings(want)

	// --keep: everything downloaded, everything still there, now \Seen.
	msgs := runFetchmail(t, e, true)
	if got := subjects(msgs); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("fetchmail --keep got %q, want %q", got, want)
	}
	for _, m := range msgs {
		if strings.Contains(m, "Subject: dots") && !strings.Contains(m, "\n.a line with a dot") {
			t.Errorf("dot-stuffed line came out as %q", m)
		}
	}
	ms := e.inboxState(acct)
	if len(ms) != 4 {
		t.Fatalf("INBOX has %d messages after --keep, want 4", len(ms))
	}
	for _, m := range ms {
		if !m.Flags.Has(storage.FlagSeen) {
			t.Errorf("UID %d not \\Seen after fetchmail RETR", m.UID)
		}
	}

	// Without --keep: downloaded and removed from INBOX.
	msgs = runFetchmail(t, e, false)
	if got := subjects(msgs); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("fetchmail got %q, want %q", got, want)
	}
	if ms := e.inboxState(acct); len(ms) != 0 {
		t.Errorf("INBOX has %d messages after fetchmail without --keep", len(ms))
	}
	st, err := e.st.MailboxStatus(context.Background(), e.inbox(acct).ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 0 {
		t.Errorf("MailboxStatus says %d messages", st.Messages)
	}
}

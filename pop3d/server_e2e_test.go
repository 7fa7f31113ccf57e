package pop3d_test

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"postern/internal/testserver"
)

// These tests run against the whole server as "postern serve" wires it.

func sendSMTP(t *testing.T, addr, to, subject string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := "From: someone@elsewhere.test\r\nTo: " + to + "\r\nSubject: " + subject + "\r\n\r\nbody of " + subject + "\r\n.dotted line\r\n"
	if err := c.SendMail("someone@elsewhere.test", []string{to}, strings.NewReader(msg)); err != nil {
		t.Fatalf("SMTP: %v", err)
	}
}

// imapView returns the INBOX subjects and whether each is \Seen, as IMAP
// shows them.
func imapView(t *testing.T, ts *testserver.Server, user string) (subjects []string, seen []bool) {
	t.Helper()
	c, err := imapclient.DialTLS(ts.IMAPTLSAddr, &imapclient.Options{TLSConfig: ts.TLSConfig})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, "secret").Wait(); err != nil {
		t.Fatal(err)
	}
	mb, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if mb.NumMessages == 0 {
		return nil, nil
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		subjects = append(subjects, m.Envelope.Subject)
		seen = append(seen, slices.Contains(m.Flags, imap.FlagSeen))
	}
	return subjects, seen
}

func fetchmail(t *testing.T, ts *testserver.Server, user string, keep bool) []string {
	t.Helper()
	bin, err := exec.LookPath("fetchmail")
	if err != nil {
		t.Fatalf("fetchmail is required for this test (apt-get install fetchmail): %v", err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o700)
	ca := filepath.Join(dir, "ca.pem")
	conn, err := tls.Dial("tcp", ts.POP3TLSAddr, ts.TLSConfig)
	if err != nil {
		t.Fatal(err)
	}
	der := conn.ConnectionState().PeerCertificates[0].Raw
	conn.Close()
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	mda := filepath.Join(dir, "mda.sh")
	os.WriteFile(mda, []byte("#!/bin/sh\nexec cat > \"$(mktemp "+out+"/msg.XXXXXX)\"\n"), 0o700)
	_, port, _ := net.SplitHostPort(ts.POP3Addr)
	keepWord := map[bool]string{true: "keep", false: "no keep"}[keep]
	rc := filepath.Join(dir, "rc")
	os.WriteFile(rc, []byte(fmt.Sprintf(`set no bouncemail
poll localhost via 127.0.0.1 service %s protocol POP3 auth password timeout 30
  user "%s" there with password "secret" is "tester" here
  sslproto "tls1.2+" sslcertck sslcertfile "%s" sslcommonname "localhost"
  mda "%s"
  %s
`, port, user, ca, mda, keepWord)), 0o600)
	cmd := exec.Command(bin, "-f", rc, "--nosyslog", "--idfile", filepath.Join(dir, "ids"), "--pidfile", filepath.Join(dir, "pid"))
	cmd.Env = append(os.Environ(), "HOME="+dir, "FETCHMAILHOME="+dir)
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fetchmail: %v\n%s", err, log)
	}
	files, _ := filepath.Glob(filepath.Join(out, "msg.*"))
	var subjects []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if s, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), "Subject: "); ok {
				subjects = append(subjects, s)
				break
			}
		}
		if !strings.Contains(string(b), "\n.dotted line") {
			t.Errorf("message %s lost its dot line: %q", f, b)
		}
	}
	sort.Strings(subjects)
	return subjects
}

// TestServeFetchmail: mail delivered over SMTP is downloaded by fetchmail
// from "postern serve"'s POP3 port with --keep and without, and IMAP shows
// the matching INBOX after each run.
func TestServeFetchmail(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	ts.AddUser(t, "user@example.test", "secret")
	want := []string{"first", "second", "third"}
	for _, s := range want {
		sendSMTP(t, ts.SMTPAddr, "user@example.test", s)
	}
	subjects, seen := imapView(t, ts, "user@example.test")
	sort.Strings(subjects)
	if !slices.Equal(subjects, want) || slices.Contains(seen, true) {
		t.Fatalf("IMAP before fetchmail: %q seen %v", subjects, seen)
	}

	if got := fetchmail(t, ts, "user@example.test", true); !slices.Equal(got, want) {
		t.Errorf("fetchmail --keep got %q, want %q", got, want)
	}
	subjects, seen = imapView(t, ts, "user@example.test")
	sort.Strings(subjects)
	if !slices.Equal(subjects, want) || slices.Contains(seen, false) {
		t.Errorf("IMAP after fetchmail --keep: %q seen %v, want all kept and \\Seen", subjects, seen)
	}

	if got := fetchmail(t, ts, "user@example.test", false); !slices.Equal(got, want) {
		t.Errorf("fetchmail got %q, want %q", got, want)
	}
	if subjects, _ = imapView(t, ts, "user@example.test"); len(subjects) != 0 {
		t.Errorf("IMAP after fetchmail without --keep: %q, want empty INBOX", subjects)
	}
}

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"postern/internal/testserver"
	"postern/storage"
	"postern/tlsutil"
)

func mail(n int, subject string) *storage.Body {
	return storage.NewBody([]byte(fmt.Sprintf("From: someone@remote.test\r\nTo: alice@example.test\r\nSubject: %s\r\nMessage-ID: <sync-%d@remote.test>\r\n\r\nBody of message %d.\r\n", subject, n, n)))
}

// maildirFiles lists the message files of one maildir folder (new and cur).
func maildirFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range ents {
			out = append(out, filepath.Join(dir, sub, e.Name()))
		}
	}
	return out
}

func runMbsync(t *testing.T, rc string) {
	t.Helper()
	out, err := exec.Command("mbsync", "-c", rc, "-a").CombinedOutput()
	if err != nil {
		t.Fatalf("mbsync: %v\n%s", err, out)
	}
}

// TestMbsyncBothWays syncs an account with isync's mbsync, changes both sides
// and syncs again: flags, deletions and new messages travel both ways.
func TestMbsyncBothWays(t *testing.T) {
	if _, err := exec.LookPath("mbsync"); err != nil {
		t.Fatal("mbsync is not installed (Debian package isync; .ci/run installs it)")
	}
	ts := testserver.Start(t, testserver.Options{})
	acct := ts.AddUser(t, "alice@example.test", "alice-pw")
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		if _, err := ts.Store.Append(ctx, []storage.AppendItem{{AccountID: acct.ID, Body: mail(i, fmt.Sprintf("inbox %d", i))}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ts.Store.CreateMailbox(ctx, acct.ID, "Work", ""); err != nil {
		t.Fatal(err)
	}
	ts.Store.Append(ctx, []storage.AppendItem{{AccountID: acct.ID, Mailbox: "Work", Body: mail(4, "work 4")}})

	dir := t.TempDir()
	local := filepath.Join(dir, "mail")
	if err := os.Mkdir(local, 0o700); err != nil {
		t.Fatal(err)
	}
	port := ts.IMAPAddr[strings.LastIndexByte(ts.IMAPAddr, ':')+1:]
	rc := filepath.Join(dir, "mbsyncrc")
	os.WriteFile(rc, []byte(fmt.Sprintf(`IMAPAccount postern
Host 127.0.0.1
Port %s
User alice@example.test
Pass alice-pw
SSLType STARTTLS
CertificateFile %s

IMAPStore far
Account postern

MaildirStore near
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel sync
Far :far:
Near :near:
Patterns *
Create Both
Expunge Both
SyncState *
`, port, filepath.Join(ts.Dir, tlsutil.GeneratedCertFile), local, local)), 0o600)

	runMbsync(t, rc)
	inbox := maildirFiles(t, filepath.Join(local, "INBOX"))
	work := maildirFiles(t, filepath.Join(local, "Work"))
	if len(inbox) != 3 || len(work) != 1 {
		t.Fatalf("first sync: %d in INBOX, %d in Work; want 3 and 1", len(inbox), len(work))
	}
	for _, d := range []string{"Sent", "Drafts", "Trash", "Junk", "Archive"} {
		if _, err := os.Stat(filepath.Join(local, d)); err != nil {
			t.Errorf("mailbox %s not synced: %v", d, err)
		}
	}

	// Near side: read one, delete one, file a new message into Work.
	var seenFile, goneFile string
	for _, f := range inbox {
		b, _ := os.ReadFile(f)
		switch {
		case bytes.Contains(b, []byte("Subject: inbox 1")):
			seenFile = f
		case bytes.Contains(b, []byte("Subject: inbox 2")):
			goneFile = f
		}
	}
	if seenFile == "" || goneFile == "" {
		t.Fatal("synced messages lack their subjects")
	}
	base := filepath.Base(seenFile)
	if i := strings.Index(base, ":2,"); i >= 0 {
		base = base[:i]
	}
	os.Rename(seenFile, filepath.Join(local, "INBOX", "cur", base+":2,S"))
	os.Remove(goneFile)
	os.WriteFile(filepath.Join(local, "Work", "new", "1700000000.local.host"), []byte("From: alice@example.test\r\nSubject: written offline\r\n\r\nhello\r\n"), 0o600)
	// Far side: a new message arrives.
	ts.Store.Append(ctx, []storage.AppendItem{{AccountID: acct.ID, Body: mail(5, "inbox 5")}})

	runMbsync(t, rc)

	c := imapLogin(t, ts, "alice@example.test", "alice-pw", nil)
	subjects := func(mailbox string) map[string][]imap.Flag {
		if _, err := c.Select(mailbox, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		set := imap.SeqSet{}
		set.AddRange(1, 0)
		msgs, err := c.Fetch(set, &imap.FetchOptions{Envelope: true, Flags: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]imap.Flag{}
		for _, m := range msgs {
			out[m.Envelope.Subject] = m.Flags
		}
		return out
	}
	in := subjects("INBOX")
	if _, ok := in["inbox 2"]; ok {
		t.Errorf("message deleted in the maildir is still on the server: %v", in)
	}
	if !hasFlag(in["inbox 1"], imap.FlagSeen) {
		t.Errorf("\\Seen set in the maildir did not reach the server: %v", in)
	}
	if len(in) != 3 {
		t.Errorf("server INBOX = %v, want inbox 1, 3, 5", in)
	}
	w := subjects("Work")
	if _, ok := w["written offline"]; len(w) != 2 || !ok {
		t.Errorf("server Work = %v, want the offline message too", w)
	}
	if n := len(maildirFiles(t, filepath.Join(local, "INBOX"))); n != 3 {
		t.Errorf("maildir INBOX has %d messages after the second sync, want 3", n)
	}
	// A third sync with nothing changed changes nothing.
	runMbsync(t, rc)
	if n := len(maildirFiles(t, filepath.Join(local, "INBOX"))); n != 3 {
		t.Errorf("maildir INBOX has %d messages after an idle sync", n)
	}
}

func hasFlag(flags []imap.Flag, f imap.Flag) bool {
	for _, x := range flags {
		if strings.EqualFold(string(x), string(f)) {
			return true
		}
	}
	return false
}

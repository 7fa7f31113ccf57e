package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"postern/internal/testserver"
	"postern/storage"
	"postern/tlsutil"
)

// mbsync (isync) turns COMPRESS=DEFLATE on whenever the server offers it:
// a whole sync, a large message included, runs compressed.
func TestMbsyncCompressed(t *testing.T) {
	if _, err := exec.LookPath("mbsync"); err != nil {
		t.Fatal("mbsync is not installed (Debian package isync; .ci/run installs it)")
	}
	var log syncBuffer
	ts := testserver.Start(t, testserver.Options{Log: &log})
	acct := ts.AddUser(t, "alice@example.test", "alice-pw")
	ctx := context.Background()
	big := storage.NewBody([]byte("From: someone@remote.test\r\nSubject: big\r\n\r\n" + strings.Repeat("line of a long message\r\n", 40000)))
	items := []storage.AppendItem{{AccountID: acct.ID, Body: big}}
	for i := 1; i <= 20; i++ {
		items = append(items, storage.AppendItem{AccountID: acct.ID, Body: mail(100+i, fmt.Sprintf("small %d", i))})
	}
	if _, err := ts.Store.Append(ctx, items); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	local := filepath.Join(dir, "mail")
	os.Mkdir(local, 0o700)
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

Channel sync
Far :far:
Near :near:
Patterns INBOX
Create Near
SyncState *
`, port, filepath.Join(ts.Dir, tlsutil.GeneratedCertFile), local, local)), 0o600)
	runMbsync(t, rc)
	files := maildirFiles(t, filepath.Join(local, "INBOX"))
	if len(files) != 21 {
		t.Fatalf("%d messages synced, want 21", len(files))
	}
	lines := 0
	for _, f := range files {
		b, _ := os.ReadFile(f)
		lines = max(lines, strings.Count(string(b), "line of a long message\n"))
	}
	if lines != 40000 {
		t.Fatalf("the large message has %d of its 40000 lines", lines)
	}
	if !strings.Contains(log.String(), "imap compression on") {
		t.Fatalf("mbsync did not turn COMPRESS on; server log:\n%s", log.String())
	}
}

//go:build linux

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/emersion/go-smtp"

	"postern/internal/testserver"
	"postern/storage/sqlite"
)

// onTmpfs runs the calling test on a fresh tmpfs of the given size (mount
// syntax, "32m"): the test binary runs that one test again in a private
// mount namespace, where it may mount one, as root or else in a user
// namespace of its own. In the parent it returns "" after the child
// passed; in the child it returns the mounted directory.
func onTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Getenv("POSTERN_TEST_TMPFS") == t.Name() {
		// Mounts made here must not leak into the parent's namespace.
		if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
			t.Fatalf("making the mount namespace private: %v", err)
		}
		dir := t.TempDir()
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
			t.Fatalf("mounting a tmpfs on %s: %v", dir, err)
		}
		t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
		return dir
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "POSTERN_TEST_TMPFS="+t.Name())
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}
	if os.Geteuid() != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	cmd.SysProcAttr = attr
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("%s on a tmpfs, in its own mount namespace (this needs root, or unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1): %v\n%s",
			t.Name(), err, out)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
	}
	return ""
}

// mxSend sends one message over the MX listener and returns the server's
// refusal, if any.
func mxSend(ts *testserver.Server, to, msg string) error {
	c, err := smtp.Dial(ts.SMTPAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail("x@remote.test", []string{to}, strings.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

func mailOf(n, size int) string {
	return fmt.Sprintf("Subject: filler %d\r\n\r\n", n) + strings.Repeat(fmt.Sprintf("line of filler message %08d\r\n", n), size/32)
}

// fillDisk writes a file in dir until the disk is full, or until it holds
// max bytes (0: no limit).
func fillDisk(t *testing.T, path string, max int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for n := int64(0); max == 0 || n < max; n += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// fill sends messages of the given size until the disk refuses three in a
// row, each with 452 4.3.1 (RFC 3463 §3.4: mail system full).
func fill(t *testing.T, ts *testserver.Server, size int) {
	t.Helper()
	refused := 0
	for i := 0; refused < 3; i++ {
		if i > 1000 {
			t.Fatal("the disk never filled up")
		}
		err := mxSend(ts, "alice@example.test", mailOf(i, size))
		if err == nil {
			refused = 0
			continue
		}
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 452 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 1}) {
			t.Fatalf("message %d on a full disk: %v, want 452 4.3.1", i, err)
		}
		refused++
	}
}

// On a full disk new mail is refused with the codes meant for it (SMTP 452
// 4.3.1, RFC 3463 §3.4; IMAP NO [OVERQUOTA], RFC 5530 §3), while users can
// still delete mail (IMAP SELECT, STORE and EXPUNGE, POP3 DELE, IMAP
// DELETE). The disk here is full to the last byte and the store's
// write-ahead log was truncated by a restart, so even a deletion needs
// space the disk no longer has: the store's reserve gives it. Once the
// disk has room again, mail is accepted and the reserve is back.
func TestDiskFull(t *testing.T) {
	dir := onTmpfs(t, "32m")
	if dir == "" {
		return
	}
	ts := testserver.Start(t, testserver.Options{Dir: dir})
	ts.AddUser(t, "alice@example.test", "alice-pw")
	imap := imapLines(t, ts, "alice@example.test", "alice-pw")
	imap.send("c CREATE Old")
	imap.expect("c OK")
	for i := range 3 {
		imap.send("a APPEND Old {24+}\r\nSubject: old %d\r\n\r\nold\r\n", i)
		imap.expect("a OK")
	}
	// Other files share the disk; mail fills the rest.
	fillDisk(t, filepath.Join(dir, "other"), 10<<20)
	fill(t, ts, 1<<20)

	// With room for it, a restart truncates the write-ahead log; then
	// something else takes all that is free, to the last byte.
	imap.c.Close()
	if err := os.Remove(filepath.Join(dir, "other")); err != nil {
		t.Fatal(err)
	}
	if err := ts.Stop(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, sqlite.DBFile+"-wal")); err == nil && fi.Size() != 0 {
		t.Fatalf("the write-ahead log has %d bytes after a clean stop", fi.Size())
	}
	var log syncBuffer
	ts = testserver.Start(t, testserver.Options{Dir: dir, Log: &log})
	fillDisk(t, filepath.Join(dir, "other"), 0)

	var se *smtp.SMTPError
	if err := mxSend(ts, "alice@example.test", mailOf(100, 4<<10)); !errors.As(err, &se) || se.Code != 452 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 1}) {
		t.Errorf("a message on a full disk: %v, want 452 4.3.1", err)
	}
	imap = imapLines(t, ts, "alice@example.test", "alice-pw")
	imap.send("a APPEND INBOX {%d+}\r\n%s", 64<<10, strings.Repeat("x", 64<<10))
	if l := imap.until("a "); !strings.HasPrefix(l[len(l)-1], "a NO [OVERQUOTA]") {
		t.Errorf("APPEND on a full disk: %q, want NO [OVERQUOTA]", l[len(l)-1])
	}
	imap.send("s SELECT INBOX")
	imap.expect("s OK")
	imap.send("f STORE 1:3 +FLAGS.SILENT (\\Deleted)")
	imap.expect("f OK")
	imap.send("e EXPUNGE")
	imap.expect("e OK")
	imap.send("d DELETE Old")
	imap.expect("d OK")
	pop := popLines(t, ts, "alice@example.test", "alice-pw")
	pop.send("DELE 1")
	pop.expect("+OK")
	pop.send("QUIT")
	pop.expect("+OK")
	if !strings.Contains(log.String(), "space held back is given up") {
		t.Errorf("the deletions did not need the reserve: the disk was not full enough to test it\n%s", log.String())
	}

	if err := os.Remove(filepath.Join(dir, "other")); err != nil {
		t.Fatal(err)
	}
	// The refusal was temporary: as a sending server would, retry.
	eventually(t, "a message to be taken once the disk has room", func() bool {
		return mxSend(ts, "alice@example.test", mailOf(1001, 1<<20)) == nil
	})
	eventually(t, "the reserve to be back", func() bool {
		_, err := os.Stat(filepath.Join(dir, sqlite.ReserveFile))
		return err == nil
	})
}

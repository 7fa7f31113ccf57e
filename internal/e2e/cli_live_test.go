package e2e

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"postern/internal/testserver"
	"postern/mimeinfo"
	"postern/storage"
	"postern/storage/sqlite"
)

// cliProc runs the real postern command line in its own process against a
// running test server's data directory, as an administrator runs it
// beside `postern serve`.
type cliProc struct {
	t        *testing.T
	bin, cfg string
}

func newCLI(t *testing.T, ts *testserver.Server) *cliProc {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "postern")
	if out, err := exec.Command("go", "build", "-o", bin, "postern/cmd/postern").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "config.toml")
	text := fmt.Sprintf("hostname = \"localhost\"\ndata_dir = %q\ndomains = [\"example.test\"]\n[http]\nlisten = \"\"\nlisten_tls = \"\"\n", ts.Dir)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cliProc{t: t, bin: bin, cfg: cfg}
}

// run runs one command and returns its output; a failure fails the test.
func (c *cliProc) run(stdin string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"-config", c.cfg}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("postern %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// liveSessions are sessions of one account in every protocol that keeps
// one open: IMAP selected, IMAP in IDLE, POP3, submission.
type liveSessions struct {
	imap, idle, pop, sub *lineConn
}

func openSessions(t *testing.T, ts *testserver.Server, user, pass string) liveSessions {
	t.Helper()
	var s liveSessions
	s.imap = imapLines(t, ts, user, pass)
	s.imap.send("s SELECT INBOX")
	s.imap.expect("s OK")
	s.idle = imapLines(t, ts, user, pass)
	s.idle.send("s SELECT INBOX")
	s.idle.expect("s OK")
	s.idle.send("i IDLE")
	s.idle.expect("+ ")
	s.pop = popLines(t, ts, user, pass)
	s.sub = dialLines(t, ts.SubmissionAddr)
	s.sub.expect("220 ")
	s.sub.send("EHLO client.test")
	s.sub.expect("250 ")
	s.sub.send("AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)))
	s.sub.expect("235 ")
	return s
}

// ended checks that every session ended, telling why (what names the
// action: "deleted" or "disabled"), and returns when the IDLE session got
// its BYE.
func (s liveSessions) ended(t *testing.T, what string) time.Time {
	t.Helper()
	var byeAt time.Time
	for name, c := range map[string]*lineConn{"IMAP": s.imap, "IMAP IDLE": s.idle} {
		text, closed := c.rest()
		if name == "IMAP IDLE" {
			byeAt = time.Now()
		}
		if !strings.Contains(text, "* BYE ") || !strings.Contains(strings.ToLower(text), what) || !closed {
			t.Errorf("%s session got %q (closed %v), want * BYE naming the account %s and the connection closed", name, text, closed, what)
		}
	}
	if text, closed := s.pop.rest(); !strings.HasPrefix(text, "-ERR [SYS/PERM]") || !closed {
		t.Errorf("POP3 session got %q (closed %v), want -ERR [SYS/PERM] and the connection closed", text, closed)
	}
	if text, closed := s.sub.rest(); !strings.HasPrefix(text, "421 4.7.0 ") || !strings.Contains(text, what) || !closed {
		t.Errorf("submission session got %q (closed %v), want 421 4.7.0 naming the account %s", text, closed, what)
	}
	return byeAt
}

// rcpt returns the MX's answer to RCPT TO addr, nil when accepted.
func rcpt(t *testing.T, ts *testserver.Server, addr string) error {
	t.Helper()
	c, err := smtp.Dial(ts.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("someone@remote.test", nil); err != nil {
		t.Fatal(err)
	}
	return c.Rcpt(addr, nil)
}

// `postern user disable`, `enable` and `del`, run as their own process
// while the server runs, reach the account's live sessions through the
// change log: IMAP (also in IDLE) gets BYE, POP3 -ERR [SYS/PERM],
// submission 421. A disabled account's logins are refused with a message
// that says it is disabled, and the server logs why; its mail is refused
// at RCPT with 550 5.2.1. Enabling it undoes both.
func TestCLIAccountChangesReachLiveSessions(t *testing.T) {
	var log syncBuffer
	ts := testserver.Start(t, testserver.Options{Log: &log})
	ts.AddUser(t, "dave@example.test", "dave-pw")
	ts.AddUser(t, "alice@example.test", "alice-pw")
	cli := newCLI(t, ts)

	live := openSessions(t, ts, "dave@example.test", "dave-pw")
	bystander := imapLines(t, ts, "alice@example.test", "alice-pw")
	cli.run("", "user", "disable", "dave@example.test")
	done := time.Now()
	byeAt := live.ended(t, "disabled")
	t.Logf("IDLE session ended %v after `postern user disable` returned", byeAt.Sub(done).Round(time.Millisecond))
	bystander.send("n NOOP")
	bystander.expect("n OK")

	// Logins are refused, and say why; only with the right password.
	im := dialLines(t, ts.IMAPAddr)
	im.expect("* OK")
	im.send("l LOGIN dave@example.test dave-pw")
	if l := im.until("l "); !strings.HasPrefix(l[len(l)-1], "l NO ") || !strings.Contains(l[len(l)-1], "disabled") {
		t.Errorf("IMAP login of the disabled account: %q", l)
	}
	im.send("w LOGIN dave@example.test wrong-pw")
	if l := im.until("w "); !strings.HasPrefix(l[len(l)-1], "w NO [AUTHENTICATIONFAILED]") {
		t.Errorf("IMAP login with a wrong password: %q", l)
	}
	po := dialLines(t, ts.POP3Addr)
	po.expect("+OK")
	po.send("USER dave@example.test")
	po.expect("+OK")
	po.send("PASS dave-pw")
	if l, _ := po.line(); !strings.HasPrefix(l, "-ERR [AUTH]") || !strings.Contains(l, "disabled") {
		t.Errorf("POP3 login of the disabled account: %q", l)
	}
	sm := dialLines(t, ts.SubmissionAddr)
	sm.expect("220 ")
	sm.send("EHLO client.test")
	sm.expect("250 ")
	sm.send("AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00dave@example.test\x00dave-pw")))
	if l, _ := sm.line(); !strings.HasPrefix(l, "525 5.7.13 ") || !strings.Contains(l, "disabled") {
		t.Errorf("submission login of the disabled account: %q", l)
	}
	eventually(t, "the log saying the login was refused because the account is disabled", func() bool {
		return strings.Count(log.String(), "reason=disabled") >= 3 && strings.Contains(log.String(), "dave@example.test")
	})
	var se *smtp.SMTPError
	if err := rcpt(t, ts, "dave@example.test"); !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 2, 1}) {
		t.Errorf("RCPT to the disabled account: %v, want 550 5.2.1", err)
	}

	cli.run("", "user", "enable", "dave@example.test")
	imapLines(t, ts, "dave@example.test", "dave-pw") // logs in, or fails the test
	if err := rcpt(t, ts, "dave@example.test"); err != nil {
		t.Errorf("RCPT to the enabled account: %v", err)
	}

	live = openSessions(t, ts, "dave@example.test", "dave-pw")
	cli.run("", "user", "del", "dave@example.test", "--yes")
	live.ended(t, "deleted")
	if err := rcpt(t, ts, "dave@example.test"); !errors.As(err, &se) || se.Code != 550 {
		t.Errorf("RCPT to the deleted account: %v", err)
	}
}

// A message a CLI command stores (the bounce of `postern queue drop`)
// reaches a session in IDLE as EXISTS.
func TestCLIBounceReachesIdle(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	ts.AddUser(t, "alice@example.test", "alice-pw")
	cli := newCLI(t, ts)
	// Queued for later, so that the server's runner leaves it alone.
	err := ts.Store.Enqueue(context.Background(), storage.QueueItem{
		MsgID: "to-drop", From: "alice@example.test", Origin: storage.OriginSubmission,
		Body:       storage.NewBody([]byte("From: alice@example.test\r\nTo: x@remote.test\r\nSubject: never sent\r\n\r\nx\r\n")),
		Recipients: []storage.QueueRecipient{{Address: "x@remote.test"}}, NextAttempt: time.Now().Add(24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	list, err := ts.Store.QueueList(context.Background())
	if err != nil || len(list) != 1 {
		t.Fatalf("queue: %v, %v", list, err)
	}
	idle := imapLines(t, ts, "alice@example.test", "alice-pw")
	idle.send("s SELECT INBOX")
	idle.expect("s OK")
	idle.send("i IDLE")
	idle.expect("+ ")

	out := cli.run("", "queue", "drop", fmt.Sprint(list[0].ID))
	done := time.Now()
	if !strings.Contains(out, "the sender is told") {
		t.Errorf("queue drop said %q", out)
	}
	l := idle.expect("* 1 EXISTS")
	t.Logf("EXISTS reached the IDLE session %v after `postern queue drop` returned", time.Since(done).Round(time.Millisecond))
	if len(l) != 1 {
		t.Errorf("IDLE got %q", l)
	}
	idle.send("DONE")
	idle.expect("i OK")
	idle.send("f FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
	if l := idle.expect("f OK"); !strings.Contains(strings.Join(l, "\n"), "Undelivered") && !strings.Contains(strings.Join(l, "\n"), "Delivery Status") {
		t.Errorf("the bounce: %q", l)
	}
}

// The server warns at start when messages were analysed by an older
// version; `postern reindex` analyses them again beside the running
// server, which keeps taking mail meanwhile, and the warning goes.
func TestReindexBesideTheServer(t *testing.T) {
	dir := t.TempDir()
	ts := testserver.Start(t, testserver.Options{Dir: dir})
	ts.AddUser(t, "alice@example.test", "alice-pw")
	for i := range 5 {
		sendMX(t, ts, "x@remote.test", []string{"alice@example.test"}, fmt.Sprintf("Subject: Re: [list] note %d\r\n\r\nx\r\n", i))
	}
	ts.Stop()
	db, err := sql.Open("sqlite3", filepath.Join(dir, sqlite.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE meta SET value = 1 WHERE key = 'analysis_min'; UPDATE bodies SET analysis = ?;
		UPDATE body_search SET base_subject = ''`, mimeinfo.Version-1); err != nil {
		t.Fatal(err)
	}
	db.Close()

	var log syncBuffer
	ts = testserver.Start(t, testserver.Options{Dir: dir, Log: &log})
	if !strings.Contains(log.String(), "postern reindex") || !strings.Contains(log.String(), "count=5") {
		t.Errorf("no warning about the stale messages:\n%s", log.String())
	}
	cli := newCLI(t, ts)
	done := make(chan string)
	go func() { done <- cli.run("", "reindex") }()
	sendMX(t, ts, "x@remote.test", []string{"alice@example.test"}, "Subject: during the reindex\r\n\r\nx\r\n")
	if out := <-done; !strings.Contains(out, "reindexed 5 messages") {
		t.Errorf("reindex said %q", out)
	}
	a, _ := ts.Store.AccountByAddress(context.Background(), "alice@example.test")
	inbox, _ := ts.Store.Mailbox(context.Background(), a.ID, "INBOX")
	rows, err := ts.Store.SearchHeaders(context.Background(), inbox.ID, storage.SearchBaseSubject)
	if err != nil || len(rows) != 6 || rows[4].BaseSubject != "note 4" || rows[5].BaseSubject != "during the reindex" {
		t.Errorf("after the reindex: %+v, %v", rows, err)
	}
	ts.Stop()
	var log2 syncBuffer
	testserver.Start(t, testserver.Options{Dir: dir, Log: &log2})
	if strings.Contains(log2.String(), "postern reindex") {
		t.Errorf("warning after the reindex:\n%s", log2.String())
	}
}

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/internal/testserver"
	"postern/storage"
	"postern/storage/sqlite"
)

// replaceAccount deletes an account and creates another through a second
// store on the same data directory, as "postern user del" and "postern user
// add" do from their own process: the server hears of both only when it
// reads them from the change log, a moment later.
func replaceAccount(t *testing.T, ts *testserver.Server, del, add, pass string) {
	t.Helper()
	cli, err := sqlite.Open(ts.Dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if err := cli.DeleteAccount(context.Background(), del); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.CreateAccount(context.Background(), add, pass); err != nil {
		t.Fatal(err)
	}
}

// staleConn is a session whose account went: every command gets its
// answer, or nothing once the server has ended the session.
type staleConn struct {
	*lineConn
	ended bool
}

// ask sends a command and returns the lines up to the one starting with
// prefix, or up to the end of the session.
func (s *staleConn) ask(prefix, format string, args ...any) []string {
	if s.ended {
		return nil
	}
	s.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(s.c, format+"\r\n", args...); err != nil {
		s.ended = true
		return nil
	}
	var lines []string
	for {
		l, err := s.line()
		if err != nil {
			s.ended = true
			return lines
		}
		lines = append(lines, l)
		if strings.HasPrefix(l, prefix) {
			return lines
		}
	}
}

// A session of a deleted account must never reach the data of an account
// created after it. The deletion in another process ends the session once
// the server reads it from the change log; until then (and whatever it
// missed) no id of the old account, its mailboxes or its messages may
// lead to the new one's.
func TestStaleSessionCannotReachNewAccount(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	ts.AddUser(t, "alice@example.test", "alice-pw")
	ts.AddUser(t, "dave@example.test", "dave-pw")
	sendMX(t, ts, "x@remote.test", []string{"dave@example.test"}, "Subject: for dave\r\n\r\ndave's own mail\r\n")

	imapl := imapLines(t, ts, "dave@example.test", "dave-pw")
	imapl.send("s SELECT INBOX")
	imapl.expect("s OK")
	imap := &staleConn{lineConn: imapl}
	pop := &staleConn{lineConn: popLines(t, ts, "dave@example.test", "dave-pw")}

	replaceAccount(t, ts, "dave@example.test", "erin@example.test", "erin-pw")
	sendMX(t, ts, "x@remote.test", []string{"erin@example.test"}, "Subject: for erin\r\n\r\nerin's secret\r\n")

	leak := func(what string, lines []string) {
		t.Helper()
		if s := strings.Join(lines, "\n"); strings.Contains(s, "erin's secret") || strings.Contains(s, "for erin") {
			t.Errorf("dave's %s shows erin's mail:\n%s", what, s)
		}
	}
	leak("FETCH", imap.ask("f ", "f FETCH 1:* (BODY.PEEK[] ENVELOPE)"))
	leak("UID FETCH", imap.ask("u ", "u UID FETCH 1:* BODY.PEEK[]"))
	if l := imap.ask("h ", "h UID SEARCH TEXT secret"); strings.Contains(strings.Join(l, "\n"), "SEARCH 1") {
		t.Errorf("dave's SEARCH finds erin's message: %q", l)
	}
	imap.ask("a ", "a APPEND INBOX {16+}\r\ninjected by dave")
	leak("SELECT", imap.ask("x ", "x SELECT INBOX"))
	leak("STATUS", imap.ask("y ", "y STATUS INBOX (MESSAGES)"))

	if retr := pop.ask("", "RETR 1"); len(retr) > 0 && strings.HasPrefix(retr[0], "+OK") {
		leak("RETR", append(retr, pop.until(".")...))
	}
	if top := pop.ask("", "TOP 1 10"); len(top) > 0 && strings.HasPrefix(top[0], "+OK") {
		leak("TOP", append(top, pop.until(".")...))
	}

	// Both sessions end, told why, within a second or so of the change.
	for name, c := range map[string]*staleConn{"IMAP": imap, "POP3": pop} {
		if !c.ended {
			text, closed := c.rest()
			if !closed {
				t.Errorf("dave's %s session lives on after his account was deleted (%q)", name, text)
			}
		}
	}

	erin, err := ts.Store.AccountByAddress(context.Background(), "erin@example.test")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := ts.Store.Mailbox(context.Background(), erin.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := ts.Store.MessageUIDs(context.Background(), inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 {
		t.Errorf("erin's INBOX has %d messages, want only the one sent to her (dave's APPEND went in?)", len(ms))
	}
}

// A mailbox deleted and created again under the same name is a new
// mailbox: what the server remembers about the old one (which \Recent
// messages a session claimed) must not apply to it. The first session told
// of a message delivered to the new one gets it as \Recent, with the
// EXISTS (RFC 3501 §2.3.2, §7.3.2), as STATUS says.
func TestRecentInRecreatedMailbox(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	ts.AddUser(t, "alice@example.test", "alice-pw")
	a := imapLines(t, ts, "alice@example.test", "alice-pw")
	b := imapLines(t, ts, "alice@example.test", "alice-pw")
	b.send("c CREATE Projects")
	b.expect("c OK")
	a.send("s SELECT Projects")
	a.expect("s OK")
	for i := range 3 {
		b.send("p APPEND Projects {6+}\r\nold %d", i)
		b.expect("p OK")
	}
	a.send("n NOOP")
	if l := a.expect("n OK"); !strings.Contains(strings.Join(l, "\n"), "* 3 RECENT") {
		t.Fatalf("the selected session was not given the new messages as recent: %q", l)
	}
	b.send("d DELETE Projects")
	b.expect("d OK")
	b.send("c2 CREATE Projects")
	b.expect("c2 OK")

	c := imapLines(t, ts, "alice@example.test", "alice-pw")
	c.send("s SELECT Projects")
	if l := c.expect("s OK"); !strings.Contains(strings.Join(l, "\n"), "* 0 EXISTS") {
		t.Fatalf("re-created mailbox is not empty: %q", l)
	}
	b.send("p2 APPEND Projects {6+}\r\nnew  1")
	b.expect("p2 OK")
	c.send("n NOOP")
	got := strings.Join(c.expect("n OK"), "\n")
	if !strings.Contains(got, "* 1 EXISTS") || !strings.Contains(got, "* 1 RECENT") {
		t.Errorf("after a delivery to the re-created mailbox the selected session got %q, want * 1 EXISTS and * 1 RECENT", got)
	}
	b.send("st STATUS Projects (RECENT)")
	if l := b.expect("st OK"); !strings.Contains(l[0], "RECENT 0") {
		t.Errorf("STATUS after the claim: %q, want RECENT 0 (the selected session holds it)", l)
	}
}

// A POP3 session keeps its listing from login (RFC 1939 §5) and learns of
// expunges from the store's events. When more changes came than its queue
// holds, the listing can no longer be trusted: the session must end with
// -ERR [SYS/TEMP] (RFC 3206 §4) instead of serving a message number from a
// stale listing, and it must never hand out another account's message.
func TestPOP3EndsWhenEventsAreLost(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := ts.AddUser(t, "alice@example.test", "alice-pw")
	ts.AddUser(t, "bob@example.test", "bob-pw")
	ctx := context.Background()
	sendMX(t, ts, "x@remote.test", []string{"alice@example.test"}, "Subject: for alice\r\n\r\nalice's mail\r\n")
	archive, err := ts.Store.Mailbox(ctx, alice.ID, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	const workers = 16
	var uids []uint32
	for i := range workers {
		res, err := ts.Store.Append(ctx, []storage.AppendItem{{AccountID: alice.ID, Mailbox: "Archive",
			Body: storage.NewBody([]byte(fmt.Sprintf("Subject: filler %d\r\n\r\nx\r\n", i)))}})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, res[0].UID)
	}

	pop := popLines(t, ts, "alice@example.test", "alice-pw")
	imap := imapLines(t, ts, "alice@example.test", "alice-pw")
	imap.send("s SELECT INBOX")
	imap.expect("s OK")
	imap.send("d STORE 1 +FLAGS.SILENT (\\Deleted)")
	imap.expect("d OK")
	imap.send("x EXPUNGE")
	imap.expect("x OK")

	// More flag changes than a subscription queues: the expunge above is
	// among the events the POP3 session loses.
	var wg sync.WaitGroup
	per := storage.MaxQueuedEvents/workers + 1
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				op := storage.FlagsAdd
				if i%2 == 1 {
					op = storage.FlagsRemove
				}
				if _, err := ts.Store.StoreFlags(ctx, archive.ID, []uint32{uids[w]}, op, storage.FlagSet{System: storage.FlagFlagged}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	sendMX(t, ts, "x@remote.test", []string{"bob@example.test"}, "Subject: for bob\r\n\r\nbob's secret\r\n")

	pop.send("RETR 1")
	first, err := pop.line()
	if err != nil {
		t.Fatalf("RETR 1: %v", err)
	}
	rest, closed := pop.rest()
	if strings.Contains(first+rest, "bob's secret") {
		t.Fatalf("alice's POP3 session handed out bob's message:\n%s\n%s", first, rest)
	}
	if !strings.HasPrefix(first, "-ERR [SYS/TEMP]") || !closed {
		t.Errorf("RETR after lost events: %q (closed %v), want -ERR [SYS/TEMP] and the connection closed", first, closed)
	}
}

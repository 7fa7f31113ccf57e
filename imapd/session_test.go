package imapd

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Two sessions on one mailbox: each sees the other's STORE, EXPUNGE and
// APPEND at its next command.
func TestTwoSessions(t *testing.T) {
	e := newEnv(t, nil)
	for i := 0; i < 3; i++ {
		e.deliver(t, "INBOX", testMessage("m", "b@example.test", "body"))
	}
	var mu sync.Mutex
	var expunged []uint32
	var flagged []uint32
	b := e.client(t, &imapclient.UnilateralDataHandler{
		Expunge: func(seq uint32) { mu.Lock(); expunged = append(expunged, seq); mu.Unlock() },
		Fetch: func(msg *imapclient.FetchMessageData) {
			buf, _ := msg.Collect()
			mu.Lock()
			if buf != nil && hasFlag(buf.Flags, imap.FlagFlagged) {
				flagged = append(flagged, buf.SeqNum)
			}
			mu.Unlock()
		},
	})
	a := e.client(t, nil)
	for _, c := range []*imapclient.Client{a, b} {
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	// imapclient runs the unilateral FETCH handler in a goroutine.
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(flagged) == 1 && flagged[0] == 2 })
	a.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	if _, err := a.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	msg := testMessage("from A", "a@example.test", "x")
	ac := a.Append("INBOX", int64(len(msg)), nil)
	ac.Write([]byte(msg))
	ac.Close()
	if _, err := ac.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(expunged) != 1 || expunged[0] != 1 {
		t.Fatalf("B saw expunges %v", expunged)
	}
	mu.Unlock()
	if n := b.Mailbox().NumMessages; n != 3 {
		t.Fatalf("B has %d messages, want 3", n)
	}
	m, err := b.Fetch(imap.SeqSetNum(3), &imap.FetchOptions{Envelope: true, UID: true}).Collect()
	if err != nil || m[0].UID != 4 || m[0].Envelope.Subject != "from A" {
		t.Fatalf("B fetch of A's append: %+v %v", m, err)
	}
}

// No EXPUNGE is sent during FETCH, STORE or SEARCH (RFC 3501 §7.4.1):
// the expunge, and what follows it, waits for a command that allows it.
func TestExpungeHeldBackDuringFetch(t *testing.T) {
	e := newEnv(t, nil)
	for i := 0; i < 3; i++ {
		e.deliver(t, "INBOX", testMessage("m", "b@example.test", "body"))
	}
	r := e.raw(t, true)
	r.send("a SELECT INBOX\r\n")
	r.expect("a OK")
	other := e.client(t, nil)
	other.Select("INBOX", nil).Wait()
	other.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	other.Expunge().Collect()
	e.deliver(t, "INBOX", testMessage("new", "b@example.test", "body"))
	for _, cmd := range []string{"FETCH 1:* (UID)", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL"} {
		r.send("f " + cmd + "\r\n")
		lines := r.expect("f OK")
		if contains(lines, "EXPUNGE") || contains(lines, "EXISTS") {
			t.Fatalf("%s sent %q", cmd, lines)
		}
		if cmd == "SEARCH ALL" && !contains(lines, "* SEARCH 1 3") {
			t.Fatalf("SEARCH over the old view: %q", lines)
		}
	}
	r.send("n NOOP\r\n")
	lines := r.expect("n OK")
	if lines[0] != "* 2 EXPUNGE" || lines[1] != "* 3 EXISTS" {
		t.Fatalf("NOOP: %q", lines)
	}
	// UID FETCH may report expunges.
	other.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	other.Expunge().Collect()
	r.send("u UID FETCH 1:* (FLAGS)\r\n")
	lines = r.expect("u OK")
	if !contains(lines, "* 1 EXPUNGE") {
		t.Fatalf("UID FETCH: %q", lines)
	}
}

// An IDLE session sees a delivery at once, with \Recent for the first
// session told of it.
func TestIdleSeesDelivery(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw(t, true)
	r.send("a SELECT INBOX\r\n")
	r.expect("a OK")
	r.send("i IDLE\r\n")
	r.expect("+ ")
	start := time.Now()
	e.deliver(t, "INBOX", testMessage("pushed", "b@example.test", "body"))
	r.c.SetReadDeadline(time.Now().Add(time.Second))
	l, err := r.br.ReadString('\n')
	if err != nil || strings.TrimSpace(l) != "* 1 EXISTS" {
		t.Fatalf("IDLE got %q %v after %v", l, err, time.Since(start))
	}
	if l := r.line(); l != "* 1 RECENT" {
		t.Fatalf("IDLE got %q", l)
	}
	r.send("DONE\r\n")
	r.expect("i OK")
	r.send("f FETCH 1 FLAGS\r\n")
	if l := r.expect("f OK"); !strings.Contains(l[0], `\Recent`) {
		t.Fatalf("FETCH FLAGS: %q", l)
	}
	// A second session does not see it as recent.
	r2 := e.raw(t, true)
	r2.send("s SELECT INBOX\r\n")
	if l := r2.expect("s OK"); !contains(l, "* 0 RECENT") {
		t.Fatalf("second SELECT: %q", l)
	}
	// IDLE with imapclient, in the authenticated state too.
	c := e.client(t, nil)
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}

// A mailbox deleted or renamed under a session that has it selected.
func TestSelectedMailboxDeletedOrRenamed(t *testing.T) {
	e := newEnv(t, nil)
	a := e.client(t, nil)
	a.Create("Box", nil).Wait()
	a.Create("Box2", nil).Wait()
	e.deliver(t, "Box", testMessage("m", "b@example.test", "x"))
	r := e.raw(t, true)
	r.send("a SELECT Box2\r\n")
	r.expect("a OK")
	if err := a.Rename("Box2", "Renamed", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	r.send("b FETCH 1:* FLAGS\r\n")
	r.expect("b OK")
	r.send("c SELECT Box\r\n")
	r.expect("c OK")
	if err := a.Delete("Box").Wait(); err != nil {
		t.Fatal(err)
	}
	r.send("d NOOP\r\n")
	lines := r.expect("* BYE")
	if len(lines) == 0 || !r.closed() {
		t.Fatal("connection not closed after its mailbox was deleted")
	}
	// The server is fine.
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
}

// Renaming INBOX moves its messages and leaves it empty (RFC 3501 §6.3.5).
func TestRenameInbox(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("m", "b@example.test", "x"))
	c := e.client(t, nil)
	if err := c.Rename("INBOX", "Old", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]uint32{"INBOX": 0, "Old": 1} {
		st, err := c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil || *st.NumMessages != want {
			t.Fatalf("%s: %v %v", name, st, err)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

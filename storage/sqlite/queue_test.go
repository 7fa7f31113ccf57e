package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"postern/storage"
)

func bodyCount(t *testing.T, st *Store) (n int) {
	t.Helper()
	if err := st.rdb.QueryRow(`SELECT count(*) FROM bodies`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAcceptSplitsLocalAndRemote(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "alice@example.test")
	b := msg("hello", "both ways")
	res, err := st.Accept(ctx, []storage.AppendItem{{AccountID: a.ID, Body: b}}, []storage.QueueItem{{
		MsgID: "tx1", From: "alice@example.test", Body: b, Return: "HDRS", EnvelopeID: "env-1",
		Recipients: []storage.QueueRecipient{
			{Address: "x@remote.test", Notify: []string{"SUCCESS", "FAILURE"}, ORCPT: "rfc822;x@remote.test"},
			{Address: "y@other.test"},
			{Address: "z@REMOTE.test"},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].UID != 1 {
		t.Fatalf("append results %+v", res)
	}
	list, err := st.QueueList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d entries, want one per domain (2)", len(list))
	}
	byDomain := map[string]storage.QueueEntry{}
	for _, e := range list {
		byDomain[e.Domain] = e
	}
	r := byDomain["remote.test"]
	if len(r.Recipients) != 2 || r.Recipients[0].Address != "x@remote.test" || r.Recipients[1].Address != "z@REMOTE.test" {
		t.Errorf("remote.test recipients %+v", r.Recipients)
	}
	if got := r.Recipients[0]; len(got.Notify) != 2 || got.Notify[1] != "FAILURE" || got.ORCPT != "rfc822;x@remote.test" {
		t.Errorf("DSN parameters lost: %+v", got)
	}
	if r.From != "alice@example.test" || r.Return != "HDRS" || r.EnvelopeID != "env-1" || r.MsgID != "tx1" || r.Size != b.Size() {
		t.Errorf("entry %+v", r)
	}
	if len(byDomain["other.test"].Recipients) != 1 {
		t.Errorf("other.test %+v", byDomain["other.test"])
	}
	// One stored body for the local copy and both entries: three references.
	var refs int
	st.rdb.QueryRow(`SELECT refs FROM bodies WHERE id=?`, r.BodyID).Scan(&refs)
	if bodyCount(t, st) != 1 || refs != 3 {
		t.Errorf("bodies=%d refs=%d, want 1 body with 3 refs", bodyCount(t, st), refs)
	}
	data, err := st.ReadBody(ctx, r.BodyID)
	if err != nil || string(data) != string(b.Bytes()) {
		t.Errorf("queued body %q, %v", data, err)
	}
}

func TestAcceptIsAtomic(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "alice@example.test")
	b := msg("bad", "x")
	_, err := st.Accept(ctx, []storage.AppendItem{{AccountID: a.ID, Body: b}},
		[]storage.QueueItem{{From: "alice@example.test", Body: b, Recipients: []storage.QueueRecipient{{Address: "no-domain"}}}})
	if !errors.Is(err, storage.ErrInvalidName) {
		t.Fatalf("err = %v, want ErrInvalidName", err)
	}
	st2 := mailbox(t, st, a.ID, "INBOX")
	if st2.UIDNext != 1 || bodyCount(t, st) != 0 {
		t.Errorf("a failed Accept left a local copy (uidnext %d, %d bodies)", st2.UIDNext, bodyCount(t, st))
	}
	if err := st.Enqueue(ctx, storage.QueueItem{Body: b}); err == nil {
		t.Error("entry without recipients accepted")
	}
	if err := st.Enqueue(ctx, storage.QueueItem{Recipients: []storage.QueueRecipient{{Address: "a@b.test"}}}); err == nil {
		t.Error("entry without body accepted")
	}
}

func TestQueueLifecycle(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now().Add(time.Second) // after the enqueue's own clock reading
	b := msg("later", "retry me")
	later := now.Add(time.Hour)
	if err := st.Enqueue(ctx,
		storage.QueueItem{From: "a@example.test", Body: b, Recipients: []storage.QueueRecipient{{Address: "r1@one.test"}, {Address: "r2@one.test"}}},
		storage.QueueItem{From: "", Body: msg("b", "bounce"), Recipients: []storage.QueueRecipient{{Address: "r@two.test"}}, NextAttempt: later},
	); err != nil {
		t.Fatal(err)
	}
	due, err := st.QueueDue(ctx, now.Add(time.Second), 10)
	if err != nil || len(due) != 1 || due[0].Domain != "one.test" {
		t.Fatalf("due = %+v, %v", due, err)
	}
	e := due[0]
	if got, err := st.QueueAttempt(ctx, []int64{e.ID}, now, now.Add(5*time.Minute)); err != nil || len(got) != 1 {
		t.Fatalf("claim = %v, %v", got, err)
	}
	// A second attempt cannot claim the entry: it is no longer due.
	if got, err := st.QueueAttempt(ctx, []int64{e.ID, 9999}, now, now.Add(5*time.Minute)); err != nil || len(got) != 0 {
		t.Fatalf("second claim = %v, %v", got, err)
	}
	if due, _ := st.QueueDue(ctx, now.Add(time.Second), 10); len(due) != 0 {
		t.Errorf("entry still due right after an attempt was recorded: %+v", due)
	}
	// r1 delivered, r2 deferred: the entry stays with r2 pending.
	removed, err := st.QueueUpdate(ctx, storage.QueueUpdate{ID: e.ID, NextAttempt: now.Add(10 * time.Minute), LastError: "451 try later",
		Rcpts: []storage.RcptResult{{N: 0, Status: storage.RcptDelivered, Code: 250}, {N: 1, Status: storage.RcptPending, Code: 451, Error: "451 try later"}}})
	if err != nil || removed {
		t.Fatalf("update: removed=%v err=%v", removed, err)
	}
	next, ok, err := st.QueueNext(ctx)
	if err != nil || !ok || next.UnixMilli() != now.Add(10*time.Minute).UnixMilli() {
		t.Errorf("QueueNext = %v %v %v", next, ok, err)
	}

	// The queue survives a close and reopen, with the attempt bookkeeping.
	st.Close()
	st, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.QueueEntry(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Attempts != 1 || got.LastAttempt.UnixMilli() != now.UnixMilli() || got.LastError != "451 try later" {
		t.Errorf("after reopen: %+v", got)
	}
	if p := got.Pending(); len(p) != 1 || p[0].Address != "r2@one.test" || got.Recipients[0].Status != storage.RcptDelivered {
		t.Errorf("pending after reopen: %+v", got.Recipients)
	}

	// Retry all: both entries are due now.
	n, err := st.QueueRetry(ctx, 0, now)
	if err != nil || n != 2 {
		t.Fatalf("retry all = %d, %v", n, err)
	}
	if due, _ := st.QueueDue(ctx, now, 10); len(due) != 2 {
		t.Errorf("after retry --all, %d due", len(due))
	}
	if _, err := st.QueueRetry(ctx, 9999, now); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("retry of a missing entry: %v", err)
	}

	// The last recipient fails for good, with a bounce to a local account in the
	// same transaction; the entry and (no local copy) its body are gone.
	a := newAccount(t, st, "a@example.test")
	bounce := msg("Undelivered", "report")
	removed, err = st.QueueUpdate(ctx, storage.QueueUpdate{ID: e.ID, Rcpts: []storage.RcptResult{{N: 1, Status: storage.RcptFailed, Code: 550, Error: "no such user"}},
		Notice: storage.Notice{Append: []storage.AppendItem{{AccountID: a.ID, Body: bounce}}}})
	if err != nil || !removed {
		t.Fatalf("final update: removed=%v err=%v", removed, err)
	}
	if _, err := st.QueueEntry(ctx, e.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("entry after completion: %v", err)
	}
	if _, err := st.QueueUpdate(ctx, storage.QueueUpdate{ID: e.ID}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("update of a removed entry: %v", err)
	}
	var bodies int
	st.rdb.QueryRow(`SELECT count(*) FROM bodies WHERE id=?`, e.BodyID).Scan(&bodies)
	if bodies != 0 {
		t.Error("body of a finished entry with no local copies was kept")
	}
	if inbox := mailbox(t, st, a.ID, "INBOX"); inbox.UIDNext != 2 {
		t.Errorf("bounce not in INBOX (uidnext %d)", inbox.UIDNext)
	}

	// Drop the other entry with a bounce queued to a remote sender.
	rest, _ := st.QueueList(ctx)
	if len(rest) != 1 {
		t.Fatalf("%d entries left, want 1", len(rest))
	}
	if err := st.QueueDrop(ctx, rest[0].ID, storage.Notice{Queue: []storage.QueueItem{{Body: bounce, Recipients: []storage.QueueRecipient{{Address: "s@far.test"}}}}}); err != nil {
		t.Fatal(err)
	}
	rest, _ = st.QueueList(ctx)
	if len(rest) != 1 || rest[0].Domain != "far.test" || rest[0].From != "" {
		t.Errorf("after drop: %+v", rest)
	}
	if err := st.QueueDrop(ctx, 9999, storage.Notice{}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("drop of a missing entry: %v", err)
	}
}

func TestQueueKeepsBodyOfLocalCopy(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "alice@example.test")
	b := msg("shared", "body")
	if _, err := st.Accept(ctx, []storage.AppendItem{{AccountID: a.ID, Body: b}},
		[]storage.QueueItem{{From: "alice@example.test", Body: b, Recipients: []storage.QueueRecipient{{Address: "x@r.test"}}}}); err != nil {
		t.Fatal(err)
	}
	list, _ := st.QueueList(ctx)
	if _, err := st.QueueUpdate(ctx, storage.QueueUpdate{ID: list[0].ID, Rcpts: []storage.RcptResult{{N: 0, Status: storage.RcptDelivered}}}); err != nil {
		t.Fatal(err)
	}
	inbox := mailbox(t, st, a.ID, "INBOX")
	msgs, err := st.FetchMessages(ctx, inbox.ID, []uint32{1}, storage.FetchWant{})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("local copy: %v %v", msgs, err)
	}
	if data, err := st.ReadBody(ctx, msgs[0].BodyID); err != nil || string(data) != string(b.Bytes()) {
		t.Errorf("local copy's body after the queue released it: %v", err)
	}
	// Expunging the local copy now frees the body.
	if _, err := st.Expunge(ctx, inbox.ID, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	if bodyCount(t, st) != 0 {
		t.Error("body kept after its last reference went")
	}
}

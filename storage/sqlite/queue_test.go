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

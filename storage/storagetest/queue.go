package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"postern/storage"
)

var queueTests = []test{
	{"AcceptSplitsLocalAndRemote", testAcceptSplits},
	{"AcceptIsAtomic", testAcceptAtomic},
	{"QueueLifecycle", testQueueLifecycle},
	{"QueueKeepsBodyOfLocalCopy", testQueueKeepsLocalBody},
	{"QueueKeepsOrigin", testQueueOrigin},
}

func testAcceptSplits(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "alice@example.test")
	b := msg("hello", "both ways")
	res, err := st.Accept(ctx, []storage.AppendItem{{AccountID: a.ID, Body: b}}, []storage.QueueItem{{
		MsgID: "tx1", From: "alice@example.test", Body: b, Return: "HDRS", EnvelopeID: "env-1", UTF8: true, RequireTLS: true,
		Recipients: []storage.QueueRecipient{
			{Address: "x@remote.test", Notify: []string{"SUCCESS", "FAILURE"}, ORCPT: "rfc822;x@remote.test"},
			{Address: "y@other.test."},
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
	if err != nil || len(list) != 2 {
		t.Fatalf("%d entries (%v), want one per domain (2)", len(list), err)
	}
	byDomain := map[string]storage.QueueEntry{}
	for _, e := range list {
		byDomain[e.Domain] = e
	}
	r := byDomain["remote.test"]
	if len(r.Recipients) != 2 || r.Recipients[0].Address != "x@remote.test" || r.Recipients[1].Address != "z@REMOTE.test" || r.Recipients[1].N != 1 {
		t.Errorf("remote.test recipients %+v", r.Recipients)
	}
	if got := r.Recipients[0]; len(got.Notify) != 2 || got.Notify[1] != "FAILURE" || got.ORCPT != "rfc822;x@remote.test" || got.Status != storage.RcptPending {
		t.Errorf("DSN parameters lost: %+v", got)
	}
	if r.From != "alice@example.test" || r.Return != "HDRS" || r.EnvelopeID != "env-1" || r.MsgID != "tx1" || r.Size != b.Size() || !r.UTF8 || !r.RequireTLS || r.Attempts != 0 {
		t.Errorf("entry %+v", r)
	}
	if len(byDomain["other.test"].Recipients) != 1 {
		t.Errorf("other.test (trailing dot dropped) %+v", byDomain["other.test"])
	}
	data, err := st.ReadBody(ctx, r.BodyID)
	if err != nil || string(data) != string(b.Bytes()) {
		t.Errorf("queued body %q, %v", data, err)
	}
	if local := bodyIDOf(t, st, res[0].MailboxID, res[0].UID); local != r.BodyID || byDomain["other.test"].BodyID != local {
		t.Errorf("the local copy and the queue entries store the body apart: %d, %d, %d", local, r.BodyID, byDomain["other.test"].BodyID)
	}
}

func testAcceptAtomic(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "alice@example.test")
	b := msg("bad", "x")
	_, err := st.Accept(ctx, []storage.AppendItem{{AccountID: a.ID, Body: b}},
		[]storage.QueueItem{{From: "alice@example.test", Body: b, Recipients: []storage.QueueRecipient{{Address: "no-domain"}}}})
	if !errors.Is(err, storage.ErrInvalidName) {
		t.Fatalf("err = %v, want ErrInvalidName", err)
	}
	if m := mailbox(t, st, a.ID, "INBOX"); m.UIDNext != 1 {
		t.Errorf("a failed Accept left a local copy (UIDNEXT %d)", m.UIDNext)
	}
	if list, _ := st.QueueList(ctx); len(list) != 0 {
		t.Errorf("a failed Accept queued %+v", list)
	}
	if err := st.Enqueue(ctx, storage.QueueItem{Body: b}); err == nil {
		t.Error("entry without recipients accepted")
	}
	if err := st.Enqueue(ctx, storage.QueueItem{Recipients: []storage.QueueRecipient{{Address: "a@b.test"}}}); err == nil {
		t.Error("entry without body accepted")
	}
}

func testQueueLifecycle(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	now := time.Now().Add(time.Second) // after the enqueue's own clock reading
	b := msg("later", "retry me")
	later := now.Add(time.Hour)
	if next, ok, err := st.QueueNext(ctx); ok || err != nil {
		t.Errorf("QueueNext of an empty queue = %v, %v, %v", next, ok, err)
	}
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
	if got, err := st.QueueAttempt(ctx, []int64{e.ID, 1 << 40}, now, now.Add(5*time.Minute)); err != nil || len(got) != 0 {
		t.Fatalf("second claim = %v, %v", got, err)
	}
	if due, _ := st.QueueDue(ctx, now.Add(time.Second), 10); len(due) != 0 {
		t.Errorf("entry still due right after an attempt was recorded: %+v", due)
	}
	// r1 delivered, r2 deferred: the entry stays with r2 pending.
	removed, err := st.QueueUpdate(ctx, storage.QueueUpdate{ID: e.ID, NextAttempt: now.Add(10 * time.Minute), LastError: "451 try later",
		Rcpts: []storage.RcptResult{{N: 0, Status: storage.RcptDelivered, Code: 250}, {N: 1, Status: storage.RcptPending, Code: 451, Error: "451 try later", DelaySent: true}}})
	if err != nil || removed {
		t.Fatalf("update: removed=%v err=%v", removed, err)
	}
	next, ok, err := st.QueueNext(ctx)
	if err != nil || !ok || next.UnixMilli() != now.Add(10*time.Minute).UnixMilli() {
		t.Errorf("QueueNext = %v %v %v", next, ok, err)
	}
	got, err := st.QueueEntry(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Attempts != 1 || got.LastAttempt.UnixMilli() != now.UnixMilli() || got.LastError != "451 try later" {
		t.Errorf("after the attempt: %+v", got)
	}
	if p := got.Pending(); len(p) != 1 || p[0].Address != "r2@one.test" || !p[0].DelaySent || p[0].Code != 451 || got.Recipients[0].Status != storage.RcptDelivered {
		t.Errorf("recipients after the attempt: %+v", got.Recipients)
	}
	// Retry all: both entries are due now.
	n, err := st.QueueRetry(ctx, 0, now)
	if err != nil || n != 2 {
		t.Fatalf("retry all = %d, %v", n, err)
	}
	if due, _ := st.QueueDue(ctx, now, 10); len(due) != 2 {
		t.Errorf("after retry of all, %d due", len(due))
	}
	if n, err := st.QueueRetry(ctx, e.ID, now); err != nil || n != 1 {
		t.Errorf("retry of one = %d, %v", n, err)
	}
	if _, err := st.QueueRetry(ctx, 1<<40, now); !errors.Is(err, storage.ErrNotFound) {
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
	waitFor(t, "the body of a finished entry with no local copy was kept", func() bool {
		_, err := st.ReadBody(ctx, e.BodyID)
		return errors.Is(err, storage.ErrNotFound)
	})
	if inbox := mailbox(t, st, a.ID, "INBOX"); inbox.UIDNext != 2 {
		t.Errorf("bounce not in INBOX (UIDNEXT %d)", inbox.UIDNext)
	}
	// Drop the other entry with a bounce queued to a remote sender.
	rest, _ := st.QueueList(ctx)
	if len(rest) != 1 {
		t.Fatalf("%d entries left, want 1", len(rest))
	}
	if err := st.QueueDrop(ctx, rest[0].ID, storage.Notice{Queue: []storage.QueueItem{{Body: bounce, Origin: storage.OriginServer, Recipients: []storage.QueueRecipient{{Address: "s@far.test"}}}}}); err != nil {
		t.Fatal(err)
	}
	rest, _ = st.QueueList(ctx)
	if len(rest) != 1 || rest[0].Domain != "far.test" || rest[0].From != "" || rest[0].Origin != storage.OriginServer {
		t.Errorf("after drop: %+v", rest)
	}
	if err := st.QueueDrop(ctx, 1<<40, storage.Notice{}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("drop of a missing entry: %v", err)
	}
}

func testQueueKeepsLocalBody(t *testing.T, h Harness) {
	st := h.Open(t)
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
	if _, err := st.Expunge(ctx, inbox.ID, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the body was kept after its last reference went", func() bool {
		_, err := st.ReadBody(ctx, msgs[0].BodyID)
		return errors.Is(err, storage.ErrNotFound)
	})
}

// Where a queued message came from decides what the server vouches for;
// it reads back as it was queued.
func testQueueOrigin(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	for _, o := range []storage.Origin{storage.OriginForwarded, storage.OriginSubmission, storage.OriginServer} {
		if err := st.Enqueue(ctx, storage.QueueItem{MsgID: o.String(), Origin: o, Body: msg(o.String(), "x"), Recipients: []storage.QueueRecipient{{Address: "x@remote.test"}}}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := st.QueueList(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("%d entries, %v", len(list), err)
	}
	for _, e := range list {
		if e.Origin.String() != e.MsgID {
			t.Errorf("entry queued as %s reads back as %s", e.MsgID, e.Origin)
		}
	}
}

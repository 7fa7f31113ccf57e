package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"postern/storage"
)

var messageTests = []test{
	{"ConcurrentAppendsGiveUniqueIncreasingUIDs", testConcurrentAppends},
	{"UIDsNeverReused", testUIDsNeverReused},
	{"AppendIsAtomic", testAppendIsAtomic},
	{"FlagsAndModSeq", testFlagsAndModSeq},
	{"Expunge", testExpunge},
	{"CopyKeepsFlagsAndSharesTheBody", testCopy},
	{"Move", testMove},
	{"RecentIsClaimedOnce", testRecentClaimedOnce},
	{"MailboxStatus", testMailboxStatus},
}

func testConcurrentAppends(t *testing.T, h Harness) {
	st := h.Open(t)
	a := newAccount(t, st, "a@example.test")
	const workers, each = 8, 25
	var mu sync.Mutex
	var all []uint32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := uint32(0)
			for i := range each {
				res, err := st.Append(context.Background(), []storage.AppendItem{{AccountID: a.ID, Body: msg(fmt.Sprint(w, i), "x")}})
				if err != nil {
					errs <- err
					return
				}
				if res[0].UID <= last {
					errs <- fmt.Errorf("worker %d: uid %d after %d", w, res[0].UID, last)
					return
				}
				last = res[0].UID
				mu.Lock()
				all = append(all, res[0].UID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	slices.Sort(all)
	for i, u := range all {
		if u != uint32(i+1) {
			t.Fatalf("UIDs %v...: want 1 to %d, each once", all[:min(len(all), i+2)], workers*each)
		}
	}
	inbox := mailbox(t, st, a.ID, "INBOX")
	if inbox.UIDNext != workers*each+1 {
		t.Errorf("UIDNEXT = %d", inbox.UIDNext)
	}
	states, _ := st.MessageUIDs(context.Background(), inbox.ID)
	if len(states) != workers*each || !slices.IsSortedFunc(states, func(a, b storage.MessageState) int { return int(a.UID) - int(b.UID) }) {
		t.Errorf("%d messages listed, or not in UID order", len(states))
	}
}

// A UID is never given twice in one UIDVALIDITY (RFC 3501 §2.3.1.1), also
// when the message with the highest one is expunged.
func testUIDsNeverReused(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	appendMsgs(t, st, a.ID, "INBOX", 3)
	if _, err := st.StoreFlags(ctx, inbox.ID, []uint32{3}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagDeleted}); err != nil {
		t.Fatal(err)
	}
	gone, err := st.Expunge(ctx, inbox.ID, nil)
	if err != nil || fmt.Sprint(gone) != "[3]" {
		t.Fatalf("expunge = %v, %v", gone, err)
	}
	res := appendMsgs(t, st, a.ID, "INBOX", 1)
	if res[0].UID != 4 || res[0].UIDValidity != inbox.UIDValidity {
		t.Errorf("UID after expunging the last = %d (UIDVALIDITY %d), want 4 (%d)", res[0].UID, res[0].UIDValidity, inbox.UIDValidity)
	}
	if m := mailbox(t, st, a.ID, "INBOX"); m.UIDNext != 5 {
		t.Errorf("UIDNEXT %d, want 5", m.UIDNext)
	}
	// Every mailbox gets a UIDVALIDITY no mailbox of the store had.
	seen := map[uint32]string{}
	for _, n := range []string{"A", "B", "C"} {
		m, err := st.CreateMailbox(ctx, a.ID, n, "")
		if err != nil {
			t.Fatal(err)
		}
		if other, ok := seen[m.UIDValidity]; ok {
			t.Errorf("%s and %s share UIDVALIDITY %d", n, other, m.UIDValidity)
		}
		seen[m.UIDValidity] = n
	}
}

// One Append is all or nothing: an item for a missing mailbox fails the
// whole call, the good items with it.
func testAppendIsAtomic(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	_, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("ok", "1")}, {AccountID: a.ID, Mailbox: "Missing", Body: msg("bad", "2")}})
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("append to a missing mailbox: %v", err)
	}
	if _, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID}}); err == nil {
		t.Error("append without a body accepted")
	}
	if m := mailbox(t, st, a.ID, "INBOX"); m.UIDNext != 1 {
		t.Errorf("a failed append left UIDNEXT %d", m.UIDNext)
	}
	// Concurrent appends that fail do not take the others down with them.
	var wg sync.WaitGroup
	results := make([]error, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mb := ""
			if i%2 == 1 {
				mb = "NoSuchMailbox"
			}
			_, results[i] = st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Mailbox: mb, Body: msg("x", fmt.Sprint(i))}})
		}()
	}
	wg.Wait()
	for i, err := range results {
		if (i%2 == 1) != errors.Is(err, storage.ErrNotFound) {
			t.Errorf("request %d: %v", i, err)
		}
	}
	if s, _ := st.MailboxStatus(ctx, mailbox(t, st, a.ID, "INBOX").ID); s.Messages != 10 {
		t.Errorf("%d messages, want 10", s.Messages)
	}
}

// Every flag change gives the message a MODSEQ above every earlier one of
// the mailbox (RFC 7162 §3.1); a STORE that changes nothing gives none.
func testFlagsAndModSeq(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	date := time.Date(2020, 5, 17, 10, 0, 0, 0, time.UTC)
	if _, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("a", "1"), Flags: storage.ParseFlags([]string{`\seen`, "Junk", `\Recent`}), InternalDate: date}}); err != nil {
		t.Fatal(err)
	}
	s0, _ := st.MessageUIDs(ctx, inbox.ID)
	if len(s0) != 1 || !s0[0].Flags.Has(storage.FlagSeen) || fmt.Sprint(s0[0].Flags.Keywords) != "[Junk]" || !s0[0].Recent || s0[0].ModSeq == 0 {
		t.Fatalf("appended flags = %+v", s0)
	}
	if m, _ := st.FetchMessages(ctx, inbox.ID, []uint32{1}, storage.FetchWant{}); !m[0].InternalDate.Equal(date) {
		t.Errorf("internal date %v, want %v", m[0].InternalDate, date)
	}
	ch, err := st.StoreFlags(ctx, inbox.ID, []uint32{1}, storage.FlagsAdd, storage.ParseFlags([]string{"junk", "$Label1", `\Answered`}))
	if err != nil || len(ch) != 1 || fmt.Sprint(ch[0].Flags.Names()) != `[\Seen \Answered $Label1 Junk]` || ch[0].ModSeq <= s0[0].ModSeq {
		t.Fatalf("add = %+v, %v", ch, err)
	}
	last := ch[0].ModSeq
	ch, _ = st.StoreFlags(ctx, inbox.ID, []uint32{1}, storage.FlagsAdd, storage.ParseFlags([]string{`\Seen`}))
	if len(ch) != 0 {
		t.Errorf("a STORE that changes nothing reported %+v", ch)
	}
	if m := mailbox(t, st, a.ID, "INBOX"); m.HighestModSeq != last {
		t.Errorf("HIGHESTMODSEQ %d after a no-op STORE, want %d", m.HighestModSeq, last)
	}
	ch, _ = st.StoreFlags(ctx, inbox.ID, []uint32{1}, storage.FlagsRemove, storage.ParseFlags([]string{"JUNK", `\Seen`}))
	if len(ch) != 1 || fmt.Sprint(ch[0].Flags.Names()) != `[\Answered $Label1]` || ch[0].ModSeq <= last {
		t.Fatalf("remove = %+v", ch)
	}
	last = ch[0].ModSeq
	ch, _ = st.StoreFlags(ctx, inbox.ID, []uint32{1, 99}, storage.FlagsReplace, storage.ParseFlags([]string{`\Draft`, `\Flagged`, "a", "A"}))
	if len(ch) != 1 || fmt.Sprint(ch[0].Flags.Names()) != `[\Flagged \Draft A]` || ch[0].ModSeq <= last {
		t.Fatalf("replace = %+v", ch)
	}
	states, _ := st.MessageUIDs(ctx, inbox.ID)
	if fmt.Sprint(states[0].Flags.Names()) != `[\Flagged \Draft A]` || states[0].ModSeq != ch[0].ModSeq {
		t.Errorf("stored state %+v, want the last change %+v", states[0], ch[0])
	}
	if m := mailbox(t, st, a.ID, "INBOX"); m.HighestModSeq != ch[0].ModSeq {
		t.Errorf("HIGHESTMODSEQ %d, want %d", m.HighestModSeq, ch[0].ModSeq)
	}
	// Changing several messages at once gives them one new MODSEQ each,
	// all above what was there.
	appendMsgs(t, st, a.ID, "INBOX", 2)
	top := mailbox(t, st, a.ID, "INBOX").HighestModSeq
	ch, _ = st.StoreFlags(ctx, inbox.ID, []uint32{1, 2, 3}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagSeen})
	if len(ch) != 3 {
		t.Fatalf("store on 3 = %+v", ch)
	}
	for _, c := range ch {
		if c.ModSeq <= top {
			t.Errorf("uid %d: MODSEQ %d, not above %d", c.UID, c.ModSeq, top)
		}
	}
	if _, err := st.StoreFlags(ctx, 1<<40, []uint32{1}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagSeen}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("STORE in a missing mailbox: %v", err)
	}
}

func testExpunge(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	appendMsgs(t, st, a.ID, "INBOX", 5)
	if _, err := st.StoreFlags(ctx, inbox.ID, []uint32{2, 4}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagDeleted}); err != nil {
		t.Fatal(err)
	}
	before := mailbox(t, st, a.ID, "INBOX").HighestModSeq
	// With UIDs, only those go, \Deleted or not (UID EXPUNGE removes only
	// \Deleted ones; the caller picks them).
	gone, err := st.Expunge(ctx, inbox.ID, []uint32{4, 5, 99})
	if err != nil || fmt.Sprint(gone) != "[4 5]" {
		t.Fatalf("expunge of 4, 5, 99 = %v, %v", gone, err)
	}
	if m := mailbox(t, st, a.ID, "INBOX"); m.HighestModSeq <= before {
		t.Errorf("HIGHESTMODSEQ %d after an expunge, not above %d (RFC 7162 §3.1.1)", m.HighestModSeq, before)
	}
	gone, err = st.Expunge(ctx, inbox.ID, nil)
	if err != nil || fmt.Sprint(gone) != "[2]" {
		t.Fatalf("expunge of \\Deleted = %v, %v", gone, err)
	}
	if gone, err := st.Expunge(ctx, inbox.ID, nil); err != nil || len(gone) != 0 {
		t.Errorf("expunge with nothing \\Deleted = %v, %v", gone, err)
	}
	if gone, err := st.Expunge(ctx, inbox.ID, []uint32{}); err != nil || len(gone) != 0 {
		t.Errorf("expunge of no UIDs = %v, %v", gone, err)
	}
	states, _ := st.MessageUIDs(ctx, inbox.ID)
	var uids []uint32
	for _, s := range states {
		uids = append(uids, s.UID)
	}
	if fmt.Sprint(uids) != "[1 3]" {
		t.Errorf("left: %v", uids)
	}
	if _, err := st.Expunge(ctx, 1<<40, nil); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("expunge in a missing mailbox: %v", err)
	}
}

// COPY keeps flags and internal date, makes the copies \Recent, gives
// them the next UIDs of the destination (RFC 4315 COPYUID) and shares the
// stored body; the body goes with the last message that holds it.
func testCopy(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	arch := mailbox(t, st, a.ID, "Archive")
	appendMsgs(t, st, a.ID, "Archive", 2)
	date := time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("one", "body"), InternalDate: date,
		Flags: storage.FlagSet{System: storage.FlagFlagged, Keywords: []string{"$Work"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimRecent(ctx, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	res, err := st.Copy(ctx, inbox.ID, []uint32{1, 42}, arch.ID)
	if err != nil || fmt.Sprint(res.SrcUIDs, res.DstUIDs) != "[1] [3]" || res.UIDValidity != arch.UIDValidity {
		t.Fatalf("copy = %+v, %v", res, err)
	}
	got, _ := st.FetchMessages(ctx, arch.ID, res.DstUIDs, storage.FetchWant{})
	src, _ := st.FetchMessages(ctx, inbox.ID, []uint32{1}, storage.FetchWant{})
	if len(got) != 1 || !got[0].Flags.Has(storage.FlagFlagged) || !got[0].Flags.HasKeyword("$work") || !got[0].InternalDate.Equal(date) || got[0].Size != src[0].Size {
		t.Errorf("copy = %+v", got)
	}
	if got[0].BodyID != src[0].BodyID {
		t.Errorf("the copy has body %d, the original %d: COPY stores the body again", got[0].BodyID, src[0].BodyID)
	}
	states, _ := st.MessageUIDs(ctx, arch.ID)
	if !states[2].Recent {
		t.Error("the copy is not \\Recent")
	}
	// The same message delivered again shares the body too.
	again, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("one", "body")}})
	if err != nil {
		t.Fatal(err)
	}
	body := src[0].BodyID
	if b := bodyIDOf(t, st, inbox.ID, again[0].UID); b != body {
		t.Errorf("the same message stored again got body %d, not %d", b, body)
	}
	// Expunging every message that holds the body removes it.
	if _, err := st.Expunge(ctx, inbox.ID, []uint32{1, again[0].UID}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ReadBody(ctx, body); err != nil {
		t.Errorf("the body while a copy remains: %v", err)
	}
	if _, err := st.Expunge(ctx, arch.ID, res.DstUIDs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the body outlived its last message", func() bool {
		_, err := st.ReadBody(ctx, body)
		return errors.Is(err, storage.ErrNotFound)
	})
	// COPY between accounts is refused.
	b := newAccount(t, st, "b@example.test")
	if _, err := st.Copy(ctx, arch.ID, []uint32{1}, mailbox(t, st, b.ID, "INBOX").ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("copy to another account: %v", err)
	}
	if res, err := st.Copy(ctx, inbox.ID, []uint32{1000}, arch.ID); err != nil || len(res.DstUIDs) != 0 {
		t.Errorf("copy of nothing = %+v, %v", res, err)
	}
}

// MOVE is COPY and EXPUNGE in one transaction (RFC 6851).
func testMove(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	trash := mailbox(t, st, a.ID, "Trash")
	appendMsgs(t, st, a.ID, "INBOX", 3)
	if _, err := st.StoreFlags(ctx, inbox.ID, []uint32{2}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagSeen}); err != nil {
		t.Fatal(err)
	}
	res, err := st.Move(ctx, inbox.ID, []uint32{2, 3}, trash.ID)
	if err != nil || fmt.Sprint(res.SrcUIDs, res.DstUIDs) != "[2 3] [1 2]" || res.UIDValidity != trash.UIDValidity {
		t.Fatalf("move = %+v, %v", res, err)
	}
	states, _ := st.MessageUIDs(ctx, inbox.ID)
	if len(states) != 1 || states[0].UID != 1 {
		t.Errorf("INBOX after the move = %+v", states)
	}
	states, _ = st.MessageUIDs(ctx, trash.ID)
	if len(states) != 2 || !states[0].Flags.Has(storage.FlagSeen) {
		t.Errorf("Trash after the move = %+v", states)
	}
	if res, err := st.Move(ctx, inbox.ID, []uint32{2}, trash.ID); err != nil || len(res.SrcUIDs) != 0 {
		t.Errorf("move of an expunged UID = %+v, %v", res, err)
	}
}

// \Recent belongs to exactly one session (RFC 3501 §2.3.2): of many
// sessions claiming the same new mail at once, one gets each message.
func testRecentClaimedOnce(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	appendMsgs(t, st, a.ID, "INBOX", 4)
	if _, err := st.Expunge(ctx, inbox.ID, []uint32{4}); err != nil {
		t.Fatal(err)
	}
	if r, _ := st.ClaimRecent(ctx, inbox.ID, []uint32{3, 4}); fmt.Sprint(r) != "[3]" {
		t.Errorf("claim of uids 3 and (expunged) 4 = %v", r)
	}
	r, _ := st.ClaimRecent(ctx, inbox.ID, nil)
	r2, _ := st.ClaimRecent(ctx, inbox.ID, nil)
	if fmt.Sprint(r) != "[1 2]" || len(r2) != 0 {
		t.Errorf("recent claimed %v then %v", r, r2)
	}
	res := appendMsgs(t, st, a.ID, "INBOX", 5)
	uids := make([]uint32, len(res))
	for i, x := range res {
		uids[i] = x.UID
	}
	var mu sync.Mutex
	claimed := map[uint32]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := st.ClaimRecent(ctx, inbox.ID, uids)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			for _, u := range got {
				claimed[u]++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, u := range uids {
		if claimed[u] != 1 {
			t.Errorf("uid %d claimed %d times", u, claimed[u])
		}
	}
	if s, _ := st.MailboxStatus(ctx, inbox.ID); s.Recent != 0 {
		t.Errorf("STATUS RECENT %d after every claim", s.Recent)
	}
}

func testMailboxStatus(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	res := appendMsgs(t, st, a.ID, "INBOX", 4)
	st.StoreFlags(ctx, inbox.ID, []uint32{1, 2}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagSeen})
	st.StoreFlags(ctx, inbox.ID, []uint32{2, 3}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagDeleted})
	st.ClaimRecent(ctx, inbox.ID, []uint32{1})
	s, err := st.MailboxStatus(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, r := range res {
		m, _ := st.FetchMessages(ctx, inbox.ID, []uint32{r.UID}, storage.FetchWant{})
		size += m[0].Size
	}
	if s.Messages != 4 || s.Unseen != 2 || s.Recent != 3 || s.Deleted != 2 || s.Size != size || s.UIDNext != 5 || s.Name != "INBOX" {
		t.Errorf("status = %+v (size want %d)", s, size)
	}
	if _, err := st.MailboxStatus(ctx, 1<<40); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("status of a missing mailbox: %v", err)
	}
}

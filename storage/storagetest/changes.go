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

var changeTests = []test{
	{"ChangeLogRecordsEveryChange", testChangeLogRecords},
	{"ChangeLogPruned", testChangeLogPruned},
	{"PeerChangesReachSessions", testPeerChanges},
	{"PeerAccountEndEndsSessions", testPeerAccountEnd},
	{"ChangesOfAllNodesInOneOrder", testChangeOrder},
	{"ChangedSince", testChangedSince},
	{"VanishedSince", testVanishedSince},
	{"ExpungeHistoryCompaction", testExpungeCompaction},
}

// changesSince reads the whole log after pos.
func changesSince(t testing.TB, st storage.Backend, pos uint64) []storage.Change {
	t.Helper()
	var out []storage.Change
	for {
		ch, err := st.ChangesAfter(context.Background(), pos, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(ch) == 0 {
			return out
		}
		out = append(out, ch...)
		pos = ch[len(ch)-1].Seq
	}
}

func lastChange(t testing.TB, st storage.Backend) uint64 {
	t.Helper()
	pos, err := st.LastChange(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return pos
}

// Every kind of change is logged in its transaction, with what a reader
// in another process needs to tell its sessions.
func testChangeLogRecords(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	start := lastChange(t, st)
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	origin := storage.NewOriginID()
	octx := storage.WithOrigin(ctx, origin)
	appendMsgs(t, st, a.ID, "INBOX", 3)
	st.StoreFlags(octx, inbox.ID, []uint32{1, 3}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagDeleted, Keywords: []string{"$k"}})
	st.Expunge(ctx, inbox.ID, nil)
	box, _ := st.CreateMailbox(ctx, a.ID, "Box", "")
	st.RenameMailbox(ctx, a.ID, "Box", "Crate")
	st.DeleteMailbox(ctx, a.ID, "Crate")
	st.SetPassword(ctx, "a@example.test", "other")
	st.DisableAccount(ctx, "a@example.test")
	st.EnableAccount(ctx, "a@example.test")
	st.AddAlias(ctx, "x@example.test", []string{"a@example.test"})
	st.DeleteAlias(ctx, "x@example.test")
	st.DeleteAccount(ctx, "a@example.test")

	log := changesSince(t, st, start)
	var got []string
	for i, c := range log {
		got = append(got, c.Kind.String())
		if i > 0 && c.Seq <= log[i-1].Seq {
			t.Errorf("position %d after %d", c.Seq, log[i-1].Seq)
		}
		if c.Time.IsZero() || time.Since(c.Time) > time.Hour || c.Node == 0 {
			t.Errorf("%s: time %v, node %d", c.Kind, c.Time, c.Node)
		}
		if c.Node != log[0].Node {
			t.Errorf("%s: node %d, the first entry's %d: one store is one node", c.Kind, c.Node, log[0].Node)
		}
	}
	create := slices.Repeat([]string{"mailbox-create"}, len(storage.DefaultMailboxes))
	want := append(append([]string{"account-create"}, create...), "append", "flags", "expunge", "mailbox-create", "mailbox-rename",
		"mailbox-delete", "password-change", "account-disable", "account-enable", "alias-change", "alias-change")
	// Deleting the account deletes its mailboxes, in no set order,
	// expunging what INBOX still holds, and then the account.
	gone := slices.Repeat([]string{"mailbox-delete"}, len(storage.DefaultMailboxes))
	gone = append(gone, "expunge")
	if len(got) != len(want)+len(gone)+1 || fmt.Sprint(got[:len(want)]) != fmt.Sprint(want) || got[len(got)-1] != "account-delete" {
		t.Fatalf("log\n %v\nwant\n %v, then %v in some order, then account-delete", got, want, gone)
	}
	rest := slices.Clone(got[len(want) : len(got)-1])
	slices.Sort(rest)
	slices.Sort(gone)
	if fmt.Sprint(rest) != fmt.Sprint(gone) {
		t.Errorf("deleting the account logged %v", rest)
	}
	if last := lastChange(t, st); last != log[len(log)-1].Seq {
		t.Errorf("LastChange %d, newest entry %d", last, log[len(log)-1].Seq)
	}
	find := func(kind string) storage.Change {
		for _, c := range log {
			if c.Kind.String() == kind {
				return c
			}
		}
		t.Fatalf("no %s", kind)
		return storage.Change{}
	}
	if c := find("account-create"); c.AccountID != a.ID || c.Address != "a@example.test" {
		t.Errorf("account-create %+v", c)
	}
	if c := find("append"); c.AccountID != a.ID || c.MailboxID != inbox.ID || c.Mailbox != "INBOX" || fmt.Sprint(c.UIDs) != "[1 2 3]" || c.ModSeq == 0 {
		t.Errorf("append %+v", c)
	}
	fl := find("flags")
	if fl.Origin != origin || fmt.Sprint(fl.UIDs) != "[1 3]" || len(fl.Flags) != 2 || fmt.Sprint(fl.Flags[1].Names()) != `[\Deleted $k]` ||
		len(fl.ModSeqs) != 2 || fl.ModSeqs[0] != fl.ModSeq || fl.ModSeq <= find("append").ModSeq {
		t.Errorf("flags %+v", fl)
	}
	if c := find("expunge"); fmt.Sprint(c.UIDs) != "[1 3]" || c.ModSeq <= fl.ModSeq {
		t.Errorf("expunge %+v", c)
	}
	if c := find("mailbox-rename"); c.MailboxID != box.ID || c.Mailbox != "Box" || c.NewName != "Crate" {
		t.Errorf("mailbox-rename %+v", c)
	}
	if c := find("alias-change"); c.Address != "x@example.test" || c.AccountID != 0 {
		t.Errorf("alias-change %+v", c)
	}
	for _, k := range []string{"password-change", "account-disable", "account-enable", "account-delete"} {
		if c := find(k); c.AccountID != a.ID || c.Address != "a@example.test" {
			t.Errorf("%s %+v", k, c)
		}
	}
	// A failed change logs nothing.
	before := lastChange(t, st)
	if _, err := st.CreateMailbox(ctx, 1<<40, "X", ""); err == nil {
		t.Error("mailbox of a missing account created")
	}
	if err := st.DeleteAlias(ctx, "nothing@example.test"); !errors.Is(err, storage.ErrNotFound) {
		t.Error(err)
	}
	if after := lastChange(t, st); after != before {
		t.Errorf("failed changes moved the log from %d to %d", before, after)
	}
}

// A reader whose position was pruned is told so, never handed a log
// with a hole in it.
func testChangeLogPruned(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	pos := lastChange(t, st)
	appendMsgs(t, st, a.ID, "INBOX", 1)
	mid := lastChange(t, st)
	appendMsgs(t, st, a.ID, "INBOX", 1)
	if err := st.PruneChanges(ctx, mid); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ChangesAfter(ctx, pos, 100); !errors.Is(err, storage.ErrChangesPruned) {
		t.Errorf("reading from a pruned position: %v", err)
	}
	ch, err := st.ChangesAfter(ctx, mid, 100)
	if err != nil || len(ch) != 1 || ch[0].Kind != storage.EventAppend {
		t.Errorf("reading from the pruning point: %+v, %v", ch, err)
	}
	// Positions go on above what was pruned, also when all was.
	last := lastChange(t, st)
	if err := st.PruneChanges(ctx, last); err != nil {
		t.Fatal(err)
	}
	if got := lastChange(t, st); got != last {
		t.Errorf("LastChange %d after pruning everything, want %d", got, last)
	}
	appendMsgs(t, st, a.ID, "INBOX", 1)
	if ch, err := st.ChangesAfter(ctx, last, 100); err != nil || len(ch) != 1 || ch[0].Seq <= last {
		t.Errorf("after pruning everything: %+v, %v", ch, err)
	}
}

// What another process commits reaches this store's sessions, with the
// data the sessions show.
func testPeerChanges(t *testing.T, h Harness) {
	st := h.Open(t)
	peer := h.Peer(t, st)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	sub := st.Subscribe(a.ID)
	defer sub.Close()
	res, err := peer.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("from", "the other process")}})
	if err != nil {
		t.Fatal(err)
	}
	evs := drainUntil(t, sub, func(e []storage.Event) bool { return len(e) >= 1 })
	if e := evs[0]; e.Kind != storage.EventAppend || e.MailboxID != inbox.ID || fmt.Sprint(e.UIDs) != fmt.Sprint([]uint32{res[0].UID}) || e.Seq == 0 {
		t.Fatalf("event of the peer's append: %+v", e)
	}
	origin := storage.NewOriginID()
	if _, err := peer.StoreFlags(storage.WithOrigin(ctx, origin), inbox.ID, []uint32{res[0].UID}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagSeen}); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.CreateMailbox(ctx, a.ID, "New", ""); err != nil {
		t.Fatal(err)
	}
	evs = drainUntil(t, sub, func(e []storage.Event) bool { return len(e) >= 2 })
	if e := evs[0]; e.Kind != storage.EventFlags || e.Origin != origin || len(e.Flags) != 1 || !e.Flags[0].Has(storage.FlagSeen) || e.ModSeqs[0] == 0 {
		t.Errorf("event of the peer's STORE: %+v", e)
	}
	if e := evs[1]; e.Kind != storage.EventMailboxCreate || e.Mailbox != "New" {
		t.Errorf("event of the peer's CREATE: %+v", e)
	}
	// The peer's own sessions see the store's changes as well, when it
	// follows; this store's own changes are not published twice.
	appendMsgs(t, st, a.ID, "INBOX", 1)
	evs = drainUntil(t, sub, func(e []storage.Event) bool { return len(e) >= 1 })
	time.Sleep(500 * time.Millisecond) // a duplicate would come from the next poll
	if more := sub.Drain(); len(evs)+len(more) != 1 {
		t.Errorf("own append published %d times", len(evs)+len(more))
	}
}

// Deleting or disabling an account in another process ends its sessions
// here.
func testPeerAccountEnd(t *testing.T, h Harness) {
	st := h.Open(t)
	peer := h.Peer(t, st)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	b := newAccount(t, st, "b@example.test")
	subA := st.Subscribe(a.ID)
	defer subA.Close()
	watchB := st.WatchAccount(b.ID)
	defer watchB.Close()
	// What the login path's cache listens to hears the other process too.
	var mu sync.Mutex
	var watched []string
	stop := st.WatchAccounts(func(ev storage.Event) {
		mu.Lock()
		watched = append(watched, ev.Kind.String())
		mu.Unlock()
	})
	defer stop()
	if err := peer.SetPassword(ctx, "a@example.test", "a new password"); err != nil {
		t.Fatal(err)
	}
	if err := peer.DisableAccount(ctx, "a@example.test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a's session did not end when another process disabled a", func() bool { return ended(subA) })
	if !errors.Is(subA.Err(), storage.ErrAccountDisabled) {
		t.Errorf("ended with %v", subA.Err())
	}
	if err := peer.DeleteAccount(ctx, "b@example.test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b's session did not end when another process deleted b", func() bool { return ended(watchB) })
	if !errors.Is(watchB.Err(), storage.ErrAccountDeleted) {
		t.Errorf("ended with %v", watchB.Err())
	}
	waitFor(t, "the account watcher did not hear of the other process's changes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprint(watched) == "[password-change account-disable account-delete]"
	})
	if err := peer.EnableAccount(ctx, "a@example.test"); err != nil {
		t.Fatal(err)
	}
	again := st.Subscribe(a.ID)
	defer again.Close()
	if ended(again) {
		t.Error("a session after another process enabled the account is ended")
	}
}

// Changes of this store and of another process reach a session in the
// order they were committed: appends to one mailbox in UID order, and
// the flags a message had last.
func testChangeOrder(t *testing.T, h Harness) {
	st := h.Open(t)
	peer := h.Peer(t, st)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	sub := st.Subscribe(a.ID)
	defer sub.Close()
	const rounds = 20
	for i := range rounds {
		w := peer
		if i%2 == 1 {
			w = st
		}
		if _, err := w.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg(fmt.Sprint(i), "x")}}); err != nil {
			t.Fatal(err)
		}
		// Flags of message 1, set by each side in turn.
		kw := storage.FlagSet{Keywords: []string{fmt.Sprint("round", i)}}
		if _, err := w.StoreFlags(ctx, inbox.ID, []uint32{1}, storage.FlagsReplace, kw); err != nil {
			t.Fatal(err)
		}
	}
	evs := drainUntil(t, sub, func(e []storage.Event) bool { return len(e) >= 2*rounds })
	var uids []uint32
	var last storage.FlagSet
	var seq, modseq uint64
	for _, e := range evs {
		if e.Seq <= seq {
			t.Errorf("%s event at position %d after %d", e.Kind, e.Seq, seq)
		}
		seq = e.Seq
		if e.ModSeq <= modseq {
			t.Errorf("%s event with MODSEQ %d after %d", e.Kind, e.ModSeq, modseq)
		}
		modseq = e.ModSeq
		switch e.Kind {
		case storage.EventAppend:
			uids = append(uids, e.UIDs...)
		case storage.EventFlags:
			last = e.Flags[0]
		}
	}
	if !slices.IsSorted(uids) || len(uids) != rounds {
		t.Errorf("appends reached the session as %v", uids)
	}
	if fmt.Sprint(last.Keywords) != fmt.Sprint("[round", rounds-1, "]") {
		t.Errorf("the last flags the session saw: %v", last.Keywords)
	}
}

// CONDSTORE's CHANGEDSINCE (RFC 7162 §3.1.4.1): the messages whose MODSEQ
// is above n, appended or changed.
func testChangedSince(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	appendMsgs(t, st, a.ID, "INBOX", 4)
	n := mailbox(t, st, a.ID, "INBOX").HighestModSeq
	if got, err := st.ChangedSince(ctx, inbox.ID, n); err != nil || len(got) != 0 {
		t.Errorf("changed since the last MODSEQ: %v, %v", got, err)
	}
	st.StoreFlags(ctx, inbox.ID, []uint32{2}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagSeen})
	st.StoreFlags(ctx, inbox.ID, []uint32{4}, storage.FlagsAdd, storage.FlagSet{Keywords: []string{"$x"}})
	appendMsgs(t, st, a.ID, "INBOX", 1)
	got, err := st.ChangedSince(ctx, inbox.ID, n)
	if err != nil || len(got) != 3 || got[0].UID != 2 || got[1].UID != 4 || got[2].UID != 5 ||
		!got[0].Flags.Has(storage.FlagSeen) || !got[1].Flags.HasKeyword("$x") || got[0].ModSeq <= n {
		t.Errorf("changed since %d: %+v, %v", n, got, err)
	}
	all, _ := st.ChangedSince(ctx, inbox.ID, 0)
	if len(all) != 5 {
		t.Errorf("changed since 0: %d messages", len(all))
	}
	b := newAccount(t, st, "b@example.test")
	if got, err := st.ChangedSince(storage.WithAccount(ctx, b.ID), inbox.ID, 0); err != nil || len(got) != 0 {
		t.Errorf("another account's mailbox: %v, %v", got, err)
	}
}

// QRESYNC's VANISHED (RFC 7162 §3.2.5.1): the UIDs expunged since n, by
// EXPUNGE, MOVE out, or renaming INBOX.
func testVanishedSince(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	trash := mailbox(t, st, a.ID, "Trash")
	appendMsgs(t, st, a.ID, "INBOX", 8)
	n0 := mailbox(t, st, a.ID, "INBOX").HighestModSeq
	if got, complete, err := st.VanishedSince(ctx, inbox.ID, 0); err != nil || !complete || len(got) != 0 {
		t.Errorf("vanished from a new mailbox: %v, %v, %v", got, complete, err)
	}
	st.Expunge(ctx, inbox.ID, []uint32{2, 3})
	n1 := mailbox(t, st, a.ID, "INBOX").HighestModSeq
	st.Move(ctx, inbox.ID, []uint32{5}, trash.ID)
	st.StoreFlags(ctx, inbox.ID, []uint32{7}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagDeleted})
	st.Expunge(ctx, inbox.ID, nil)
	for _, c := range []struct {
		since uint64
		want  string
	}{{0, "[2 3 5 7]"}, {n0, "[2 3 5 7]"}, {n1, "[5 7]"}, {mailbox(t, st, a.ID, "INBOX").HighestModSeq, "[]"}} {
		got, complete, err := st.VanishedSince(ctx, inbox.ID, c.since)
		if err != nil || !complete || fmt.Sprint(got) != c.want && !(c.want == "[]" && len(got) == 0) {
			t.Errorf("vanished since %d: %v, %v, %v; want %s", c.since, got, complete, err, c.want)
		}
	}
	if got, _, _ := st.VanishedSince(ctx, trash.ID, 0); len(got) != 0 {
		t.Errorf("vanished from Trash, where the move went: %v", got)
	}
	if err := st.RenameMailbox(ctx, a.ID, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := st.VanishedSince(ctx, inbox.ID, n1); fmt.Sprint(got) != "[1 4 5 6 7 8]" {
		t.Errorf("vanished from INBOX after renaming it: %v", got)
	}
	b := newAccount(t, st, "b@example.test")
	if _, _, err := st.VanishedSince(storage.WithAccount(ctx, b.ID), inbox.ID, 0); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("another account's mailbox: %v", err)
	}
	if _, _, err := st.VanishedSince(ctx, 1<<40, 0); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a missing mailbox: %v", err)
	}
}

// Compaction forgets old expunges, and the answer says so: it is never
// short without saying it is incomplete (RFC 7162 §3.2.5.2 then asks for
// a full resync).
func testExpungeCompaction(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	appendMsgs(t, st, a.ID, "INBOX", 6)
	n0 := mailbox(t, st, a.ID, "INBOX").HighestModSeq
	st.Expunge(ctx, inbox.ID, []uint32{1})
	n1 := mailbox(t, st, a.ID, "INBOX").HighestModSeq
	st.Expunge(ctx, inbox.ID, []uint32{2})
	if n, err := st.CompactExpunges(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("compaction of nothing old enough: %d, %v", n, err)
	}
	if n, err := st.CompactExpunges(ctx, time.Now().Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("compaction of everything: %d, %v", n, err)
	}
	n2 := mailbox(t, st, a.ID, "INBOX").HighestModSeq
	st.Expunge(ctx, inbox.ID, []uint32{3})
	for _, c := range []struct {
		since    uint64
		complete bool
		want     string
	}{{0, false, "[3]"}, {n0, false, "[3]"}, {n1, false, "[3]"}, {n2, true, "[3]"}} {
		got, complete, err := st.VanishedSince(ctx, inbox.ID, c.since)
		if err != nil || complete != c.complete || fmt.Sprint(got) != c.want {
			t.Errorf("vanished since %d after compaction: %v, complete %v, %v; want %s, complete %v", c.since, got, complete, err, c.want, c.complete)
		}
	}
	// Another mailbox's history is its own.
	arch := mailbox(t, st, a.ID, "Archive")
	appendMsgs(t, st, a.ID, "Archive", 1)
	st.Expunge(ctx, arch.ID, []uint32{1})
	if got, complete, _ := st.VanishedSince(ctx, arch.ID, 0); !complete || fmt.Sprint(got) != "[1]" {
		t.Errorf("Archive: %v, complete %v", got, complete)
	}
}

package storagetest

import (
	"context"
	"fmt"
	"testing"

	"postern/storage"
)

var eventTests = []test{
	{"MessageEvents", testMessageEvents},
	{"MailboxEvents", testMailboxEvents},
	{"EventsCarryModSeq", testEventsCarryModSeq},
}

// Every committed change reaches the subscriptions of its account, in
// commit order, with the origin of the writer; other accounts see none.
func testMessageEvents(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	other := newAccount(t, st, "b@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	trash := mailbox(t, st, a.ID, "Trash")
	sub := st.Subscribe(a.ID)
	defer sub.Close()
	subOther := st.Subscribe(other.ID)
	defer subOther.Close()

	origin := storage.NewOriginID()
	octx := storage.WithOrigin(ctx, origin)
	st.Append(octx, []storage.AppendItem{{AccountID: a.ID, Body: msg("a", "1")}, {AccountID: a.ID, Body: msg("b", "2")}})
	st.StoreFlags(octx, inbox.ID, []uint32{1, 2}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagSeen, Keywords: []string{"k"}})
	st.StoreFlags(octx, inbox.ID, []uint32{1, 2}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagSeen}) // no change: no event
	if _, err := st.Move(ctx, inbox.ID, []uint32{2}, trash.ID); err != nil {
		t.Fatal(err)
	}
	evs := drainUntil(t, sub, func(e []storage.Event) bool { return len(e) >= 4 })
	want := []storage.EventKind{storage.EventAppend, storage.EventFlags, storage.EventAppend, storage.EventExpunge}
	if kinds(evs) != kinds(eventsOf(want)) {
		t.Fatalf("events %s, want %s", kinds(evs), kinds(eventsOf(want)))
	}
	e := evs[0]
	if e.Origin != origin || fmt.Sprint(e.UIDs) != "[1 2]" || e.MailboxID != inbox.ID || e.Mailbox != "INBOX" || e.AccountID != a.ID {
		t.Errorf("append event %+v", e)
	}
	e = evs[1]
	if e.Origin != origin || fmt.Sprint(e.UIDs) != "[1 2]" || len(e.Flags) != 2 || len(e.ModSeqs) != 2 ||
		fmt.Sprint(e.Flags[1].Names()) != `[\Seen k]` || e.ModSeqs[0] == 0 {
		t.Errorf("flags event %+v", e)
	}
	if e := evs[2]; e.MailboxID != trash.ID || fmt.Sprint(e.UIDs) != "[1]" || e.Origin != 0 {
		t.Errorf("append event of the move %+v", e)
	}
	if e := evs[3]; e.MailboxID != inbox.ID || fmt.Sprint(e.UIDs) != "[2]" {
		t.Errorf("expunge event of the move %+v", e)
	}
	if subOther.Pending() != 0 {
		t.Error("another account saw the events")
	}
	for _, e := range evs {
		if e.Seq == 0 {
			t.Errorf("%s event without a change-log position", e.Kind)
		}
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Errorf("events out of log order: %d then %d", evs[i-1].Seq, evs[i].Seq)
		}
	}
}

func eventsOf(k []storage.EventKind) []storage.Event {
	out := make([]storage.Event, len(k))
	for i := range k {
		out[i].Kind = k[i]
	}
	return out
}

func testMailboxEvents(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	sub := st.Subscribe(a.ID)
	defer sub.Close()
	box, err := st.CreateMailbox(ctx, a.ID, "P", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateMailbox(ctx, a.ID, "P/C", ""); err != nil {
		t.Fatal(err)
	}
	appendMsgs(t, st, a.ID, "P", 2)
	if err := st.RenameMailbox(ctx, a.ID, "P", "Q"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMailbox(ctx, a.ID, "Q"); err != nil {
		t.Fatal(err)
	}
	evs := drainUntil(t, sub, func(e []storage.Event) bool { return len(e) >= 7 })
	want := []storage.EventKind{storage.EventMailboxCreate, storage.EventMailboxCreate, storage.EventAppend,
		storage.EventMailboxRename, storage.EventMailboxRename, storage.EventExpunge, storage.EventMailboxDelete}
	if kinds(evs) != kinds(eventsOf(want)) {
		t.Fatalf("events %s, want %s", kinds(evs), kinds(eventsOf(want)))
	}
	if e := evs[0]; e.MailboxID != box.ID || e.Mailbox != "P" {
		t.Errorf("create event %+v", e)
	}
	if e := evs[3]; e.MailboxID != box.ID || e.Mailbox != "P" || e.NewName != "Q" {
		t.Errorf("rename event %+v", e)
	}
	if e := evs[4]; e.Mailbox != "P/C" || e.NewName != "Q/C" {
		t.Errorf("rename event of the child %+v", e)
	}
	if e := evs[5]; e.MailboxID != box.ID || fmt.Sprint(e.UIDs) != "[1 2]" {
		t.Errorf("expunge event of the delete %+v", e)
	}
	if e := evs[6]; e.MailboxID != box.ID || e.Mailbox != "Q" {
		t.Errorf("delete event %+v", e)
	}
}

// Events of a mailbox carry the mailbox's HIGHESTMODSEQ after the change,
// which only grows.
func testEventsCarryModSeq(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	sub := st.Subscribe(a.ID)
	defer sub.Close()
	appendMsgs(t, st, a.ID, "INBOX", 2)
	st.StoreFlags(ctx, inbox.ID, []uint32{1}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagDeleted})
	st.Expunge(ctx, inbox.ID, nil)
	evs := drainUntil(t, sub, func(e []storage.Event) bool { return len(e) >= 3 })
	var last uint64
	for _, e := range evs {
		if e.ModSeq <= last {
			t.Errorf("%s event with MODSEQ %d after %d", e.Kind, e.ModSeq, last)
		}
		last = e.ModSeq
	}
	if m := mailbox(t, st, a.ID, "INBOX"); m.HighestModSeq != last {
		t.Errorf("HIGHESTMODSEQ %d, the last event said %d", m.HighestModSeq, last)
	}
	if evs[1].ModSeqs[0] != evs[1].ModSeq {
		t.Errorf("flags event: message MODSEQ %d, mailbox MODSEQ %d", evs[1].ModSeqs[0], evs[1].ModSeq)
	}
}

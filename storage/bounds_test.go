package storage

import (
	"context"
	"testing"
)

// The in-memory \Recent marks are kept per mailbox; a deleted mailbox's
// mark goes with it, so the map does not grow with every mailbox ever made.
func TestRecentMarksOfDeletedMailboxesGo(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	for _, name := range []string{"One", "Two", "Three"} {
		mb, err := st.CreateMailbox(ctx, a.ID, name, "")
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Append(ctx, []AppendItem{{AccountID: a.ID, Mailbox: name, Body: msg(name, name)}})
		if err != nil {
			t.Fatal(err)
		}
		if uids, err := st.ClaimRecent(ctx, mb.ID, []uint32{res[0].UID}); err != nil || len(uids) != 1 {
			t.Fatalf("claim in %s: %v, %v", name, uids, err)
		}
	}
	if n := st.recent.size(); n != 3 {
		t.Fatalf("%d marks, want 3", n)
	}
	if err := st.DeleteMailbox(ctx, a.ID, "One"); err != nil {
		t.Fatal(err)
	}
	if n := st.recent.size(); n != 2 {
		t.Errorf("%d marks after deleting a mailbox, want 2", n)
	}
	if err := st.DeleteAccount(ctx, a.Address); err != nil {
		t.Fatal(err)
	}
	if n := st.recent.size(); n != 0 {
		t.Errorf("%d marks after deleting the account, want 0", n)
	}
}

// A subscription that is not drained holds at most MaxQueuedEvents events
// and at most maxQueuedUIDs UIDs in them: events of huge STOREs or
// EXPUNGEs cannot make an idle session hold gigabytes.
func TestSubscriptionQueueIsBoundedInUIDs(t *testing.T) {
	bus := NewBus()
	sub := bus.Subscribe(1)
	defer sub.Close()
	big := make([]uint32, 64<<10)
	flags := make([]FlagSet, len(big))
	n := 0
	for !sub.Lost() {
		if n > maxQueuedUIDs/len(big)+1 {
			t.Fatalf("%d events of %d UIDs queued without loss", n, len(big))
		}
		bus.Publish([]Event{{Kind: EventFlags, AccountID: 1, UIDs: big, Flags: flags}})
		n++
	}
	if p := sub.Pending(); p != 0 {
		t.Errorf("%d events still queued after the loss", p)
	}
	// A single event larger than the bound is still delivered.
	huge := make([]uint32, maxQueuedUIDs+1)
	bus.Publish([]Event{{Kind: EventExpunge, AccountID: 1, UIDs: huge}})
	if sub.Lost() || sub.Pending() != 1 {
		t.Errorf("one huge event: lost %v, pending %d", sub.Lost(), sub.Pending())
	}
}

func (r *recentClaims) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.high)
}

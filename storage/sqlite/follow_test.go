package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"postern/storage"
)

// A server that did not read the log before the changes it missed were
// pruned (it was suspended, say) resyncs: its sessions are told that
// events were lost, so that they end their view or reload it, and those
// of accounts another process deleted meanwhile end. Nothing is shown
// from a log with a hole in it.
func TestPrunedFollowerResyncs(t *testing.T) {
	dir := t.TempDir()
	// It follows, but polls only when the test says.
	st, err := Open(dir, Options{Follow: true, FollowInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	b := newAccount(t, st, "b@example.test")
	subA := st.Subscribe(a.ID)
	defer subA.Close()
	subB := st.Subscribe(b.ID)
	defer subB.Close()

	peer, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if _, err := peer.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("missed", "x")}}); err != nil {
		t.Fatal(err)
	}
	if err := peer.DeleteAccount(ctx, b.Address); err != nil {
		t.Fatal(err)
	}
	last, _ := peer.LastChange(ctx)
	if err := peer.PruneChanges(ctx, last); err != nil {
		t.Fatal(err)
	}
	if err := st.feed.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if !subA.Lost() || subA.Pending() != 0 {
		t.Errorf("a's subscription after the resync: lost %v, %d events", subA.Lost(), subA.Pending())
	}
	if !errors.Is(subB.Err(), storage.ErrAccountDeleted) {
		t.Errorf("b's subscription after the resync: %v, want ended as deleted", subB.Err())
	}
	// From then on, changes arrive again, in order with the store's own.
	if _, err := peer.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("after", "y")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("own", "z")}}); err != nil {
		t.Fatal(err)
	}
	evs := subA.Drain()
	if len(evs) != 2 || evs[0].UIDs[0] != 2 || evs[1].UIDs[0] != 3 || subA.Lost() {
		t.Errorf("after the resync: %+v", evs)
	}
}

// A damaged entry of the log (a disk error, a hand edit) is read as
// unreadable: the follower resyncs past it instead of stopping there.
func TestDamagedChangeResyncs(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, Options{Follow: true, FollowInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	sub := st.Subscribe(a.ID)
	defer sub.Close()
	peer, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	for _, s := range []string{"one", "two"} {
		if _, err := peer.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg(s, s)}}); err != nil {
			t.Fatal(err)
		}
	}
	first, _ := peer.LastChange(ctx)
	if _, err := peer.wdb.Exec(`UPDATE changes SET data = X'07FFFF' WHERE seq = ?`, first-1); err != nil {
		t.Fatal(err)
	}
	ch, err := st.ChangesAfter(ctx, first-2, 10)
	if err != nil || len(ch) != 2 || ch[0].Kind != 0 || ch[1].Kind != storage.EventAppend {
		t.Fatalf("reading past the damaged entry: %+v, %v", ch, err)
	}
	if err := st.feed.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if !sub.Lost() {
		t.Error("no resync past the damaged entry")
	}
	if evs := sub.Drain(); len(evs) != 1 || evs[0].UIDs[0] != 2 {
		t.Errorf("after the damaged entry: %+v", evs)
	}
}

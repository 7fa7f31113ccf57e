package sqlite

import (
	"context"
	"sync"
	"testing"
	"time"

	"postern/storage"
)

// Lockouts written by one Store are seen, listed and lifted through
// another one on the same data directory, as by the CLI beside a server.
func TestAuthBlocksAcrossStores(t *testing.T) {
	dir := t.TempDir()
	srv, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cli, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	for _, b := range []storage.AuthBlock{
		{Source: "192.0.2.1", Account: "alice@example.test", Until: now.Add(15 * time.Minute), Failures: 8, Reason: "failed logins", Created: now},
		{Source: "192.0.2.1", Account: "", Until: now.Add(15 * time.Minute), Failures: 40, Reason: "failed logins", Created: now},
		{Source: "2001:db8::/64", Account: "", Until: now.Add(time.Minute), Failures: 10, Reason: "unknown recipients", Created: now},
		{Source: "192.0.2.9", Account: "", Until: now.Add(-time.Second), Failures: 10, Reason: "ended", Created: now.Add(-time.Hour)},
	} {
		if err := srv.PutAuthBlock(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	list, err := cli.AuthBlocks(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].Source != "192.0.2.1" || list[0].Account != "" || list[1].Account != "alice@example.test" ||
		list[2].Source != "2001:db8::/64" || list[2].Reason != "unknown recipients" || !list[2].Until.Equal(now.Add(time.Minute)) {
		t.Fatalf("blocks: %+v", list)
	}
	if ok, err := cli.AuthBlocked(ctx, "192.0.2.1", "ALICE@example.test", now); !ok || err != nil {
		t.Fatalf("AuthBlocked = %v, %v", ok, err)
	}
	if ok, _ := cli.AuthBlocked(ctx, "2001:db8::/64", "", now.Add(2*time.Minute)); ok {
		t.Fatal("an ended lock is in force")
	}
	if n, err := cli.DeleteAuthBlocks(ctx, "192.0.2.1", ""); n != 2 || err != nil {
		t.Fatalf("DeleteAuthBlocks = %d, %v", n, err)
	}
	if ok, _ := srv.AuthBlocked(ctx, "192.0.2.1", "alice@example.test", now); ok {
		t.Fatal("a lifted lock is in force")
	}
	if n, _ := cli.DeleteAuthBlocks(ctx, "192.0.2.1", ""); n != 0 {
		t.Fatalf("second unblock lifted %d", n)
	}
}

// WatchAccounts sees password changes, deletions and disables, and no
// mailbox traffic.
func TestWatchAccounts(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	var mu sync.Mutex
	var got []storage.Event
	stop := st.WatchAccounts(func(ev storage.Event) {
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	})
	if err := st.SetPassword(ctx, "A@example.test", "new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateMailbox(ctx, a.ID, "Work", ""); err != nil {
		t.Fatal(err)
	}
	if err := st.DisableAccount(ctx, "a@example.test"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteAccount(ctx, "a@example.test"); err != nil {
		t.Fatal(err)
	}
	stop()
	b := newAccount(t, st, "b@example.test")
	if err := st.SetPassword(ctx, "b@example.test", "other"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []storage.EventKind{storage.EventPasswordChange, storage.EventAccountDisable, storage.EventAccountDelete}
	if len(got) != len(want) {
		t.Fatalf("events %+v, want kinds %v", got, want)
	}
	for i, ev := range got {
		if ev.Kind != want[i] || ev.AccountID != a.ID {
			t.Fatalf("event %d: %+v, want kind %v of account %d (b is %d)", i, ev, want[i], a.ID, b.ID)
		}
	}
	// A session's subscription keeps nothing for a password change.
	sub := st.Subscribe(b.ID)
	defer sub.Close()
	if err := st.SetPassword(ctx, "b@example.test", "third"); err != nil {
		t.Fatal(err)
	}
	if n := sub.Pending(); n != 0 || ended(sub) {
		t.Fatalf("subscription after a password change: %d events, ended %v", n, ended(sub))
	}
}

package sqlite

import (
	"context"
	"testing"

	"postern/storage"
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
		res, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Mailbox: name, Body: msg(name, name)}})
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

func (r *recentClaims) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.high)
}

package sqlite

import (
	"context"
	"errors"
	"io"
	"testing"

	"postern/storage"
)

// Under WithAccount, an id of another account's mailbox or body reaches
// nothing: every read comes back empty or ErrNotFound and every write
// leaves the other account alone, whatever id the session got hold of.
func TestAccountScope(t *testing.T) {
	st := openTest(t)
	bg := context.Background()
	alice := newAccount(t, st, "alice@example.test")
	bob := newAccount(t, st, "bob@example.test")
	res, err := st.Append(bg, []storage.AppendItem{{AccountID: bob.ID, Body: msg("bob's", "bob's secret")}})
	if err != nil {
		t.Fatal(err)
	}
	bobBox, bobUID := res[0].MailboxID, res[0].UID
	bobBody := bodyIDOf(t, st, bobBox, bobUID)
	bobArchive := mailbox(t, st, bob.ID, "Archive")
	aliceInbox := mailbox(t, st, alice.ID, "INBOX")

	ctx := storage.WithAccount(bg, alice.ID)
	if ms, err := st.MessageUIDs(ctx, bobBox); err != nil || len(ms) != 0 {
		t.Errorf("MessageUIDs of bob's INBOX: %v, %v", ms, err)
	}
	if rows, err := st.FetchMessages(ctx, bobBox, []uint32{bobUID}, storage.FetchWant{Envelope: true, Header: true}); err != nil || len(rows) != 0 {
		t.Errorf("FetchMessages of bob's INBOX: %d rows, %v", len(rows), err)
	}
	if rows, err := st.SearchHeaders(ctx, bobBox, storage.SearchSubject); err != nil || len(rows) != 0 {
		t.Errorf("SearchHeaders of bob's INBOX: %v, %v", rows, err)
	}
	if _, err := st.MailboxStatus(ctx, bobBox); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("MailboxStatus of bob's INBOX: %v", err)
	}
	if _, err := st.OpenBody(ctx, bobBody); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("OpenBody of bob's body: %v", err)
	}
	if _, err := st.ReadBody(ctx, bobBody); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("ReadBody of bob's body: %v", err)
	}
	if _, err := st.OpenMessage(ctx, bobBox, bobUID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("OpenMessage in bob's INBOX: %v", err)
	}
	if uids, err := st.ClaimRecent(ctx, bobBox, nil); err != nil || len(uids) != 0 {
		t.Errorf("ClaimRecent of bob's INBOX: %v, %v", uids, err)
	}
	if _, err := st.StoreFlags(ctx, bobBox, []uint32{bobUID}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagDeleted}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("StoreFlags in bob's INBOX: %v", err)
	}
	if _, err := st.Copy(ctx, bobBox, []uint32{bobUID}, bobArchive.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Copy from bob's INBOX: %v", err)
	}
	if _, err := st.Move(ctx, bobBox, []uint32{bobUID}, bobArchive.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Move from bob's INBOX: %v", err)
	}
	if _, err := st.Expunge(ctx, bobBox, []uint32{bobUID}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Expunge in bob's INBOX: %v", err)
	}
	if _, err := st.Append(ctx, []storage.AppendItem{{AccountID: bob.ID, Body: msg("x", "planted")}}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Append to bob: %v", err)
	}

	// Bob's message is untouched.
	st2, err := st.MailboxStatus(bg, bobBox)
	if err != nil || st2.Messages != 1 || st2.Recent != 1 || st2.Deleted != 0 {
		t.Errorf("bob's INBOX after alice's attempts: %+v, %v", st2, err)
	}
	if s, _ := st.MailboxStatus(bg, bobArchive.ID); s.Messages != 0 {
		t.Errorf("bob's Archive got %d messages", s.Messages)
	}

	// Alice's own mail works as before under the scope.
	res, err = st.Append(ctx, []storage.AppendItem{{AccountID: alice.ID, Body: msg("alice's", "hers")}})
	if err != nil {
		t.Fatal(err)
	}
	if ms, err := st.MessageUIDs(ctx, aliceInbox.ID); err != nil || len(ms) != 1 {
		t.Errorf("alice's own INBOX: %v, %v", ms, err)
	}
	r, err := st.OpenMessage(ctx, aliceInbox.ID, res[0].UID)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(data) != string(msg("alice's", "hers").Bytes()) {
		t.Errorf("alice's message: %q, %v", data, err)
	}
	if _, err := st.ReadBody(ctx, bodyIDOf(t, st, aliceInbox.ID, res[0].UID)); err != nil {
		t.Errorf("ReadBody of alice's body: %v", err)
	}
	if _, err := st.Expunge(ctx, aliceInbox.ID, []uint32{res[0].UID}); err != nil {
		t.Errorf("alice's expunge: %v", err)
	}
}

package storagetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"postern/storage"
)

var mailboxTests = []test{
	{"MailboxHierarchy", testMailboxHierarchy},
	{"MailboxNames", testMailboxNames},
	{"RenameInbox", testRenameInbox},
	{"RenameInboxUnderItself", testRenameInboxUnderItself},
	{"DeleteMailbox", testDeleteMailbox},
	{"Subscriptions", testSubscriptions},
	{"RecentInRecreatedMailbox", testRecentInRecreatedMailbox},
}

func names(t testing.TB, st storage.Backend, acct int64) []string {
	t.Helper()
	mbs, err := st.Mailboxes(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range mbs {
		out = append(out, m.Name)
	}
	return out
}

// Renaming a mailbox renames its children (RFC 3501 §6.3.5), and only
// them: "Workshop" is no child of "Work".
func testMailboxHierarchy(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	for _, n := range []string{"Work", "Work/2024", "Work/2024/Q1", "Workshop"} {
		if _, err := st.CreateMailbox(ctx, a.ID, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	q1 := mailbox(t, st, a.ID, "Work/2024/Q1")
	appendMsgs(t, st, a.ID, "Work/2024/Q1", 2)
	if err := st.RenameMailbox(ctx, a.ID, "Work", "Jobs"); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(names(t, st, a.ID), ",")
	if !strings.Contains(got, "Jobs,Jobs/2024,Jobs/2024/Q1") || !strings.Contains(got, "Workshop") || strings.Contains(got, "Work/") {
		t.Errorf("after rename: %v", got)
	}
	// A renamed mailbox keeps its id, UIDVALIDITY and messages.
	moved := mailbox(t, st, a.ID, "Jobs/2024/Q1")
	if moved.ID != q1.ID || moved.UIDValidity != q1.UIDValidity {
		t.Errorf("renamed mailbox %+v, was %+v", moved, q1)
	}
	if s, err := st.MailboxStatus(ctx, moved.ID); err != nil || s.Messages != 2 {
		t.Errorf("renamed mailbox holds %+v, %v", s, err)
	}
	if err := st.RenameMailbox(ctx, a.ID, "Jobs", "Workshop"); !errors.Is(err, storage.ErrExists) {
		t.Errorf("rename onto an existing mailbox: %v", err)
	}
	if err := st.RenameMailbox(ctx, a.ID, "Jobs", "Jobs/x"); err == nil {
		t.Error("rename under itself accepted")
	}
	if err := st.RenameMailbox(ctx, a.ID, "Nothing", "Else"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("rename of a missing mailbox: %v", err)
	}
	if err := st.RenameMailbox(ctx, a.ID, "Workshop", "inbox"); !errors.Is(err, storage.ErrExists) {
		t.Errorf("rename to INBOX: %v", err)
	}
	// The other account's mailboxes of the same names are not touched.
	b := newAccount(t, st, "b@example.test")
	if _, err := st.CreateMailbox(ctx, b.ID, "Jobs", ""); err != nil {
		t.Fatal(err)
	}
	if err := st.RenameMailbox(ctx, a.ID, "Jobs", "Old"); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names(t, st, b.ID), "Jobs") {
		t.Error("renaming a's Jobs renamed b's")
	}
}

func testMailboxNames(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	for _, bad := range []string{"", "/x", "x/", "a//b", "a*", "b%", "c\x01", "d\x7f", "e/./f", "..", "\xff", strings.Repeat("x", 600)} {
		if _, err := st.CreateMailbox(ctx, a.ID, bad, ""); !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("CreateMailbox(%q) = %v", bad, err)
		}
		if err := st.RenameMailbox(ctx, a.ID, "Archive", bad); !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("RenameMailbox to %q = %v", bad, err)
		}
	}
	for _, n := range []string{"inbox", "InBox", "INBOX"} {
		if _, err := st.CreateMailbox(ctx, a.ID, n, ""); !errors.Is(err, storage.ErrExists) {
			t.Errorf("create %s: %v", n, err)
		}
	}
	if _, err := st.CreateMailbox(ctx, a.ID, "Archive", ""); !errors.Is(err, storage.ErrExists) {
		t.Errorf("create an existing mailbox: %v", err)
	}
	// INBOX is case-insensitive, also as the first level (RFC 3501 §5.1);
	// other names are not.
	m, err := st.CreateMailbox(ctx, a.ID, "inbox/Sub", "")
	if err != nil || m.Name != "INBOX/Sub" {
		t.Fatalf("create inbox/Sub = %+v, %v", m, err)
	}
	if got := mailbox(t, st, a.ID, "Inbox/Sub"); got.ID != m.ID {
		t.Errorf("INBOX/Sub by another case: %+v", got)
	}
	if _, err := st.Mailbox(ctx, a.ID, "archive"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a name other than INBOX in another case: %v", err)
	}
	if _, err := st.CreateMailbox(ctx, a.ID, "Ünïcödé/日本", `\Archive`); err != nil {
		t.Errorf("a UTF-8 name: %v", err)
	}
	if m := mailbox(t, st, a.ID, "Ünïcödé/日本"); m.SpecialUse != `\Archive` || m.UIDNext != 1 || m.UIDValidity == 0 {
		t.Errorf("new mailbox %+v", m)
	}
}

// RFC 3501 §6.3.5: renaming INBOX moves its messages to a new mailbox and
// leaves INBOX empty, with its UIDNEXT.
func testRenameInbox(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	appendMsgs(t, st, a.ID, "INBOX", 2)
	before := mailbox(t, st, a.ID, "INBOX")
	if err := st.RenameMailbox(ctx, a.ID, "inbox", "Old"); err != nil {
		t.Fatal(err)
	}
	inbox := mailbox(t, st, a.ID, "INBOX")
	old := mailbox(t, st, a.ID, "Old")
	s1, _ := st.MailboxStatus(ctx, inbox.ID)
	s2, _ := st.MailboxStatus(ctx, old.ID)
	if s1.Messages != 0 || s2.Messages != 2 || inbox.UIDNext != 3 || inbox.ID != before.ID || inbox.UIDValidity != before.UIDValidity {
		t.Errorf("inbox %+v, old %+v", s1, s2)
	}
	// New mail goes on with the next UID: none is given twice.
	res := appendMsgs(t, st, a.ID, "INBOX", 1)
	if res[0].UID != 3 {
		t.Errorf("UID after renaming INBOX = %d, want 3", res[0].UID)
	}
	if err := st.DeleteMailbox(ctx, a.ID, "inbox"); !errors.Is(err, storage.ErrInvalidName) {
		t.Errorf("delete INBOX: %v", err)
	}
}

func testRenameInboxUnderItself(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	appendMsgs(t, st, a.ID, "INBOX", 1)
	if err := st.RenameMailbox(ctx, a.ID, "INBOX", "INBOX/old"); err != nil {
		t.Fatalf("RenameMailbox(INBOX, INBOX/old): %v", err)
	}
	for name, want := range map[string]uint32{"INBOX": 0, "INBOX/old": 1} {
		ms, err := st.MailboxStatus(ctx, mailbox(t, st, a.ID, name).ID)
		if err != nil || ms.Messages != want {
			t.Fatalf("%s holds %d messages (%v), want %d", name, ms.Messages, err, want)
		}
	}
}

// Deleting a mailbox expunges its messages and leaves its children
// (RFC 3501 §6.3.4); the bodies only it held go.
func testDeleteMailbox(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	for _, n := range []string{"P", "P/C"} {
		if _, err := st.CreateMailbox(ctx, a.ID, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	res := appendMsgs(t, st, a.ID, "P", 2)
	body := bodyIDOf(t, st, res[0].MailboxID, res[0].UID)
	if err := st.DeleteMailbox(ctx, a.ID, "P"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, st, a.ID); slices.Contains(got, "P") || !slices.Contains(got, "P/C") {
		t.Errorf("after deleting P: %v", got)
	}
	if _, err := st.ReadBody(ctx, body); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a body of the deleted mailbox: %v", err)
	}
	if ms, err := st.MessageUIDs(ctx, res[0].MailboxID); err != nil || len(ms) != 0 {
		t.Errorf("messages of the deleted mailbox: %v, %v", ms, err)
	}
	if err := st.DeleteMailbox(ctx, a.ID, "P"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func testSubscriptions(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	// A name may be subscribed without existing (RFC 3501 §6.3.6).
	if err := st.SetSubscribed(ctx, a.ID, "Nonexistent", true); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSubscribed(ctx, a.ID, "Nonexistent", true); err != nil {
		t.Errorf("subscribing twice: %v", err)
	}
	if err := st.SetSubscribed(ctx, a.ID, "a//b", true); !errors.Is(err, storage.ErrInvalidName) {
		t.Errorf("subscribing a bad name: %v", err)
	}
	subs, _ := st.Subscriptions(ctx, a.ID)
	if !slices.Contains(subs, "Nonexistent") {
		t.Errorf("subscriptions = %v", subs)
	}
	if err := st.SetSubscribed(ctx, a.ID, "Nonexistent", false); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateMailbox(ctx, a.ID, "Box", ""); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSubscribed(ctx, a.ID, "Box", true); err != nil {
		t.Fatal(err)
	}
	// A subscription follows its mailbox's rename.
	if err := st.RenameMailbox(ctx, a.ID, "Box", "Renamed"); err != nil {
		t.Fatal(err)
	}
	subs, _ = st.Subscriptions(ctx, a.ID)
	if slices.Contains(subs, "Nonexistent") || slices.Contains(subs, "Box") || !slices.Contains(subs, "Renamed") {
		t.Errorf("subscriptions = %v", subs)
	}
}

// \Recent is kept per mailbox: a mailbox deleted and created again under
// the same name starts afresh, and its first session gets the new mail as
// \Recent (the claim of the old mailbox does not hide it).
func testRecentInRecreatedMailbox(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	if _, err := st.CreateMailbox(ctx, a.ID, "Box", ""); err != nil {
		t.Fatal(err)
	}
	res := appendMsgs(t, st, a.ID, "Box", 3)
	if got, err := st.ClaimRecent(ctx, res[0].MailboxID, []uint32{1, 2, 3}); err != nil || len(got) != 3 {
		t.Fatalf("claim in the first Box: %v, %v", got, err)
	}
	if err := st.DeleteMailbox(ctx, a.ID, "Box"); err != nil {
		t.Fatal(err)
	}
	again, err := st.CreateMailbox(ctx, a.ID, "Box", "")
	if err != nil {
		t.Fatal(err)
	}
	res = appendMsgs(t, st, a.ID, "Box", 1)
	if res[0].MailboxID != again.ID || res[0].UID != 1 {
		t.Fatalf("append to the new Box: %+v", res[0])
	}
	if s, _ := st.MailboxStatus(ctx, again.ID); s.Recent != 1 {
		t.Errorf("STATUS RECENT %d, want 1", s.Recent)
	}
	if got, err := st.ClaimRecent(ctx, again.ID, []uint32{1}); err != nil || len(got) != 1 {
		t.Errorf("the new Box's first session claims %v, %v; want [1]", got, err)
	}
}

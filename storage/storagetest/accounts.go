package storagetest

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"postern/storage"
)

var accountTests = []test{
	{"AccountLifecycle", testAccountLifecycle},
	{"DisableAndEnable", testDisableAndEnable},
	{"WatchAccountKeepsNoEvents", testWatchAccount},
	{"Aliases", testAliases},
	{"AccountScope", testAccountScope},
	{"IDsAreNeverReused", testIDsNeverReused},
}

func testAccountLifecycle(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "Alice@Example.TEST")
	if a.Address != "Alice@example.test" {
		t.Errorf("address = %q, want the domain lower-cased", a.Address)
	}
	if _, err := st.CreateAccount(ctx, "alice@example.test", "x"); !errors.Is(err, storage.ErrExists) {
		t.Errorf("duplicate account (other case): %v", err)
	}
	if _, err := st.CreateAccount(ctx, "bob@example.test", ""); err == nil {
		t.Error("empty password accepted")
	}
	if _, err := st.CreateAccount(ctx, "not-an-address", "x"); err == nil {
		t.Error("bad address accepted")
	}
	if got, err := st.Authenticate(ctx, "ALICE@example.test", Password); err != nil || got.ID != a.ID {
		t.Errorf("auth: %+v, %v", got, err)
	}
	for _, c := range [][2]string{{"alice@example.test", "wrong"}, {"nobody@example.test", Password}, {"alice@example.test", strings.Repeat("x", 5000)}, {"", ""}} {
		if _, err := st.Authenticate(ctx, c[0], c[1]); !errors.Is(err, storage.ErrAuthFailed) {
			t.Errorf("auth %.40q: %v", c, err)
		}
	}
	if err := st.SetPassword(ctx, "alice@example.test", "new"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Authenticate(ctx, "alice@example.test", "new"); err != nil {
		t.Errorf("auth after a new password: %v", err)
	}
	if _, err := st.Authenticate(ctx, "alice@example.test", Password); !errors.Is(err, storage.ErrAuthFailed) {
		t.Errorf("old password after a new one: %v", err)
	}
	if err := st.SetPassword(ctx, "nobody@example.test", "x"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("password of an unknown account: %v", err)
	}
	mbs, err := st.Mailboxes(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range mbs {
		got[m.Name] = m.SpecialUse
	}
	for _, d := range storage.DefaultMailboxes {
		if su, ok := got[d.Name]; !ok || su != d.SpecialUse {
			t.Errorf("default mailbox %s: present %v, special-use %q", d.Name, ok, su)
		}
	}
	subs, err := st.Subscriptions(ctx, a.ID)
	if err != nil || !slices.Contains(subs, "INBOX") {
		t.Errorf("default subscriptions %v, %v", subs, err)
	}
	if found, err := st.AccountByAddress(ctx, "alice@EXAMPLE.test"); err != nil || found.ID != a.ID {
		t.Errorf("AccountByAddress: %+v, %v", found, err)
	}
	list, err := st.Accounts(ctx)
	if err != nil || len(list) != 1 || list[0].ID != a.ID {
		t.Errorf("Accounts = %+v, %v", list, err)
	}
	if err := st.DeleteAccount(ctx, "alice@example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AccountByAddress(ctx, "alice@example.test"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted account found: %v", err)
	}
	if err := st.DeleteAccount(ctx, "alice@example.test"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if mbs, err := st.Mailboxes(ctx, a.ID); err != nil || len(mbs) != 0 {
		t.Errorf("mailboxes of a deleted account: %v, %v", mbs, err)
	}
}

// Disabling an account keeps it and its mail, ends its subscriptions and
// refuses its logins; enabling it undoes that. Deleting ends them too.
func testDisableAndEnable(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	other := newAccount(t, st, "other@example.test")
	appendMsgs(t, st, a.ID, "INBOX", 1)
	sub := st.Subscribe(a.ID)
	defer sub.Close()
	subOther := st.Subscribe(other.ID)
	defer subOther.Close()
	fired := make(chan struct{})
	sub.AfterEnd(func() { close(fired) })
	if ended(sub) || sub.Err() != nil {
		t.Fatal("a new subscription is ended")
	}

	if err := st.DisableAccount(ctx, "A@example.test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "AfterEnd did not run after DisableAccount", func() bool {
		select {
		case <-fired:
			return true
		default:
			return false
		}
	})
	if !ended(sub) || !errors.Is(sub.Err(), storage.ErrAccountDisabled) {
		t.Errorf("after DisableAccount: ended %v, Err %v", ended(sub), sub.Err())
	}
	if ended(subOther) {
		t.Error("another account's subscription ended")
	}
	if got, err := st.AccountByAddress(ctx, "a@example.test"); err != nil || !got.Disabled {
		t.Errorf("disabled account reads %+v, %v", got, err)
	}
	if _, err := st.Authenticate(ctx, "a@example.test", Password); !errors.Is(err, storage.ErrAccountDisabled) {
		t.Errorf("login of a disabled account: %v, want ErrAccountDisabled", err)
	}
	if _, err := st.Authenticate(ctx, "a@example.test", "wrong"); !errors.Is(err, storage.ErrAuthFailed) {
		t.Errorf("wrong password of a disabled account: %v (must not say more than a failure)", err)
	}
	late := st.Subscribe(a.ID)
	if !ended(late) || !errors.Is(late.Err(), storage.ErrAccountDisabled) {
		t.Errorf("subscription made after the disable: ended %v, Err %v", ended(late), late.Err())
	}
	late.Close()
	inbox := mailbox(t, st, a.ID, "INBOX")
	if s, err := st.MailboxStatus(ctx, inbox.ID); err != nil || s.Messages != 1 {
		t.Errorf("the mail of a disabled account: %+v, %v", s, err)
	}

	if err := st.EnableAccount(ctx, "a@example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Authenticate(ctx, "a@example.test", Password); err != nil {
		t.Errorf("login after enable: %v", err)
	}
	again := st.Subscribe(a.ID)
	defer again.Close()
	if ended(again) {
		t.Error("subscription after enable is ended")
	}
	for _, f := range []func(context.Context, string) error{st.DisableAccount, st.EnableAccount} {
		if err := f(ctx, "nobody@example.test"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("disable/enable of an unknown account: %v", err)
		}
	}

	if err := st.DeleteAccount(ctx, "a@example.test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the subscription did not end with DeleteAccount", func() bool { return ended(again) })
	if !errors.Is(again.Err(), storage.ErrAccountDeleted) {
		t.Errorf("after DeleteAccount: Err %v", again.Err())
	}
	gone := st.Subscribe(a.ID)
	defer gone.Close()
	if !errors.Is(gone.Err(), storage.ErrAccountDeleted) {
		t.Errorf("subscription to a deleted account: %v", gone.Err())
	}
}

// WatchAccount is for sessions that show no mailbox: it keeps no events,
// however much mail arrives, and still ends with the account.
func testWatchAccount(t *testing.T, h Harness) {
	st := h.Open(t)
	a := newAccount(t, st, "a@example.test")
	w := st.WatchAccount(a.ID)
	defer w.Close()
	appendMsgs(t, st, a.ID, "INBOX", 5)
	if n := w.Pending(); n != 0 {
		t.Errorf("a watch holds %d events", n)
	}
	if err := st.DeleteAccount(context.Background(), a.Address); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watch did not end with the account", func() bool { return ended(w) })
}

func testAliases(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	if err := st.AddAlias(ctx, "team@Example.test", []string{"a@example.test", "b@EXAMPLE.test"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddAlias(ctx, "team@example.test", []string{"b@example.test", "c@example.test"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddAlias(ctx, "@example.test", []string{"a@example.test"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{{"x@example.test"}, {"@"}, {"@", "a@example.test"}, {"loop@example.test", "LOOP@example.test"}, {"no-target@example.test"}, {"x@example.test", "not an address"}} {
		if err := st.AddAlias(ctx, bad[0], bad[1:]); err == nil {
			t.Errorf("AddAlias(%q) accepted", bad)
		}
	}
	tg, err := st.AliasTargets(ctx, "TEAM@example.test")
	if err != nil || strings.Join(tg, ",") != "a@example.test,b@example.test,c@example.test" {
		t.Fatalf("targets = %v, %v", tg, err)
	}
	if tg, err := st.AliasTargets(ctx, "@EXAMPLE.test"); err != nil || len(tg) != 1 {
		t.Errorf("catch-all targets = %v, %v", tg, err)
	}
	list, err := st.Aliases(ctx)
	if err != nil || len(list) != 2 || list[0].Address != "@example.test" || list[1].Address != "team@example.test" || len(list[1].Targets) != 3 {
		t.Errorf("aliases = %+v, %v", list, err)
	}
	if err := st.DeleteAlias(ctx, "team@example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AliasTargets(ctx, "team@example.test"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted alias: %v", err)
	}
	if err := st.DeleteAlias(ctx, "team@example.test"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

// Under WithAccount, an id of another account's mailbox or body reaches
// nothing: every read comes back empty or ErrNotFound and every write
// leaves the other account alone, whatever id the session got hold of.
func testAccountScope(t *testing.T, h Harness) {
	st := h.Open(t)
	bg := context.Background()
	alice := newAccount(t, st, "alice@example.test")
	bob := newAccount(t, st, "bob@example.test")
	res := appendMsgs(t, st, bob.ID, "INBOX", 1)
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
	var headers int
	if err := st.EachHeader(ctx, bobBox, []uint32{bobUID}, 1000, func(uint32, []byte) error { headers++; return nil }); err != nil || headers != 0 {
		t.Errorf("EachHeader of bob's INBOX: %d headers, %v", headers, err)
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
	if uids, err := st.ClaimRecent(ctx, bobBox, []uint32{bobUID}); err != nil || len(uids) != 0 {
		t.Errorf("ClaimRecent of bob's message: %v, %v", uids, err)
	}
	if _, err := st.StoreFlags(ctx, bobBox, []uint32{bobUID}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagDeleted}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("StoreFlags in bob's INBOX: %v", err)
	}
	if _, err := st.Copy(ctx, bobBox, []uint32{bobUID}, bobArchive.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Copy from bob's INBOX: %v", err)
	}
	if _, err := st.Copy(ctx, aliceInbox.ID, []uint32{1}, bobArchive.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Copy into bob's Archive: %v", err)
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
	s, err := st.MailboxStatus(bg, bobBox)
	if err != nil || s.Messages != 1 || s.Recent != 1 || s.Deleted != 0 {
		t.Errorf("bob's INBOX after alice's attempts: %+v, %v", s, err)
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

// A live session holds ids: the account it logged in as, the mailbox it
// selected, the body it is streaming. An id handed out again would point
// that session at another account's data, so no id is ever given twice,
// also when the newest row is the one deleted.
func testIDsNeverReused(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	newAccount(t, st, "a@example.test")
	dave := newAccount(t, st, "dave@example.test")
	daveBoxes := map[int64]bool{}
	mbs, err := st.Mailboxes(ctx, dave.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mbs {
		daveBoxes[m.ID] = true
	}
	res := appendMsgs(t, st, dave.ID, "INBOX", 1)
	daveBody := bodyIDOf(t, st, res[0].MailboxID, res[0].UID)
	if err := st.DeleteAccount(ctx, dave.Address); err != nil {
		t.Fatal(err)
	}
	erin := newAccount(t, st, "erin@example.test")
	if erin.ID == dave.ID {
		t.Errorf("erin got dave's account id %d", erin.ID)
	}
	mbs, err = st.Mailboxes(ctx, erin.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mbs {
		if daveBoxes[m.ID] {
			t.Errorf("erin's %s got the id %d of one of dave's mailboxes", m.Name, m.ID)
		}
	}
	res, err = st.Append(ctx, []storage.AppendItem{{AccountID: erin.ID, Body: msg("erin's", "only erin may read this")}})
	if err != nil {
		t.Fatal(err)
	}
	if b := bodyIDOf(t, st, res[0].MailboxID, res[0].UID); b == daveBody {
		t.Errorf("erin's body got dave's body id %d", b)
	}
	// A stale id finds nothing.
	if _, err := st.ReadBody(ctx, daveBody); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("dave's body after his account went: %v", err)
	}

	// A mailbox deleted and created again under the same name.
	old, err := st.CreateMailbox(ctx, erin.ID, "Projects", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMailbox(ctx, erin.ID, "Projects"); err != nil {
		t.Fatal(err)
	}
	again, err := st.CreateMailbox(ctx, erin.ID, "Projects", "")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID == old.ID || again.UIDValidity == old.UIDValidity {
		t.Errorf("re-created mailbox got id %d and UIDVALIDITY %d; the deleted one had %d and %d", again.ID, again.UIDValidity, old.ID, old.UIDValidity)
	}
	if _, err := st.MailboxStatus(ctx, old.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the deleted mailbox's id: %v", err)
	}

	// Queue entries: their ids are what admins name in "postern queue".
	q := storage.QueueItem{From: "erin@example.test", Body: msg("out", "to a remote"), Recipients: []storage.QueueRecipient{{Address: "x@remote.test"}}}
	if err := st.Enqueue(ctx, q); err != nil {
		t.Fatal(err)
	}
	list, err := st.QueueList(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("queue %v, %v", list, err)
	}
	first := list[0].ID
	if err := st.QueueDrop(ctx, first, storage.Notice{}); err != nil {
		t.Fatal(err)
	}
	if err := st.Enqueue(ctx, q); err != nil {
		t.Fatal(err)
	}
	list, err = st.QueueList(ctx)
	if err != nil || len(list) != 1 || list[0].ID == first {
		t.Errorf("queue after a drop and a new entry: %+v (dropped id %d), %v", list, first, err)
	}
}

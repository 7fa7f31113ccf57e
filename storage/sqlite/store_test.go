package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/storage"
)

func openTest(t testing.TB) *Store {
	t.Helper()
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newAccount(t testing.TB, st *Store, addr string) storage.Account {
	t.Helper()
	a, err := st.CreateAccount(context.Background(), addr, "secret")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func msg(subject, body string) *storage.Body {
	return storage.NewBody([]byte("From: a@example.test\r\nTo: b@example.test\r\nSubject: " + subject + "\r\n\r\n" + body + "\r\n"))
}

func mailbox(t testing.TB, st *Store, acct int64, name string) storage.Mailbox {
	t.Helper()
	m, err := st.Mailbox(context.Background(), acct, name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAccountLifecycle(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "Alice@Example.TEST")
	if a.Address != "Alice@example.test" {
		t.Errorf("address = %q", a.Address)
	}
	if _, err := st.CreateAccount(ctx, "alice@example.test", "x"); !errors.Is(err, storage.ErrExists) {
		t.Errorf("duplicate account: %v", err)
	}
	if _, err := st.CreateAccount(ctx, "bob@example.test", ""); err == nil {
		t.Error("empty password accepted")
	}
	if _, err := st.CreateAccount(ctx, "not-an-address", "x"); err == nil {
		t.Error("bad address accepted")
	}
	if _, err := st.Authenticate(ctx, "alice@example.test", "secret"); err != nil {
		t.Errorf("auth: %v", err)
	}
	for _, c := range [][2]string{{"alice@example.test", "wrong"}, {"nobody@example.test", "secret"}, {"alice@example.test", strings.Repeat("x", 5000)}} {
		if _, err := st.Authenticate(ctx, c[0], c[1]); !errors.Is(err, storage.ErrAuthFailed) {
			t.Errorf("auth %v: %v", c, err)
		}
	}
	if err := st.SetPassword(ctx, "alice@example.test", "new"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Authenticate(ctx, "alice@example.test", "new"); err != nil {
		t.Errorf("auth after passwd: %v", err)
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
			t.Errorf("default mailbox %s: present=%v special-use=%q", d.Name, ok, su)
		}
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
}

func TestAliases(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	if err := st.AddAlias(ctx, "team@example.test", []string{"a@example.test", "b@example.test"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddAlias(ctx, "@example.test", []string{"a@example.test"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{{"x@example.test"}, {"@"}, {"loop@example.test", "loop@example.test"}, {"no-target@example.test"}} {
		if err := st.AddAlias(ctx, bad[0], bad[1:]); err == nil {
			t.Errorf("AddAlias(%v) accepted", bad)
		}
	}
	tg, err := st.AliasTargets(ctx, "TEAM@example.test")
	if err != nil || len(tg) != 2 {
		t.Fatalf("targets = %v, %v", tg, err)
	}
	list, _ := st.Aliases(ctx)
	if len(list) != 2 {
		t.Errorf("aliases = %v", list)
	}
	if err := st.DeleteAlias(ctx, "team@example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AliasTargets(ctx, "team@example.test"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted alias: %v", err)
	}
}

func TestConcurrentAppendsGiveUniqueIncreasingUIDs(t *testing.T) {
	st := openTest(t)
	a := newAccount(t, st, "a@example.test")
	const workers, each = 16, 40
	var mu sync.Mutex
	var all []uint32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			last := uint32(0)
			for i := 0; i < each; i++ {
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
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for _, u := range all {
		if seen[u] {
			t.Fatalf("uid %d given twice", u)
		}
		seen[u] = true
	}
	inbox := mailbox(t, st, a.ID, "INBOX")
	if inbox.UIDNext != workers*each+1 {
		t.Errorf("uidnext = %d", inbox.UIDNext)
	}
	states, _ := st.MessageUIDs(context.Background(), inbox.ID)
	if len(states) != workers*each {
		t.Errorf("%d messages stored", len(states))
	}
}

func TestUIDsNeverReused(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	for i := 0; i < 3; i++ {
		st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("s", fmt.Sprint(i))}})
	}
	if _, err := st.StoreFlags(ctx, inbox.ID, []uint32{3}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagDeleted}); err != nil {
		t.Fatal(err)
	}
	gone, err := st.Expunge(ctx, inbox.ID, nil)
	if err != nil || len(gone) != 1 || gone[0] != 3 {
		t.Fatalf("expunge = %v, %v", gone, err)
	}
	res, _ := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("s", "new")}})
	if res[0].UID != 4 {
		t.Errorf("uid after expunge of the last = %d, want 4", res[0].UID)
	}
	// A mailbox created again under an old name gets a new UIDVALIDITY.
	m1, _ := st.CreateMailbox(ctx, a.ID, "Work", "")
	st.DeleteMailbox(ctx, a.ID, "Work")
	m2, _ := st.CreateMailbox(ctx, a.ID, "Work", "")
	if m1.UIDValidity == m2.UIDValidity {
		t.Error("UIDVALIDITY reused")
	}
}

func countRows(t testing.TB, st *Store, table string) int {
	var n int
	if err := st.rdb.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCopyStoresBodyOnce(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	arch := mailbox(t, st, a.ID, "Archive")
	st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("one", "body"), Flags: storage.FlagSet{System: storage.FlagFlagged, Keywords: []string{"$Work"}}}})
	res, err := st.Copy(ctx, inbox.ID, []uint32{1}, arch.ID)
	if err != nil || len(res.DstUIDs) != 1 || res.UIDValidity != arch.UIDValidity {
		t.Fatalf("copy = %+v, %v", res, err)
	}
	if n := countRows(t, st, "bodies"); n != 1 {
		t.Errorf("%d bodies after copy, want 1", n)
	}
	// The same message delivered again is not stored twice either.
	st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("one", "body")}})
	if n := countRows(t, st, "bodies"); n != 1 {
		t.Errorf("%d bodies after re-delivery, want 1", n)
	}
	got, _ := st.FetchMessages(ctx, arch.ID, res.DstUIDs, storage.FetchWant{})
	if len(got) != 1 || !got[0].Flags.Has(storage.FlagFlagged) || !got[0].Flags.HasKeyword("$work") {
		t.Errorf("copy lost flags: %+v", got)
	}
	// Expunging every reference removes the body.
	st.Expunge(ctx, inbox.ID, []uint32{1, 2})
	if n := countRows(t, st, "bodies"); n != 1 {
		t.Errorf("%d bodies while one copy remains, want 1", n)
	}
	st.Expunge(ctx, arch.ID, res.DstUIDs)
	if n := countRows(t, st, "bodies") + countRows(t, st, "body_chunks"); n != 0 {
		t.Errorf("%d body rows left after expunging every copy", n)
	}
}

func TestMoveAndEvents(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	other := newAccount(t, st, "b@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	trash := mailbox(t, st, a.ID, "Trash")
	sub := st.Subscribe(a.ID)
	defer sub.Close()
	subOther := st.Subscribe(other.ID)
	defer subOther.Close()

	octx := storage.WithOrigin(ctx, 42)
	st.Append(octx, []storage.AppendItem{{AccountID: a.ID, Body: msg("a", "1")}, {AccountID: a.ID, Body: msg("b", "2")}})
	st.StoreFlags(octx, inbox.ID, []uint32{1, 2}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagSeen})
	st.StoreFlags(octx, inbox.ID, []uint32{1, 2}, storage.FlagsAdd, storage.FlagSet{System: storage.FlagSeen}) // no change: no event
	res, err := st.Move(ctx, inbox.ID, []uint32{2}, trash.ID)
	if err != nil || len(res.DstUIDs) != 1 {
		t.Fatalf("move: %+v %v", res, err)
	}
	select {
	case <-sub.Ready():
	case <-time.After(time.Second):
		t.Fatal("no wake-up")
	}
	evs := sub.Drain()
	kinds := []storage.EventKind{}
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	want := []storage.EventKind{storage.EventAppend, storage.EventFlags, storage.EventAppend, storage.EventExpunge}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	if evs[0].Origin != 42 || len(evs[0].UIDs) != 2 || evs[3].Origin != 0 || evs[3].UIDs[0] != 2 || evs[2].MailboxID != trash.ID {
		t.Errorf("events = %+v", evs)
	}
	if subOther.Pending() != 0 {
		t.Error("another account saw the events")
	}
	states, _ := st.MessageUIDs(ctx, inbox.ID)
	if len(states) != 1 || states[0].UID != 1 || !states[0].Flags.Has(storage.FlagSeen) {
		t.Errorf("inbox after move = %+v", states)
	}
}

func TestFlagsAndModSeq(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("a", "1"), Flags: storage.ParseFlags([]string{`\seen`, "Junk", `\Recent`})}})
	s0, _ := st.MessageUIDs(ctx, inbox.ID)
	if !s0[0].Flags.Has(storage.FlagSeen) || fmt.Sprint(s0[0].Flags.Keywords) != "[Junk]" || !s0[0].Recent {
		t.Fatalf("appended flags = %+v", s0[0])
	}
	ch, _ := st.StoreFlags(ctx, inbox.ID, []uint32{1}, storage.FlagsAdd, storage.ParseFlags([]string{"junk", "$Label1", `\Answered`}))
	if len(ch) != 1 || fmt.Sprint(ch[0].Flags.Names()) != `[\Seen \Answered $Label1 Junk]` || ch[0].ModSeq <= s0[0].ModSeq {
		t.Fatalf("add = %+v", ch)
	}
	ch, _ = st.StoreFlags(ctx, inbox.ID, []uint32{1}, storage.FlagsRemove, storage.ParseFlags([]string{"JUNK", `\Seen`}))
	if fmt.Sprint(ch[0].Flags.Names()) != `[\Answered $Label1]` {
		t.Fatalf("remove = %+v", ch)
	}
	ch, _ = st.StoreFlags(ctx, inbox.ID, []uint32{1, 99}, storage.FlagsReplace, storage.ParseFlags([]string{`\Draft`}))
	if len(ch) != 1 || fmt.Sprint(ch[0].Flags.Names()) != `[\Draft]` {
		t.Fatalf("replace = %+v", ch)
	}
	st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("b", "2")}, {AccountID: a.ID, Body: msg("c", "3")}})
	if r, _ := st.ClaimRecent(ctx, inbox.ID, []uint32{3, 99}); fmt.Sprint(r) != "[3]" {
		t.Errorf("claim of uid 3 = %v", r)
	}
	r, _ := st.ClaimRecent(ctx, inbox.ID, nil)
	r2, _ := st.ClaimRecent(ctx, inbox.ID, nil)
	if fmt.Sprint(r) != "[1 2]" || len(r2) != 0 {
		t.Errorf("recent claimed %v then %v", r, r2)
	}
	stt, _ := st.MailboxStatus(ctx, inbox.ID)
	if stt.Messages != 3 || stt.Unseen != 3 || stt.Recent != 0 || stt.HighestModSeq < ch[0].ModSeq {
		t.Errorf("status = %+v", stt)
	}
}

func TestMailboxRenameAndDelete(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	for _, n := range []string{"Work", "Work/2024", "Work/2024/Q1", "Workshop"} {
		if _, err := st.CreateMailbox(ctx, a.ID, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{"", "/x", "x/", "a//b", "a*", "b%", "c\x01", strings.Repeat("x", 600)} {
		if _, err := st.CreateMailbox(ctx, a.ID, bad, ""); !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("CreateMailbox(%q) = %v", bad, err)
		}
	}
	if _, err := st.CreateMailbox(ctx, a.ID, "inbox", ""); !errors.Is(err, storage.ErrExists) {
		t.Errorf("create inbox: %v", err)
	}
	if err := st.RenameMailbox(ctx, a.ID, "Work", "Jobs"); err != nil {
		t.Fatal(err)
	}
	mbs, _ := st.Mailboxes(ctx, a.ID)
	names := []string{}
	for _, m := range mbs {
		names = append(names, m.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "Jobs,Jobs/2024,Jobs/2024/Q1") || !strings.Contains(strings.Join(names, ","), "Workshop") {
		t.Errorf("after rename: %v", names)
	}
	if err := st.RenameMailbox(ctx, a.ID, "Jobs", "Workshop"); !errors.Is(err, storage.ErrExists) {
		t.Errorf("rename onto existing: %v", err)
	}
	if err := st.RenameMailbox(ctx, a.ID, "Jobs", "Jobs/x"); err == nil {
		t.Error("rename under itself accepted")
	}
	// RFC 3501 §6.3.5: renaming INBOX moves its messages and leaves it empty.
	st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("a", "1")}, {AccountID: a.ID, Body: msg("b", "2")}})
	if err := st.RenameMailbox(ctx, a.ID, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	inbox := mailbox(t, st, a.ID, "inbox")
	old := mailbox(t, st, a.ID, "Old")
	s1, _ := st.MailboxStatus(ctx, inbox.ID)
	s2, _ := st.MailboxStatus(ctx, old.ID)
	if s1.Messages != 0 || s2.Messages != 2 || inbox.UIDNext != 3 {
		t.Errorf("inbox %+v old %+v", s1, s2)
	}
	if err := st.DeleteMailbox(ctx, a.ID, "INBOX"); err == nil {
		t.Error("INBOX deleted")
	}
	if err := st.DeleteMailbox(ctx, a.ID, "Old"); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, st, "bodies"); n != 0 {
		t.Errorf("%d bodies after deleting their only mailbox", n)
	}
	st.SetSubscribed(ctx, a.ID, "Nonexistent", true)
	subs, _ := st.Subscriptions(ctx, a.ID)
	if !strings.Contains(strings.Join(subs, ","), "Nonexistent") {
		t.Errorf("subscriptions = %v", subs)
	}
}

func TestLargeBodyReadInChunks(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	var raw bytes.Buffer
	raw.WriteString("Subject: big\n\n")
	for raw.Len() < 3*chunkSize+1000 {
		raw.WriteString("0123456789abcdefghijklmnopqrstuvwxyz\n") // bare LF: stored as CRLF
	}
	body, err := storage.PrepareBody(bytes.NewReader(raw.Bytes()), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.ReplaceAll(raw.Bytes(), []byte("\n"), []byte("\r\n"))
	if !bytes.Equal(body.Bytes(), want) {
		t.Fatal("CRLF normalisation is wrong")
	}
	st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: body}})
	inbox := mailbox(t, st, a.ID, "INBOX")
	m, _ := st.FetchMessages(ctx, inbox.ID, []uint32{1}, storage.FetchWant{Header: true, Envelope: true, Structure: true})
	if len(m) != 1 || m[0].Size != int64(len(want)) || string(m[0].Header) != "Subject: big\r\n\r\n" || len(m[0].Envelope) == 0 || len(m[0].BodyStructure) == 0 {
		t.Fatalf("fetch = %+v", m)
	}
	if n := countRows(t, st, "body_chunks"); n != 4 {
		t.Errorf("%d chunks, want 4", n)
	}
	r, _ := st.OpenBody(ctx, m[0].BodyID)
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	part := make([]byte, 100)
	if _, err := r.ReadAt(part, chunkSize-50); err != nil || !bytes.Equal(part, want[chunkSize-50:chunkSize+50]) {
		t.Errorf("ReadAt across a chunk boundary: %v", err)
	}
	if _, err := storage.PrepareBody(bytes.NewReader(raw.Bytes()), 1000); !errors.Is(err, storage.ErrTooBig) {
		t.Errorf("size cap: %v", err)
	}
}

func TestPrepareBodyLineEndings(t *testing.T) {
	for in, want := range map[string]string{
		"a\nb":       "a\r\nb",
		"a\rb\r":     "a\r\nb\r\n",
		"a\r\nb\r\n": "a\r\nb\r\n",
		"\r\r\n\n":   "\r\n\r\n\r\n",
		"":           "",
	} {
		b, err := storage.PrepareBody(strings.NewReader(in), 0)
		if err != nil || string(b.Bytes()) != want {
			t.Errorf("PrepareBody(%q) = %q, %v; want %q", in, b.Bytes(), err, want)
		}
	}
}

func TestMigrationsOnExistingDatabase(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := newAccount(t, st, "a@example.test")
	st.Append(context.Background(), []storage.AppendItem{{AccountID: a.ID, Body: msg("keep", "me")}})
	st.Close()
	// Reopening runs the migration step again over a populated database.
	st, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var v int
	st.rdb.QueryRow("PRAGMA user_version").Scan(&v)
	if v != len(migrations) {
		t.Errorf("user_version = %d", v)
	}
	inbox := mailbox(t, st, a.ID, "INBOX")
	if s, _ := st.MailboxStatus(context.Background(), inbox.ID); s.Messages != 1 {
		t.Errorf("messages after reopen = %d", s.Messages)
	}
	var sync int
	st.wdb.QueryRow("PRAGMA synchronous").Scan(&sync)
	var mode string
	st.wdb.QueryRow("PRAGMA journal_mode").Scan(&mode)
	if sync != 2 || mode != "wal" {
		t.Errorf("synchronous=%d journal_mode=%s, want 2 (FULL) and wal", sync, mode)
	}
	// A database from a newer version is refused, not damaged.
	st.wdb.Exec("PRAGMA user_version = 999")
	if err := migrate(st.wdb, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("newer schema: %v", err)
	}
	st.wdb.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)))
}

func TestBadDataDir(t *testing.T) {
	if _, err := Open("/proc/postern-cannot-exist", Options{}); err == nil || !strings.Contains(err.Error(), "data_dir") {
		t.Errorf("Open on an unwritable dir: %v", err)
	}
}

func TestGroupCommitIsolatesFailures(t *testing.T) {
	st := openTest(t)
	a := newAccount(t, st, "a@example.test")
	var wg sync.WaitGroup
	results := make([]error, 20)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			mb := ""
			if i%2 == 1 {
				mb = "NoSuchMailbox"
			}
			_, results[i] = st.Append(context.Background(), []storage.AppendItem{{AccountID: a.ID, Mailbox: mb, Body: msg("x", fmt.Sprint(i))}})
		}(i)
	}
	wg.Wait()
	for i, err := range results {
		if (i%2 == 1) != errors.Is(err, storage.ErrNotFound) {
			t.Errorf("request %d: %v", i, err)
		}
	}
	inbox := mailbox(t, st, a.ID, "INBOX")
	if s, _ := st.MailboxStatus(context.Background(), inbox.ID); s.Messages != 10 {
		t.Errorf("%d messages, want 10", s.Messages)
	}
}

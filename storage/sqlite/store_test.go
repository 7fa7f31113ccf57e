package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

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

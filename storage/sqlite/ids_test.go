package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"postern/storage"
)

func bodyIDOf(t *testing.T, st *Store, mailboxID int64, uid uint32) int64 {
	t.Helper()
	rows, err := st.FetchMessages(context.Background(), mailboxID, []uint32{uid}, storage.FetchWant{})
	if err != nil || len(rows) != 1 {
		t.Fatalf("fetch uid %d: %v %v", uid, rows, err)
	}
	return rows[0].BodyID
}

// A store made before ids were kept unique is rebuilt in place: every row,
// index and foreign key survives, and ids continue above the highest one.
func TestMigrationToUniqueIDsKeepsData(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DBFile)
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	old, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	old.SetMaxOpenConns(1)
	// The store as it was before the migration that made ids unique.
	before := len(migrations) - 1
	for i, m := range migrations[:before] {
		if _, err := old.Exec(m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	for _, s := range []string{
		fmt.Sprintf(`PRAGMA user_version = %d`, before),
		`INSERT INTO accounts(id, address, password_hash, created) VALUES (1, 'a@example.test', 'x', 1), (5, 'e@example.test', 'y', 2)`,
		`INSERT INTO mailboxes(id, account_id, name, uidvalidity, uidnext) VALUES (3, 1, 'INBOX', 100, 2), (9, 5, 'INBOX', 101, 1), (4, 5, 'Sent', 102, 1)`,
		`INSERT INTO bodies(id, hash, size, header_len, refs, header, envelope, body, bodystructure) VALUES (7, x'01', 4, 2, 2, 'h', 'e', 'b', 's')`,
		`INSERT INTO body_chunks(body_id, n, data) VALUES (7, 0, 'data')`,
		`INSERT INTO body_search(body_id, subject) VALUES (7, 'hello')`,
		`INSERT INTO messages(mailbox_id, uid, modseq, internal_date, size, body_id) VALUES (3, 1, 2, 1, 4, 7)`,
		`INSERT INTO queue(id, domain, sender, body_id, created, next_attempt, origin) VALUES (12, 'remote.test', 'a@example.test', 7, 1, 1, 1)`,
		`INSERT INTO queue_rcpts(queue_id, n, address) VALUES (12, 0, 'x@remote.test')`,
	} {
		if _, err := old.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	old.Close()

	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	var schema string
	if err := st.rdb.QueryRow(`SELECT group_concat(sql, char(10)) FROM sqlite_master WHERE name IN ('accounts','mailboxes','bodies','queue')`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(schema, "AUTOINCREMENT"); n != 4 {
		t.Errorf("%d tables with AUTOINCREMENT, want 4:\n%s", n, schema)
	}
	for _, idx := range []string{"messages_body", "messages_recent", "queue_due"} {
		var n int
		st.rdb.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type='index' AND name=?`, idx).Scan(&n)
		if n != 1 {
			t.Errorf("index %s is missing", idx)
		}
	}
	if data, err := st.ReadBody(ctx, 7); err != nil || string(data) != "data" {
		t.Errorf("body 7: %q, %v", data, err)
	}
	if ms, err := st.MessageUIDs(ctx, 3); err != nil || len(ms) != 1 {
		t.Errorf("INBOX of a@: %v, %v", ms, err)
	}
	if e, err := st.QueueEntry(ctx, 12); err != nil || len(e.Recipients) != 1 || e.Domain != "remote.test" || e.Origin != storage.OriginSubmission {
		t.Errorf("queue entry 12: %+v, %v", e, err)
	}
	var fkProblems int
	if err := st.rdb.QueryRow(`SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fkProblems); err != nil || fkProblems != 0 {
		t.Errorf("foreign_key_check: %d rows, %v", fkProblems, err)
	}
	var integrity string
	if err := st.rdb.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity_check: %q, %v", integrity, err)
	}
	var fks int
	st.wdb.QueryRow(`PRAGMA foreign_keys`).Scan(&fks)
	if fks != 1 {
		t.Errorf("foreign keys are off after the migration")
	}

	// Ids continue above the highest one in each table.
	c := newAccount(t, st, "c@example.test")
	if c.ID <= 5 {
		t.Errorf("new account id %d, want > 5", c.ID)
	}
	for _, m := range mustMailboxes(t, st, c.ID) {
		if m.ID <= 9 {
			t.Errorf("new mailbox id %d, want > 9", m.ID)
		}
	}
	res, err := st.Append(ctx, []storage.AppendItem{{AccountID: c.ID, Body: msg("new", "after the migration")}})
	if err != nil {
		t.Fatal(err)
	}
	if b := bodyIDOf(t, st, res[0].MailboxID, res[0].UID); b <= 7 {
		t.Errorf("new body id %d, want > 7", b)
	}
	// The foreign keys still cascade: deleting e@ takes its mailboxes.
	if err := st.DeleteAccount(ctx, "e@example.test"); err != nil {
		t.Fatal(err)
	}
	var left int
	st.rdb.QueryRow(`SELECT count(*) FROM mailboxes WHERE account_id=5`).Scan(&left)
	if left != 0 {
		t.Errorf("%d mailboxes of a deleted account left", left)
	}
	// And a foreign key is still enforced.
	err = st.write(ctx, func(t *tx) error {
		_, err := t.Exec(`INSERT INTO messages(mailbox_id, uid, modseq, internal_date, size, body_id) VALUES (3, 9, 9, 1, 1, 999)`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Errorf("insert with a dangling body_id: %v, want a foreign key error", err)
	}
}

func mustMailboxes(t *testing.T, st *Store, acct int64) []storage.Mailbox {
	t.Helper()
	mbs, err := st.Mailboxes(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	return mbs
}

// Two processes (the server and a CLI command) may open an old store at
// the same moment: the schema is migrated once.
func TestConcurrentMigration(t *testing.T) {
	dir := t.TempDir()
	errs := make(chan error, 4)
	stores := make(chan *Store, 4)
	for range 4 {
		go func() {
			st, err := Open(dir, Options{})
			errs <- err
			stores <- st
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
		if st := <-stores; st != nil {
			defer st.Close()
		}
	}
	var v int
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.rdb.QueryRow(`PRAGMA user_version`).Scan(&v)
	if v != len(migrations) {
		t.Errorf("user_version %d, want %d", v, len(migrations))
	}
}

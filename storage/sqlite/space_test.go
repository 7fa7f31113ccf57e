package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"postern/storage"
)

// SQLite's "database or disk is full" (here from PRAGMA max_page_count,
// a real SQLITE_FULL without filling a disk) is ErrNoSpace, so that the
// front ends answer it as such; deleting mail still works, and the space
// it frees takes new mail again.
func TestDatabaseFullIsErrNoSpace(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	var pages int64
	if err := st.wdb.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	// max_page_count is per connection: the writer's single one.
	if _, err := st.wdb.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+200)); err != nil {
		t.Fatal(err)
	}
	big := func(i int) *storage.Body {
		return storage.NewBody(append([]byte("Subject: big "+itoa(int64(i))+"\r\n\r\n"), bytes.Repeat([]byte("x"), 100<<10)...))
	}
	var uids []uint32
	var err error
	for i := 0; i < 100; i++ {
		var res []storage.AppendResult
		res, err = st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: big(i)}})
		if err != nil {
			break
		}
		uids = append(uids, res[0].UID)
	}
	if !errors.Is(err, storage.ErrNoSpace) {
		t.Fatalf("append to a full database: %v, want ErrNoSpace", err)
	}
	if len(uids) < 2 {
		t.Fatalf("only %d messages fit", len(uids))
	}
	inbox := mailbox(t, st, a.ID, "INBOX")
	if _, err := st.StoreFlags(ctx, inbox.ID, uids, storage.FlagsAdd, storage.FlagSet{System: storage.FlagDeleted}); err != nil {
		t.Fatalf("flagging on a full database: %v", err)
	}
	if _, err := st.Expunge(ctx, inbox.ID, nil); err != nil {
		t.Fatalf("expunge on a full database: %v", err)
	}
	if _, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: big(1000)}}); err != nil {
		t.Errorf("append after the expunge made room: %v", err)
	}
}

// While the reserve is given up, new mail is refused unless the disk keeps
// the reserve free: that space is for deletions until the reserve file
// can be made again. Deletions go on; the reserve comes back as soon as
// there is room for it, and mail with it.
func TestReserveHoldsSpaceForDeletions(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, Options{ReserveBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	reserve := filepath.Join(dir, ReserveFile)
	if fi, err := os.Stat(reserve); err != nil || fi.Size() != 1<<20 {
		t.Fatalf("reserve file: %v, %v", fi, err)
	}
	a := newAccount(t, st, "a@example.test")
	res, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("one", "1")}})
	if err != nil {
		t.Fatal(err)
	}

	free := uint64(0)
	st.space.freeSpace = func(string) (uint64, error) { return free, nil }
	if !st.space.release() {
		t.Fatal("release found no reserve")
	}
	if _, err := os.Stat(reserve); !os.IsNotExist(err) {
		t.Fatalf("reserve file still there: %v", err)
	}
	if _, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("two", "2")}}); !errors.Is(err, storage.ErrNoSpace) {
		t.Errorf("new mail without the reserve on a full disk: %v, want ErrNoSpace", err)
	}
	// Deletions do not wait for the reserve.
	if _, err := st.Expunge(ctx, res[0].MailboxID, []uint32{res[0].UID}); err != nil {
		t.Errorf("expunge: %v", err)
	}
	st.space.wg.Wait()
	if _, err := os.Stat(reserve); !os.IsNotExist(err) {
		t.Error("the reserve came back without room for it")
	}

	free = 64 << 20
	st.space.forget()
	if _, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("three", "3")}}); err != nil {
		t.Errorf("new mail once there is room: %v", err)
	}
	st.space.wg.Wait()
	if fi, err := os.Stat(reserve); err != nil || fi.Size() != 1<<20 {
		t.Errorf("reserve file after room came back: %v, %v", fi, err)
	}
}

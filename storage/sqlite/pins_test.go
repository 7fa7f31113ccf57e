package sqlite

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"postern/storage"
)

// A body being read outlives the expunge of its last message; it goes
// once the reader closes. One left behind by a process that stopped while
// reading goes at the next DeleteUnreferencedBodies.
func TestBodyIsPinnedWhileRead(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	big := bytes.Repeat([]byte("0123456789abcdef"), 3*chunkSize/16) // three chunks
	body := storage.NewBody(append([]byte("Subject: big\r\n\r\n"), big...))
	res, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: body}})
	if err != nil {
		t.Fatal(err)
	}
	id := bodyIDOf(t, st, res[0].MailboxID, res[0].UID)

	r, err := st.OpenMessage(storage.WithAccount(ctx, a.ID), res[0].MailboxID, res[0].UID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Expunge(ctx, res[0].MailboxID, []uint32{res[0].UID}); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, body.Bytes()) {
		t.Fatalf("read after expunge: %d bytes, %v", len(got), err)
	}
	if n := bodyCount(t, st); n != 1 {
		t.Fatalf("%d bodies while read, want 1", n)
	}
	r.Close()
	r.Close() // a second Close does nothing
	deadline := time.Now().Add(10 * time.Second)
	for bodyCount(t, st) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the body was not deleted after its reader closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := st.OpenBody(ctx, id); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("OpenBody after the purge: %v", err)
	}

	// A reader still open when the store closes leaves the body behind.
	res, err = st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("left", "behind")}})
	if err != nil {
		t.Fatal(err)
	}
	r, err = st.OpenMessage(ctx, res[0].MailboxID, res[0].UID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Expunge(ctx, res[0].MailboxID, []uint32{res[0].UID}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	r.Close() // after Close: the purge finds the store closed
	st, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := bodyCount(t, st); n != 1 {
		t.Fatalf("%d bodies after reopening, want the one left behind", n)
	}
	if n, err := st.DeleteUnreferencedBodies(ctx); n != 1 || err != nil {
		t.Errorf("DeleteUnreferencedBodies = %d, %v; want 1", n, err)
	}
	if n := bodyCount(t, st); n != 0 {
		t.Errorf("%d bodies left", n)
	}
}

// A message delivered again while its old copy's body waits for a reader
// takes that body back instead of storing it twice; the reader's close
// then leaves it alone.
func TestPinnedBodyTakenBack(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	b := msg("same", "content")
	res, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: b}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := st.OpenMessage(ctx, res[0].MailboxID, res[0].UID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Expunge(ctx, res[0].MailboxID, []uint32{res[0].UID}); err != nil {
		t.Fatal(err)
	}
	res2, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("same", "content")}})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	st.purgeBody(r.(*bodyReader).id) // as the close does in the background
	data, err := st.ReadBody(ctx, bodyIDOf(t, st, res2[0].MailboxID, res2[0].UID))
	if err != nil || !bytes.Equal(data, b.Bytes()) {
		t.Errorf("re-delivered message: %q, %v", data, err)
	}
}

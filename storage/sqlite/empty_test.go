package sqlite

import (
	"context"
	"strings"
	"testing"

	"postern/storage"
)

// An empty message is odd but legal to store: it must not trip the schema.
func TestEmptyBody(t *testing.T) {
	st := openTest(t)
	a := newAccount(t, st, "a@example.test")
	for _, body := range []*storage.Body{storage.NewBody(nil), storage.NewBody([]byte{})} {
		if _, err := st.Append(context.Background(), []storage.AppendItem{{AccountID: a.ID, Body: body}}); err != nil {
			t.Fatalf("append of an empty body: %v", err)
		}
	}
	b, err := storage.PrepareBody(strings.NewReader(""), 0)
	if err != nil || b.Size() != 0 {
		t.Fatalf("PrepareBody of nothing: %v %d", err, b.Size())
	}
	inbox := mailbox(t, st, a.ID, "INBOX")
	msgs, _ := st.FetchMessages(context.Background(), inbox.ID, []uint32{1}, storage.FetchWant{Header: true})
	if len(msgs) != 1 || msgs[0].Size != 0 {
		t.Fatalf("fetch: %+v", msgs)
	}
	data, err := st.ReadBody(context.Background(), msgs[0].BodyID)
	if err != nil || len(data) != 0 {
		t.Errorf("read back %q, %v", data, err)
	}
}

package delivery

import (
	"context"
	"strings"
	"testing"

	"postern/storage"
)

// The queue entry records whether the message came from a session that
// authenticated: the outbound side signs and returns only such mail.
func TestDeliverRecordsOrigin(t *testing.T) {
	st := openStore(t)
	r := NewRouter(st, []string{"example.test"}, &recordingQueue{})
	for _, c := range []struct {
		user string
		want storage.Origin
	}{
		{"alice@example.test", storage.OriginSubmission},
		{"", storage.OriginForwarded},
	} {
		env := &Envelope{From: "ceo@example.test", Remote: []Recipient{{Address: "x@remote.test"}},
			Trace: Trace{Helo: "c.test", By: "mx.example.test", AuthUser: c.user, ID: "id-" + c.want.String()}}
		if _, err := r.Deliver(context.Background(), strings.NewReader("Subject: x\r\n\r\n"+c.want.String()+"\r\n"), env, 0); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := st.QueueList(context.Background())
	if err != nil || len(entries) != 2 {
		t.Fatalf("%d entries, %v", len(entries), err)
	}
	for _, e := range entries {
		if want := strings.TrimPrefix(e.MsgID, "id-"); e.Origin.String() != want {
			t.Errorf("entry %s: origin %s", e.MsgID, e.Origin)
		}
	}
}

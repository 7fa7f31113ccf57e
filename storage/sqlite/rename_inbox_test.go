package sqlite

import (
	"context"
	"strings"
	"testing"

	"postern/storage"
)

// RFC 3501 §6.3.5: renaming INBOX moves its messages to the new mailbox and
// leaves INBOX in place, so the new name may be under INBOX.
func TestRenameInboxUnderItself(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	body, err := storage.PrepareBody(strings.NewReader("Subject: x\r\n\r\nx\r\n"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Mailbox: "INBOX", Body: body}}); err != nil {
		t.Fatal(err)
	}
	if err := st.RenameMailbox(ctx, a.ID, "INBOX", "INBOX/old"); err != nil {
		t.Fatalf("RenameMailbox(INBOX, INBOX/old): %v", err)
	}
	for name, want := range map[string]uint32{"INBOX": 0, "INBOX/old": 1} {
		mb, err := st.Mailbox(ctx, a.ID, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ms, err := st.MailboxStatus(ctx, mb.ID)
		if err != nil || ms.Messages != want {
			t.Fatalf("%s holds %d messages (%v), want %d", name, ms.Messages, err, want)
		}
	}
}

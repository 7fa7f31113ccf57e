package e2e

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"postern/internal/testserver"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The server warns at start when postmaster@ of a served domain leads
// nowhere, and is quiet once an alias takes it.
func TestPostmasterWarning(t *testing.T) {
	dir := t.TempDir()
	var log syncBuffer
	ts := testserver.Start(t, testserver.Options{Dir: dir, Log: &log})
	if !bytes.Contains([]byte(log.String()), []byte("postmaster@example.test")) {
		t.Errorf("no warning:\n%s", log.String())
	}
	ts.AddUser(t, "admin@example.test", "pw")
	if err := ts.Store.AddAlias(context.Background(), "postmaster@example.test", []string{"admin@example.test"}); err != nil {
		t.Fatal(err)
	}
	ts.Stop()

	var log2 syncBuffer
	ts2 := testserver.Start(t, testserver.Options{Dir: dir, Log: &log2})
	if bytes.Contains([]byte(log2.String()), []byte("postmaster@")) {
		t.Errorf("warning although postmaster is an alias:\n%s", log2.String())
	}
	// And mail to it arrives.
	sendMX(t, ts2, "someone@remote.test", []string{"postmaster@example.test"}, "Subject: hi\r\n\r\nhello\r\n")
	a, _ := ts2.Store.AccountByAddress(context.Background(), "admin@example.test")
	mb, _ := ts2.Store.Mailbox(context.Background(), a.ID, "INBOX")
	if st, _ := ts2.Store.MailboxStatus(context.Background(), mb.ID); st.Messages != 1 {
		t.Errorf("admin has %d messages", st.Messages)
	}
}

package e2e

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"postern/internal/testserver"
)

// TestSoakSelectSendsNoExpunge: while another session expunges, the answer
// to SELECT describes the mailbox as opened and holds no EXPUNGE. An EXPUNGE
// inside it is legal by RFC 3501 §7.4.1, but clients (imapclient among them)
// take the count from the SELECT's EXISTS when it completes and lose the
// EXPUNGE, so their sequence numbers drift from the server's. Expunges that
// race with SELECT must wait for the next command.
func TestSoakSelectSendsNoExpunge(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	ts.AddUser(t, "sel@example.test", "sel-pw")
	var selecting atomic.Bool
	var during atomic.Int64
	c := imapLogin(t, ts, "sel@example.test", "sel-pw", &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{Expunge: func(uint32) {
			if selecting.Load() {
				during.Add(1)
			}
		}},
	})
	other := imapLogin(t, ts, "sel@example.test", "sel-pw", nil)
	if _, err := other.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			msg := "Subject: x\r\n\r\nx\r\n"
			cmd := other.Append("INBOX", int64(len(msg)), nil)
			cmd.Write([]byte(msg))
			cmd.Close()
			data, err := cmd.Wait()
			if err != nil {
				t.Errorf("APPEND: %v", err)
				return
			}
			set := imap.UIDSetNum(data.UID)
			if err := other.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
				t.Errorf("STORE: %v", err)
				return
			}
			if err := other.UIDExpunge(set).Close(); err != nil {
				t.Errorf("UID EXPUNGE: %v", err)
				return
			}
		}
	})
	for range 300 {
		selecting.Store(true)
		_, err := c.Select("INBOX", nil).Wait()
		selecting.Store(false)
		if err != nil && !strings.Contains(err.Error(), "NO") {
			t.Fatalf("SELECT: %v", err)
		}
		if err := c.Noop().Wait(); err != nil {
			t.Fatalf("NOOP: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	if n := during.Load(); n > 0 {
		t.Errorf("%d EXPUNGE responses came inside SELECT responses", n)
	}
}

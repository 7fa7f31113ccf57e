package e2e

import (
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"postern/internal/testserver"
)

// TestIdleSeesMXDelivery: a client in IDLE learns of mail delivered over SMTP
// at once, without polling.
func TestIdleSeesMXDelivery(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	ts.AddUser(t, "alice@example.test", "alice-pw")
	exists := make(chan uint32, 10)
	c := imapLogin(t, ts, "alice@example.test", "alice-pw", &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		start := time.Now()
		sendMX(t, ts, "someone@remote.test", []string{"alice@example.test"}, "Subject: ping\r\n\r\nhello\r\n")
		select {
		case n := <-exists:
			if n != uint32(i) {
				t.Errorf("EXISTS %d, want %d", n, i)
			}
			t.Logf("EXISTS %d arrived %v after the 250", n, time.Since(start))
		case <-time.After(10 * time.Second):
			t.Fatalf("no EXISTS in IDLE for message %d", i)
		}
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}

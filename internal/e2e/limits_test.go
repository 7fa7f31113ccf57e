package e2e

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"postern/config"
	"postern/internal/testserver"
)

// One address cannot hold more than [limits] connections_per_ip connections
// to a listener; the next one is closed before the greeting, and a slot
// comes back when a connection ends. Implicit TLS still works through the cap.
func TestConnectionCapPerAddress(t *testing.T) {
	const perIP = 20
	ts := testserver.Start(t, testserver.Options{Configure: func(c *config.Config) { c.Limits.ConnectionsPerIP = perIP }})
	ts.AddUser(t, "alice@example.test", "alice-pw")
	greet := func(c net.Conn) (string, error) {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		return bufio.NewReader(c).ReadString('\n')
	}
	var open []net.Conn
	for i := 0; i < perIP; i++ {
		c, err := net.Dial("tcp", ts.IMAPAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if l, err := greet(c); err != nil || !strings.HasPrefix(l, "* OK") {
			t.Fatalf("connection %d: %q %v", i, l, err)
		}
		open = append(open, c)
	}
	over, err := net.Dial("tcp", ts.IMAPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	if l, err := greet(over); err == nil {
		t.Fatalf("connection over the cap was greeted: %q", l)
	}
	// Other listeners count on their own.
	c, err := imapclient.DialTLS(ts.IMAPTLSAddr, &imapclient.Options{TLSConfig: ts.TLSConfig})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.test", "alice-pw").Wait(); err != nil {
		t.Fatalf("login over implicit TLS: %v", err)
	}
	open[0].Close()
	eventually(t, "a slot given back", func() bool {
		c, err := net.Dial("tcp", ts.IMAPAddr)
		if err != nil {
			return false
		}
		defer c.Close()
		l, err := greet(c)
		return err == nil && strings.HasPrefix(l, "* OK")
	})
}

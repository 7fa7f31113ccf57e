package e2e

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"postern/config"
	"postern/internal/testserver"
)

// loginLogout runs one IMAP session on a fresh connection: greeting, LOGIN,
// LOGOUT. It is what a client that reconnects all the time does.
func loginLogout(addr, user, pass string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if l, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(l, "* OK") {
		return fmt.Errorf("greeting %q: %v", l, err)
	}
	fmt.Fprintf(c, "a LOGIN %s %q\r\nb LOGOUT\r\n", user, pass)
	for _, tag := range []string{"a ", "b "} {
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return err
			}
			if strings.HasPrefix(l, tag) {
				if !strings.HasPrefix(l, tag+"OK") {
					return fmt.Errorf("%q", l)
				}
				break
			}
		}
	}
	return nil
}

// BenchmarkIMAPLogin measures LOGIN + LOGOUT on new connections against
// the whole server: the first login of an account (the password hash is
// computed), and repeat logins over 1 and 8 connections at once.
func BenchmarkIMAPLogin(b *testing.B) {
	ts := testserver.Start(b, testserver.Options{Configure: func(c *config.Config) {
		c.Limits.ConnectionsPerIP = 0
	}})
	const pass = "correct horse battery"
	b.Run("first", func(b *testing.B) {
		users := make([]string, b.N)
		for i := range users {
			users[i] = fmt.Sprintf("first%d-%d@example.test", b.N, i)
			ts.AddUser(b, users[i], pass)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := loginLogout(ts.IMAPAddr, users[i], pass); err != nil {
				b.Fatal(err)
			}
		}
	})
	ts.AddUser(b, "repeat@example.test", pass)
	if err := loginLogout(ts.IMAPAddr, "repeat@example.test", pass); err != nil {
		b.Fatal(err)
	}
	for _, conns := range []int{1, 8} {
		b.Run(fmt.Sprintf("repeat-%dconn", conns), func(b *testing.B) {
			var wg sync.WaitGroup
			errs := make(chan error, conns)
			per := (b.N + conns - 1) / conns
			for range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range per {
						if err := loginLogout(ts.IMAPAddr, "repeat@example.test", pass); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(per*conns)/b.Elapsed().Seconds(), "logins/s")
		})
	}
}

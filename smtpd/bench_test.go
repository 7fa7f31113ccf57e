package smtpd

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"postern/storage"
)

// benchMessage is an 8 KiB message.
func benchMessage(n int) string {
	head := fmt.Sprintf("From: bench@remote.test\r\nTo: user@example.test\r\nSubject: bench %d\r\nMessage-ID: <bench.%d@remote.test>\r\n\r\n", n, n)
	line := strings.Repeat("lorem ipsum dolor sit amet ", 2)[:52] + "\r\n"
	var b strings.Builder
	b.WriteString(head)
	for b.Len()+len(line) <= 8192 {
		b.WriteString(line)
	}
	b.WriteString(strings.Repeat("z", 8192-b.Len()-2) + "\r\n")
	return b.String()
}

// BenchmarkMXDelivery: 8 concurrent clients on persistent connections send
// 8 KiB messages to local accounts over loopback. Every 250 is a durable
// commit (the store's group commit shares fsyncs among concurrent
// transactions). Reports messages/s and the p50/p99 latency of one whole
// transaction (MAIL to the 250 after DATA).
func BenchmarkMXDelivery(b *testing.B) {
	const clients = 8
	e := startEnv(b, func(c *Config) { c.MaxMessageBytes = 1 << 20 })
	accts := make([]storage.Account, clients)
	for i := range accts {
		accts[i] = e.addUser(b, fmt.Sprintf("user%d@example.test", i), "pw")
	}
	msgs := make([]string, 64)
	for i := range msgs {
		msgs[i] = benchMessage(i)
	}
	conns := make([]*smtp.Client, clients)
	for i := range conns {
		conns[i] = dial(b, e.mxAddr)
	}
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	b.SetBytes(8192)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := conns[i]
			to := []string{accts[i].Address}
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				t0 := time.Now()
				if _, err := send(c, "bench@remote.test", to, msgs[n%int64(len(msgs))]); err != nil {
					errs <- err
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "msg/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[(len(all)*99)/100].Microseconds())/1000, "p99-ms")

	// Every acknowledged message is visible in its mailbox.
	total := 0
	for _, a := range accts {
		mb, err := e.st.Mailbox(context.Background(), a.ID, "INBOX")
		if err != nil {
			b.Fatal(err)
		}
		st, err := e.st.MailboxStatus(context.Background(), mb.ID)
		if err != nil {
			b.Fatal(err)
		}
		total += int(st.Messages)
	}
	if total != b.N {
		b.Fatalf("%d messages in the mailboxes, %d acknowledged", total, b.N)
	}
}

// BenchmarkMXLargeMessage: 4 concurrent clients send 4 MiB messages (one
// operation is one message), streamed. Reports MB/s received and stored.
func BenchmarkMXLargeMessage(b *testing.B) {
	const (
		clients = 4
		size    = 4 << 20
	)
	e := startEnv(b, func(c *Config) { c.MaxMessageBytes = 2 * size })
	e.addUser(b, "user@example.test", "pw")
	conns := make([]*smtp.Client, clients)
	for i := range conns {
		conns[i] = dial(b, e.mxAddr)
	}
	var next atomic.Int64
	b.SetBytes(size)
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				if err := sendLarge(conns[i], "bench@remote.test", "user@example.test", size, int(n)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

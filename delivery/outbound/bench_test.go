package outbound

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/foxcpp/go-mockdns"

	"postern/dkim"
	"postern/storage"
)

// BenchmarkQueueThroughput measures messages/s from the queue to a fast fake
// MX over loopback (plaintext, DKIM-signed), with the durable bookkeeping of
// every attempt: 8 recipient domains, all served by the same exchanger.
func BenchmarkQueueThroughput(b *testing.B) {
	mx := startMX(b, "127.0.0.1", 0, nil)
	zones := map[string]mockdns.Zone{"mx.bench.test.": {A: []string{"127.0.0.1"}}}
	const domains = 8
	for i := 0; i < domains; i++ {
		zones["d"+strconv.Itoa(i)+".test."] = mockdns.Zone{MX: []net.MX{{Host: "mx.bench.test.", Pref: 10}}}
	}
	_, res := dnsServer(b, zones)
	dir := b.TempDir()
	st := openStore(b, dir)
	defer st.Close()
	key, err := dkim.Generate(dir, "example.test", "postern", dkim.Ed25519)
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 0, 8<<10)
	body = append(body, "From: alice@example.test\r\nTo: bob@d0.test\r\nSubject: bench\r\n\r\n"...)
	for len(body) < 8<<10 {
		body = append(body, "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\r\n"...)
	}
	items := make([]storage.QueueItem, b.N)
	for i := range items {
		items[i] = storage.QueueItem{From: "alice@example.test", Origin: storage.OriginSubmission, Body: storage.NewBody(body),
			Recipients: []storage.QueueRecipient{{Address: "bob@d" + strconv.Itoa(i%domains) + ".test"}}}
	}
	ctx := context.Background()
	if err := st.Enqueue(ctx, items...); err != nil {
		b.Fatal(err)
	}
	r := New(Options{Store: st, Hostname: hostname, Resolver: res, MXPort: mx.port, Logger: quietLogger(),
		DKIM: map[string]*dkim.Key{"example.test": key}, MaxConns: 16, MaxConnsPerDomain: 2})
	b.ResetTimer()
	start := time.Now()
	r.Start()
	eventually(b, "queue drained", func() bool { return len(mx.messages()) >= b.N })
	elapsed := time.Since(start)
	b.StopTimer()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r.Shutdown(sctx)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkHeaderOfForwarded measures taking the header of forwarded mail
// with a 1 MiB header for a notice, which returns at most 64 KiB of it.
func BenchmarkHeaderOfForwarded(b *testing.B) {
	msg := []byte("Received: from x\r\n\tby y;\r\n\tdate\r\nFrom: a@far.test\r\nSubject: big\r\n")
	for len(msg) < 1<<20 {
		msg = append(msg, "X-Pad: 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"...)
	}
	msg = append(msg, "\r\nbody\r\n"...)
	for i := 0; i < b.N; i++ {
		if h := headerOf(msg, maxForwardedHeader); len(h) == 0 || len(h) > maxForwardedHeader {
			b.Fatalf("header of %d octets", len(h))
		}
	}
}

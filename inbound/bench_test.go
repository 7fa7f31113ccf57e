package inbound

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"postern/internal/testkit/dkimtest"
)

// benchMessage is a 50 KB message signed with RSA-2048 by example.test.
func benchMessage(b *testing.B, w *world) []byte {
	rng := rand.New(rand.NewPCG(7, 8))
	words := strings.Fields("the project meeting agenda review budget quarterly notes design draft thanks regards schedule lunch report minutes")
	var body strings.Builder
	for body.Len() < 50<<10 {
		body.WriteString(words[rng.IntN(len(words))])
		if rng.IntN(12) == 0 {
			body.WriteString("\r\n")
		} else {
			body.WriteByte(' ')
		}
	}
	body.WriteString("\r\n")
	k := dkimtest.RSA(b, 2048)
	w.dns.AddTXT("rsa._domainkey.example.test", 300, k.Record())
	msg := []byte("From: Alice <alice@example.test>\r\nTo: bob@postern.test\r\nSubject: the numbers\r\nDate: Sun, 1 Mar 2026 12:00:00 +0000\r\nMessage-ID: <b@example.test>\r\nContent-Type: text/plain\r\n\r\n" + body.String())
	return dkimtest.Sign(b, msg, "example.test", "rsa", k, nil)
}

// BenchmarkPipeline runs every check but rspamd and greylisting on a 50 KB
// message with DNS answered from the cache, and reports the latency
// percentiles one transaction gains.
func BenchmarkPipeline(b *testing.B) {
	w := newWorld(b)
	c := w.checker(w.options())
	msg := benchMessage(b, w)
	ctx := context.Background()
	for i := range 30 {
		c.bayes.Learn(ctx, "bob@postern.test", []byte(fmt.Sprintf("Subject: s%d\r\n\r\ncheap pills casino %d\r\n", i, i)), true)
		c.bayes.Learn(ctx, "bob@postern.test", []byte(fmt.Sprintf("Subject: h%d\r\n\r\nproject meeting agenda %d\r\n", i, i)), false)
	}
	e := env(senderIP, "mail.example.test", "alice@example.test")
	m := MessageFromBytes(msg)
	if v := c.Check(ctx, e, bob, m); v.Action != Accept || v.DKIM[0].Result != "pass" {
		b.Fatalf("warm-up:\n%s", describe(v))
	}
	var lat []time.Duration
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		start := time.Now()
		c.Check(ctx, e, bob, m)
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkPipelineParallel is BenchmarkPipeline from 8 clients at once.
func BenchmarkPipelineParallel(b *testing.B) {
	w := newWorld(b)
	c := w.checker(w.options())
	msg := benchMessage(b, w)
	ctx := context.Background()
	e := env(senderIP, "mail.example.test", "alice@example.test")
	m := MessageFromBytes(msg)
	c.Check(ctx, e, bob, m)
	b.ReportAllocs()
	b.SetParallelism(4) // 8 goroutines on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if v := c.Check(ctx, e, bob, m); v.Action != Accept {
				b.Error(v.Reply)
			}
		}
	})
}

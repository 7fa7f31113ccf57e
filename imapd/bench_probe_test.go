package imapd

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"postern/storage"
)

// The hostile probes at full size, for before/after numbers: run with
// -bench Probe -benchtime 1x. Each reports the peak heap growth of the
// server process while the command ran.

func reportGrowth(b *testing.B, g memGrowth) {
	b.ReportMetric(float64(g.heap)/mib, "peak-heap-MiB")
	if g.rss >= 0 {
		b.ReportMetric(float64(g.rss)/mib, "peak-RSS-MiB")
	}
}

// Two SEARCHes of 2,000 literal keys of 64 KiB each.
func BenchmarkProbeSearchLiterals(b *testing.B) {
	e := newEnv(b, nil)
	e.deliver(b, "INBOX", testMessage("one", "bob@example.test", "hi"))
	conns := []*raw{e.raw(b, true), e.raw(b, true)}
	for _, r := range conns {
		r.roundTrip("s", "SELECT INBOX")
	}
	for i := 0; i < b.N; i++ {
		reportGrowth(b, measure(b, func() {
			var wg sync.WaitGroup
			for _, r := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := literalKeys(bufio.NewWriterSize(r.c, 256<<10), "a", 2000, 64<<10, true); err != nil {
						b.Error(err)
					}
					r.expect("a ")
				}()
			}
			wg.Wait()
		}))
	}
}

// One HEADER.FIELDS section of 1,000 literal names of 64 KiB each.
func BenchmarkProbeHeaderFields(b *testing.B) {
	e := newEnv(b, nil)
	e.deliver(b, "INBOX", testMessage("one", "bob@example.test", "hi"))
	r := e.raw(b, true)
	r.roundTrip("s", "SELECT INBOX")
	name := strings.Repeat("h", 64<<10)
	for i := 0; i < b.N; i++ {
		reportGrowth(b, measure(b, func() {
			w := bufio.NewWriterSize(r.c, 256<<10)
			w.WriteString("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject")
			for j := 0; j < 1000; j++ {
				w.WriteString(" {65536+}\r\n")
				w.WriteString(name)
			}
			w.WriteString(")])\r\n")
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			r.expect("a ")
		}))
	}
}

// SEARCH HEADER over 30 messages with header blocks of 10 MB.
func BenchmarkProbeSearchHeaderBig(b *testing.B) {
	e := newEnv(b, func(c *Config) { c.MaxMessageBytes = 16 << 20 })
	for i := 1; i <= 30; i++ {
		e.deliver(b, "INBOX", bigHeaderMsg("X-Needle: found "+strconv.Itoa(i)+"\r\n", 10_000_000))
	}
	r := e.raw(b, true)
	r.roundTrip("s", "SELECT INBOX")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		reportGrowth(b, measure(b, func() { r.roundTrip("a", "SEARCH HEADER X-Needle found") }))
	}
}

// FETCH of 100 sections 32 levels deep in one 24 MB message.
func BenchmarkProbeNestedSections(b *testing.B) {
	e := newEnv(b, func(c *Config) { c.MaxMessageBytes = 32 << 20 })
	e.deliver(b, "INBOX", nestedMsg(32, 24_000_000))
	r := e.raw(b, true)
	r.roundTrip("s", "SELECT INBOX")
	deep := strings.TrimSuffix(strings.Repeat("1.", 32), ".")
	cmd := "FETCH 1 (" + strings.TrimSpace(strings.Repeat("BODY.PEEK["+deep+"]<0.8> ", 100)) + ")"
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		reportGrowth(b, measure(b, func() { r.roundTrip("a", cmd) }))
	}
}

// A balanced OR tree of BODY keys over the 10,000 messages of benchEnv.
func BenchmarkProbeWideOr(b *testing.B) {
	for _, leaves := range []int{500, 1024} {
		b.Run(strconv.Itoa(leaves)+"keys", func(b *testing.B) {
			e := benchEnv(b)
			r := e.raw(b, true)
			r.roundTrip("s", "EXAMINE INBOX")
			var keys []string
			for i := 0; i < leaves; i++ {
				keys = append(keys, fmt.Sprintf("BODY Word%04d", i))
			}
			for len(keys) > 1 {
				var next []string
				for i := 0; i+1 < len(keys); i += 2 {
					next = append(next, "OR ("+keys[i]+") ("+keys[i+1]+")")
				}
				if len(keys)%2 == 1 {
					next = append(next, keys[len(keys)-1])
				}
				keys = next
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				reportGrowth(b, measure(b, func() {
					r.send("a SEARCH " + keys[0] + "\r\n")
					r.expect("a ")
				}))
			}
		})
	}
}

// A balanced OR tree of 500 BODY keys over 1,000 messages of 32 KB of
// text each: the cost that grows with keys times text.
func BenchmarkProbeWideOrBigBodies(b *testing.B) {
	e := newEnv(b, nil)
	text := strings.Repeat("lorem ipsum dolor sit amet consectetur adipiscing elit\r\n", 600)
	for start := 0; start < 1000; start += 100 {
		var items []storage.AppendItem
		for i := start; i < start+100; i++ {
			body, err := storage.PrepareBody(strings.NewReader(testMessage("m"+strconv.Itoa(i), "bob@example.test", text+fmt.Sprintf("amet%04d", i))), 0)
			if err != nil {
				b.Fatal(err)
			}
			items = append(items, storage.AppendItem{AccountID: e.acct.ID, Mailbox: "INBOX", Body: body})
		}
		if _, err := e.st.Append(b.Context(), items); err != nil {
			b.Fatal(err)
		}
	}
	r := e.raw(b, true)
	r.roundTrip("s", "EXAMINE INBOX")
	var keys []string
	for i := 0; i < 500; i++ {
		keys = append(keys, fmt.Sprintf("BODY Amet%04d", i*2))
	}
	for len(keys) > 1 {
		var next []string
		for i := 0; i+1 < len(keys); i += 2 {
			next = append(next, "OR ("+keys[i]+") ("+keys[i+1]+")")
		}
		if len(keys)%2 == 1 {
			next = append(next, keys[len(keys)-1])
		}
		keys = next
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		reportGrowth(b, measure(b, func() { r.roundTrip("a", "SEARCH "+keys[0]) }))
	}
}

// 16,384 NOT BODY keys sent as literals over the 10,000 messages of benchEnv.
func BenchmarkProbeLiteralKeys16k(b *testing.B) {
	e := benchEnv(b)
	r := e.raw(b, true)
	r.roundTrip("s", "EXAMINE INBOX")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		reportGrowth(b, measure(b, func() {
			w := bufio.NewWriterSize(r.c, 256<<10)
			w.WriteString("a SEARCH")
			for j := 0; j < 16384; j++ {
				w.WriteString(" NOT BODY {8+}\r\n" + fmt.Sprintf("w%07d", j))
			}
			w.WriteString("\r\n")
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			r.expect("a ")
		}))
	}
}

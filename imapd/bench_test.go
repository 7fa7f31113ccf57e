package imapd

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/storage"
	"postern/storage/sqlite"
)

// fill puts n distinct messages into alice's INBOX; every 100th has
// "needle" in its subject.
func (e *env) fill(tb testing.TB, n int) {
	tb.Helper()
	for start := 0; start < n; start += 500 {
		var items []storage.AppendItem
		for i := start; i < min(start+500, n); i++ {
			subj := fmt.Sprintf("message number %d about things", i)
			if i%100 == 0 {
				subj = fmt.Sprintf("needle %d", i)
			}
			body, err := storage.PrepareBody(strings.NewReader(testMessage(subj, fmt.Sprintf("sender%d@example.test", i%50), strings.Repeat("text ", 40))), 0)
			if err != nil {
				tb.Fatal(err)
			}
			items = append(items, storage.AppendItem{AccountID: e.acct.ID, Mailbox: "INBOX", Body: body})
		}
		if _, err := e.st.Append(context.Background(), items); err != nil {
			tb.Fatal(err)
		}
	}
}

// roundTrip sends a command and reads up to its tagged OK.
func (r *raw) roundTrip(tag, cmd string) int {
	r.send(tag + " " + cmd + "\r\n")
	n := 0
	for {
		l, err := r.br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			r.t.Fatalf("read: %v", err)
		}
		n++
		if len(l) > len(tag) && string(l[:len(tag)+1]) == tag+" " {
			if !strings.HasPrefix(string(l[len(tag)+1:]), "OK") {
				r.t.Fatalf("%s: %s", cmd, l)
			}
			return n
		}
	}
}

var bench10k struct {
	once sync.Once
	e    *env
}

func benchEnv(b *testing.B) *env {
	// One populated store for all benchmarks of a run; Cleanup of the
	// first benchmark would close it, so it is made outside testing.TB
	// lifetimes.
	bench10k.once.Do(func() {
		e := newEnv(&persistentTB{b}, nil)
		e.fill(b, 10000)
		bench10k.e = e
	})
	return bench10k.e
}

// persistentTB keeps Cleanup functions from running at the end of the
// benchmark that created the shared environment.
type persistentTB struct{ testing.TB }

func (persistentTB) Cleanup(func()) {}
func (p *persistentTB) TempDir() string {
	dir, err := osMkdirTemp()
	if err != nil {
		p.TB.Fatal(err)
	}
	return dir
}

func BenchmarkSelect10k(b *testing.B) {
	e := benchEnv(b)
	r := e.raw(b, true)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.roundTrip("s", "SELECT INBOX")
	}
}

func BenchmarkFetchEnvelope10k(b *testing.B) {
	e := benchEnv(b)
	r := e.raw(b, true)
	r.roundTrip("s", "EXAMINE INBOX")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n := r.roundTrip("f", "FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)"); n < 10001 {
			b.Fatalf("%d lines", n)
		}
	}
}

func BenchmarkFetchHeaderFields10k(b *testing.B) {
	e := benchEnv(b)
	r := e.raw(b, true)
	r.roundTrip("s", "EXAMINE INBOX")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.roundTrip("f", "FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (From To Subject Date Message-ID)])")
	}
}

func BenchmarkSearchSubject10k(b *testing.B) {
	e := benchEnv(b)
	r := e.raw(b, true)
	r.roundTrip("s", "EXAMINE INBOX")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.roundTrip("f", "SEARCH SUBJECT needle")
	}
}

func BenchmarkStoreSeen10k(b *testing.B) {
	e := benchEnv(b)
	r := e.raw(b, true)
	r.roundTrip("s", "SELECT INBOX")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate so every iteration changes all 10,000 messages.
		op := "+FLAGS"
		if i%2 == 1 {
			op = "-FLAGS"
		}
		r.roundTrip("f", "STORE 1:* "+op+" (\\Seen)")
	}
}

func heapAndStack() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// BenchmarkIdle1000 opens 1,000 connections in IDLE on INBOX and reports
// the memory each costs the server (heap + stacks, after GC, minus what
// 1,000 bare TCP connection pairs cost) and how long a delivery takes to
// reach all of them (from the store's commit to the last EXISTS read).
func BenchmarkIdle1000(b *testing.B) {
	const n = 1000
	for iter := 0; iter < b.N; iter++ {
		e := newEnv(b, nil)
		e.deliver(b, "INBOX", testMessage("first", "b@example.test", "x"))

		// Baseline: n bare TCP pairs held open.
		base0 := heapAndStack()
		bl, _ := net.Listen("tcp", "127.0.0.1:0")
		var held []net.Conn
		var hmu sync.Mutex
		go func() {
			for {
				c, err := bl.Accept()
				if err != nil {
					return
				}
				hmu.Lock()
				held = append(held, c)
				hmu.Unlock()
			}
		}()
		var bare []net.Conn
		for i := 0; i < n; i++ {
			c, err := net.Dial("tcp", bl.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			bare = append(bare, c)
		}
		time.Sleep(100 * time.Millisecond)
		tcpPair := float64(heapAndStack()-base0) / n
		for _, c := range bare {
			c.Close()
		}
		hmu.Lock()
		for _, c := range held {
			c.Close()
		}
		hmu.Unlock()
		bl.Close()

		before := heapAndStack()
		conns := make([]net.Conn, n)
		readers := make([]*bufio.Reader, n)
		for i := range conns {
			c, err := net.Dial("tcp", e.addr)
			if err != nil {
				b.Fatal(err)
			}
			br := bufio.NewReaderSize(c, 4096)
			c.Write([]byte("l LOGIN alice@example.test \"" + testPassword + "\"\r\ns SELECT INBOX\r\ni IDLE\r\n"))
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					b.Fatal(err)
				}
				if strings.HasPrefix(l, "+ ") {
					break
				}
			}
			conns[i], readers[i] = c, br
		}
		// The client side's buffers are dropped for the measurement.
		for i := range readers {
			readers[i] = nil
		}
		time.Sleep(200 * time.Millisecond)
		after := heapAndStack()
		perConn := (float64(after-before) - 0) / n
		b.ReportMetric(perConn, "B/idle-conn-gross")
		b.ReportMetric(perConn-tcpPair, "B/idle-conn")

		start := time.Now()
		var committed time.Time
		last := allSeeExists(conns, func() {
			e.deliver(b, "INBOX", testMessage("to everyone", "b@example.test", "x"))
			committed = time.Now()
		})
		b.ReportMetric(float64(last.Sub(committed).Microseconds())/1000, "ms/commit-to-all-1000")
		b.ReportMetric(float64(last.Sub(start).Microseconds())/1000, "ms/deliver-to-all-1000")

		// The same from another process (a CLI command, an import): the
		// change reaches the sessions through the change log.
		peer, err := sqlite.Open(e.st.Dir(), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		last = allSeeExists(conns, func() {
			body := storage.NewBody([]byte(testMessage("from the CLI", "b@example.test", "x")))
			if _, err := peer.Append(context.Background(), []storage.AppendItem{{AccountID: e.acct.ID, Body: body}}); err != nil {
				b.Fatal(err)
			}
			committed = time.Now()
		})
		peer.Close()
		b.ReportMetric(float64(last.Sub(committed).Microseconds())/1000, "ms/peer-commit-to-all-1000")
		for _, c := range conns {
			c.Close()
		}
	}
}

// allSeeExists runs change, which must make every IDLE connection get an
// EXISTS, and returns when the last of them read it.
func allSeeExists(conns []net.Conn, change func()) time.Time {
	var wg sync.WaitGroup
	wg.Add(len(conns))
	ready := make(chan struct{})
	var last time.Time
	var lmu sync.Mutex
	for _, c := range conns {
		go func(c net.Conn) {
			defer wg.Done()
			br := bufio.NewReader(c)
			<-ready
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if strings.HasSuffix(l, "EXISTS\r\n") {
					lmu.Lock()
					if now := time.Now(); now.After(last) {
						last = now
					}
					lmu.Unlock()
					return
				}
			}
		}(c)
	}
	close(ready)
	change()
	wg.Wait()
	return last
}

// BenchmarkPeerChangeToIdle: a message another process stores (a bounce
// of "postern queue drop", an import) reaches a session in IDLE through
// the change log. Reports the time from that process's commit to the
// EXISTS; the log is read every 200ms, and each change comes at a random
// moment of that period, as a command run by hand does.
func BenchmarkPeerChangeToIdle(b *testing.B) {
	e := newEnv(b, nil)
	peer, err := sqlite.Open(e.st.Dir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer peer.Close()
	r := e.raw(b, true)
	r.roundTrip("s", "SELECT INBOX")
	r.send("i IDLE\r\n")
	r.expect("+ ")
	var total, worst time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		time.Sleep(time.Duration(rand.Int64N(int64(200 * time.Millisecond))))
		body := storage.NewBody([]byte(testMessage(fmt.Sprint("peer ", i), "b@example.test", "x")))
		if _, err := peer.Append(context.Background(), []storage.AppendItem{{AccountID: e.acct.ID, Body: body}}); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		r.expect(fmt.Sprintf("* %d EXISTS", i+1))
		d := time.Since(t0)
		total += d
		worst = max(worst, d)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/commit-to-idle")
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms/commit-to-idle-max")
}

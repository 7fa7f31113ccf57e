package pop3d

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"postern/auth"
	"postern/storage"
	"postern/storage/sqlite"
)

const (
	benchSessions = 50
	benchMessages = 500
	benchMsgSize  = 8 << 10
)

// BenchmarkRetr50Sessions: 50 concurrent sessions, each on its own account
// of 500 messages of 8 KB, each running STAT, LIST, UIDL and RETR of every
// message. Reports RETR/s and the peak memory of the process (server and
// clients). "pipelined" sends RETRs in windows, as PIPELINING allows;
// "lockstep" waits for each reply before the next command.
func BenchmarkRetr50Sessions(b *testing.B) {
	dir := b.TempDir()
	st, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	accts := make([]storage.Account, benchSessions)
	boxes := make([]int64, benchSessions)
	for i := range accts {
		a, err := st.CreateAccount(ctx, fmt.Sprintf("user%d@example.test", i), "secret")
		if err != nil {
			b.Fatal(err)
		}
		accts[i] = a
		items := make([]storage.AppendItem, benchMessages)
		for j := range items {
			items[j] = storage.AppendItem{AccountID: a.ID, Body: storage.NewBody(benchMessage(i, j))}
		}
		if _, err := st.Append(ctx, items); err != nil {
			b.Fatal(err)
		}
		mb, err := st.Mailbox(ctx, a.ID, "INBOX")
		if err != nil {
			b.Fatal(err)
		}
		boxes[i] = mb.ID
	}
	srv := New(Config{
		Store: st, Hostname: "bench", Logger: testLogger(b),
		Auth: testAuth(st, true, testLogger(b), auth.LimiterOptions{}),
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Shutdown(ctx)

	for _, mode := range []struct {
		name   string
		window int
	}{{"pipelined", 32}, {"lockstep", 1}} {
		b.Run(mode.name, func(b *testing.B) {
			var retrs int64
			var elapsed time.Duration
			var peak memPeak
			for b.Loop() {
				b.StopTimer()
				for _, id := range boxes {
					all := make([]uint32, benchMessages)
					for j := range all {
						all[j] = uint32(j + 1)
					}
					if _, err := st.StoreFlags(ctx, id, all, storage.FlagsRemove, storage.FlagSet{System: storage.FlagSeen}); err != nil {
						b.Fatal(err)
					}
				}
				// Log every session in first: the password hash (argon2id,
				// 19 MiB and ~20 ms each) is not what is measured here.
				sessions := make([]*benchClient, benchSessions)
				for i := range sessions {
					c, err := benchLogin(l.Addr().String(), accts[i].Address)
					if err != nil {
						b.Fatal(err)
					}
					sessions[i] = c
				}
				runtime.GC()
				sample := startMemSampler()
				b.StartTimer()
				start := time.Now()
				var wg sync.WaitGroup
				var n atomic.Int64
				errs := make(chan error, benchSessions)
				for _, c := range sessions {
					wg.Add(1)
					go func() {
						defer wg.Done()
						defer c.conn.Close()
						done, err := c.run(mode.window)
						n.Add(int64(done))
						if err != nil {
							errs <- err
						}
					}()
				}
				wg.Wait()
				elapsed += time.Since(start)
				b.StopTimer()
				p := sample()
				peak.inuse = max(peak.inuse, p.inuse)
				retrs += n.Load()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			peak.hwm = vmHWM()
			b.ReportMetric(float64(retrs)/elapsed.Seconds(), "RETR/s")
			b.ReportMetric(float64(peak.inuse)/(1<<20), "peak-inuse-MiB")
			if peak.hwm > 0 {
				b.ReportMetric(float64(peak.hwm)/(1<<20), "VmHWM-MiB")
			}
		})
	}
}

// benchMessage is an 8 KB message, distinct per account and index so that
// the store cannot share bodies, with some lines that need dot-stuffing.
func benchMessage(acct, n int) []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "From: sender@example.test\r\nTo: user%d@example.test\r\nSubject: message %d\r\nMessage-ID: <%d.%d@example.test>\r\n\r\n", acct, n, acct, n)
	for i := 0; buf.Len() < benchMsgSize-80; i++ {
		if i%20 == 0 {
			buf.WriteString(".")
		}
		fmt.Fprintf(&buf, "line %d of message %d: the quick brown fox jumps over the lazy dog\r\n", i, n)
	}
	return buf.Bytes()
}

type benchClient struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

// benchLogin connects and logs in.
func benchLogin(addr, user string) (*benchClient, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &benchClient{conn: conn, r: bufio.NewReaderSize(conn, 64<<10), w: bufio.NewWriter(conn)}
	fmt.Fprintf(c.w, "USER %s\r\nPASS secret\r\n", user)
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	for range 3 {
		if _, err := c.status(); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *benchClient) status() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(line, []byte("+OK")) {
		return nil, fmt.Errorf("%s", strings.TrimSpace(string(line)))
	}
	return line, nil
}

// multi reads a multi-line body and returns its octets.
func (c *benchClient) multi() (int, error) {
	n := 0
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return n, err
		}
		if len(line) == 3 && line[0] == '.' {
			return n, nil
		}
		n += len(line)
	}
}

// run sends STAT, LIST, UIDL and RETR of every message, with up to window
// RETRs in flight, then QUIT. It returns how many RETRs completed.
func (c *benchClient) run(window int) (int, error) {
	c.w.WriteString("STAT\r\nLIST\r\nUIDL\r\n")
	if err := c.w.Flush(); err != nil {
		return 0, err
	}
	stat, err := c.status()
	if err != nil {
		return 0, err
	}
	count, _ := strconv.Atoi(strings.Fields(string(stat))[1])
	if count != benchMessages {
		return 0, fmt.Errorf("STAT %q", stat)
	}
	for range 2 {
		if _, err := c.status(); err != nil {
			return 0, err
		}
		if _, err := c.multi(); err != nil {
			return 0, err
		}
	}
	sent, done := 0, 0
	for done < count {
		for sent < count && sent-done < window {
			sent++
			c.w.WriteString("RETR ")
			c.w.WriteString(strconv.Itoa(sent))
			c.w.WriteString("\r\n")
		}
		if err := c.w.Flush(); err != nil {
			return done, err
		}
		for done < sent {
			if _, err := c.status(); err != nil {
				return done, err
			}
			n, err := c.multi()
			if err != nil {
				return done, err
			}
			if n < benchMsgSize-100 {
				return done, fmt.Errorf("RETR %d: %d octets", done+1, n)
			}
			done++
		}
	}
	c.w.WriteString("QUIT\r\n")
	c.w.Flush()
	_, err = c.status()
	return done, err
}

type memPeak struct{ inuse, hwm uint64 }

// startMemSampler samples HeapInuse+StackInuse every 20ms until the
// returned function is called, which reports the peak and VmHWM.
func startMemSampler() func() memPeak {
	stop := make(chan struct{})
	var peak atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if v := ms.HeapInuse + ms.StackInuse; v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() memPeak {
		close(stop)
		wg.Wait()
		return memPeak{inuse: peak.Load(), hwm: vmHWM()}
	}
}

// vmHWM reads the resident set high-water mark from /proc (Linux only).
func vmHWM() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

package imapd

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Hostile probes run against the real server in this process, so the
// server's memory is the test's memory: growth is measured around the
// probe, with a wide margin, never its duration.

const mib = 1 << 20

// memGrowth is how much the process grew while a probe ran.
type memGrowth struct {
	heap int64 // peak of the Go heap in use, sampled every 2 ms, over its size before
	rss  int64 // peak resident set (VmHWM) over VmRSS before; -1 if the kernel cannot reset VmHWM
}

func (g memGrowth) String() string {
	return "heap +" + strconv.FormatInt(g.heap/mib, 10) + " MiB, RSS +" + strconv.FormatInt(g.rss/mib, 10) + " MiB"
}

// measure runs fn and reports the process's peak growth while it ran.
func measure(t testing.TB, fn func()) memGrowth {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	base := heapInUse()
	rss0 := procStatus("VmRSS")
	hwm := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	var peak atomic.Int64
	peak.Store(int64(base))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if h := int64(heapInUse()); h > peak.Load() {
					peak.Store(h)
				}
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	if h := int64(heapInUse()); h > peak.Load() {
		peak.Store(h)
	}
	g := memGrowth{heap: peak.Load() - int64(base), rss: -1}
	if hwm && rss0 > 0 {
		g.rss = procStatus("VmHWM") - rss0
	}
	return g
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// mallocs counts heap allocations so far: a deterministic measure of work
// that grows with what a command does per message and per key.
func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// procStatus reads a "kB" field of /proc/self/status, in bytes; 0 if absent.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n << 10
		}
	}
	return 0
}

// checkGrowth fails the test when the heap grew by limit or more. RSS is
// logged: it includes the race detector's shadow memory, so it is
// asserted only against the server's overall target (128 MiB over idle).
func checkGrowth(t testing.TB, what string, g memGrowth, limit int64) {
	t.Helper()
	t.Logf("%s: %v", what, g)
	if g.heap >= limit {
		t.Errorf("%s: heap grew by %d MiB (limit %d MiB)", what, g.heap/mib, limit/mib)
	}
	if g.rss >= 128*mib {
		t.Errorf("%s: RSS grew by %d MiB (target: within 128 MiB of idle)", what, g.rss/mib)
	}
}

// stillServes checks that another session gets answers while (or after)
// a probe runs: its own NOOPs and a SEARCH.
func (e *env) stillServes(t testing.TB, other *raw) {
	t.Helper()
	other.send("n1 NOOP\r\n")
	other.expect("n1 OK")
	other.send("n2 SEARCH ALL\r\n")
	other.expect("n2 OK")
}

// bigHeaderMsg returns a message whose header block is about size bytes:
// first the given fields, then filler fields of 998-octet lines.
func bigHeaderMsg(fields string, size int) string {
	var sb strings.Builder
	sb.Grow(size + 256)
	sb.WriteString("From: bob@example.test\r\nTo: alice@example.test\r\nSubject: big header\r\n")
	sb.WriteString(fields)
	line := "X-Filler: " + strings.Repeat("f", 986) + "\r\n"
	for sb.Len() < size {
		sb.WriteString(line)
	}
	sb.WriteString("\r\nsmall body\r\n")
	return sb.String()
}

// nestedMsg returns a message whose single text part sits depth
// multiparts deep and carries about size bytes.
func nestedMsg(depth, size int) string {
	var sb strings.Builder
	sb.Grow(size + depth*128)
	sb.WriteString("From: bob@example.test\r\nTo: alice@example.test\r\nSubject: nested\r\nMIME-Version: 1.0\r\n")
	for i := 0; i < depth; i++ {
		sb.WriteString("Content-Type: multipart/mixed; boundary=b" + strconv.Itoa(i) + "\r\n\r\n--b" + strconv.Itoa(i) + "\r\n")
	}
	sb.WriteString("Content-Type: text/plain\r\n\r\nDEEPTEXT")
	line := strings.Repeat("n", 76) + "\r\n"
	for sb.Len() < size {
		sb.WriteString(line)
	}
	for i := depth - 1; i >= 0; i-- {
		sb.WriteString("\r\n--b" + strconv.Itoa(i) + "--\r\n")
	}
	return sb.String()
}

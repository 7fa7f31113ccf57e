package smtpd

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// bodyReader streams n octets of message body: lines of 78 characters and
// CRLF, the last one shorter so that the total is exact. Nothing is held in
// memory, so that a test's own memory does not hide the server's.
type bodyReader struct {
	left int
	line []byte
	pos  int
}

func newBodyReader(n int, seed int) *bodyReader {
	line := []byte(fmt.Sprintf("%078d\r\n", seed))
	return &bodyReader{left: n, line: line, pos: len(line)}
}

func (r *bodyReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.left > 0 {
		if r.pos == len(r.line) {
			// Start a new line; the last one takes what is left, which
			// must be at least its CRLF, and the one before must not
			// leave less than that.
			switch {
			case r.left <= len(r.line):
				r.pos = len(r.line) - r.left
			case r.left == len(r.line)+1:
				r.pos = 2
			default:
				r.pos = 0
			}
		}
		k := copy(p[n:min(len(p), n+r.left)], r.line[r.pos:])
		r.pos += k
		r.left -= k
		n += k
	}
	return n, nil
}

// largeMessage streams a message of exactly size octets from `from` to
// `to`; seed makes its content unique.
func largeMessage(from, to string, size, seed int) (io.Reader, error) {
	head := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: large %d\r\nMessage-ID: <large.%d@remote.test>\r\n\r\n", from, to, seed, seed)
	if size < len(head)+2 {
		return nil, fmt.Errorf("size %d is smaller than the header", size)
	}
	return io.MultiReader(strings.NewReader(head), newBodyReader(size-len(head), seed)), nil
}

// sentLarge is largeMessage as a string, for small sizes.
func sentLarge(from, to string, size, seed int) string {
	r, err := largeMessage(from, to, size, seed)
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(r)
	return string(b)
}

// sendLarge sends one message of exactly size octets (as the client sends
// it, before the server adds its trace fields) through c.
func sendLarge(c *smtp.Client, from, to string, size, seed int) error {
	msg, err := largeMessage(from, to, size, seed)
	if err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return fmt.Errorf("MAIL: %w", err)
	}
	if err := c.Rcpt(to, nil); err != nil {
		return fmt.Errorf("RCPT: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := io.Copy(w, msg); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func TestBodyReaderExactSize(t *testing.T) {
	for _, n := range []int{2, 3, 79, 80, 81, 82, 160, 161, 1000, 4 << 20} {
		b, err := io.ReadAll(newBodyReader(n, 7))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != n || !strings.HasSuffix(string(b), "\r\n") || strings.Contains(strings.ReplaceAll(string(b), "\r\n", ""), "\r") {
			t.Fatalf("size %d: got %d octets ending %q", n, len(b), b[max(0, len(b)-4):])
		}
	}
}

// procStatus reads a field of /proc/PID/status ("self" for this process)
// in KiB, e.g. VmRSS (resident now) or VmHWM (the peak resident size).
func procStatus(t testing.TB, pid, field string) int64 {
	t.Helper()
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%s/status", field, pid)
	return 0
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestBurstLeavesNoBodyInMemory: after a burst of large messages has been
// answered, none of them is still reachable in the server (the store's
// writer, the sessions, the delivery path): the heap is back to about what
// it was before.
func TestBurstLeavesNoBodyInMemory(t *testing.T) {
	const (
		clients = 8
		size    = 4 << 20
	)
	e := startEnv(t, func(c *Config) { c.MaxMessageBytes = 2 * size })
	e.addUser(t, "alice@example.test", "pw")
	// A first message warms up what the server keeps for good (statement
	// caches, pools), so that it does not count as retained.
	warm := dial(t, e.mxAddr)
	if err := sendLarge(warm, "x@remote.test", "alice@example.test", 64<<10, -1); err != nil {
		t.Fatal(err)
	}
	warm.Quit()

	before := heapAlloc()
	rssBefore := procStatus(t, "self", "VmRSS")
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.Dial(e.mxAddr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := sendLarge(c, "x@remote.test", "alice@example.test", size, i); err != nil {
				errs <- err
				return
			}
			errs <- c.Quit()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rssDuring := procStatus(t, "self", "VmHWM")
	after := heapAlloc()
	rssAfter := procStatus(t, "self", "VmRSS")
	t.Logf("test process (server and clients): heap %d KiB before, %d KiB after; RSS %d MiB before, peak %d MiB, %d MiB after",
		before>>10, after>>10, rssBefore>>10, rssDuring>>10, rssAfter>>10)
	if grown := int64(after) - int64(before); grown > size/2 {
		t.Fatalf("heap grew by %d KiB over the burst of %d messages of %d KiB: message bodies are still reachable", grown>>10, clients, size>>10)
	}
}

// TestParallelLargeUploadsMemory runs a real `postern serve` and sends it
// 16 messages of 24 MiB at once. The server must not hold them all in
// memory: its peak resident size stays within 128 MiB of its idle size.
// (Each message is spooled to data_dir as it arrives; only their analysis
// needs a message in memory, and that shares one budget.)
func TestParallelLargeUploadsMemory(t *testing.T) {
	const (
		clients = 16
		size    = 24 << 20
		bound   = 128 << 10 // KiB
	)
	dir := t.TempDir()
	bin := buildPostern(t, dir)
	mxAddr := freePort(t)
	cfgPath := filepath.Join(dir, "config.toml")
	cfg := fmt.Sprintf(`hostname = "localhost"
data_dir = %q
domains = ["example.test"]
[smtp]
listen = %q
[submission]
listen = ""
listen_tls = ""
[imap]
listen = ""
listen_tls = ""
[pop3]
listen = ""
listen_tls = ""
[http]
listen = ""
listen_tls = ""
`, filepath.Join(dir, "data"), mxAddr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := &crashServer{bin: bin, cfg: cfgPath, log: &syncBuffer{}}
	srv.run(t, "alice password\n", "user", "add", "alice@example.test")
	srv.start(t, mxAddr)
	defer func() {
		srv.cmd.Process.Signal(syscall.SIGTERM)
		srv.cmd.Wait()
	}()
	pid := strconv.Itoa(srv.cmd.Process.Pid)

	// Idle: after one small message, so that what is set up once counts
	// as idle.
	c, err := smtp.Dial(mxAddr)
	if err != nil {
		t.Fatal(err)
	}
	if err := sendLarge(c, "x@remote.test", "alice@example.test", 64<<10, -1); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	idle := procStatus(t, pid, "VmRSS")
	// Count the peak from here on (proc(5): writing 5 to clear_refs
	// resets VmHWM to the current resident size).
	if err := os.WriteFile("/proc/"+pid+"/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("resetting the peak RSS of the server: %v", err)
	}

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.Dial(mxAddr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			errs <- sendLarge(c, "x@remote.test", "alice@example.test", size, i)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("upload: %v\n%s", err, srv.log.String())
		}
	}
	took := time.Since(start)
	peak := procStatus(t, pid, "VmHWM")
	after := procStatus(t, pid, "VmRSS")
	t.Logf("postern serve RSS: idle %d MiB, peak %d MiB during %d parallel uploads of %d MiB (%v), %d MiB after",
		idle>>10, peak>>10, clients, size>>20, took.Round(time.Millisecond), after>>10)
	if peak-idle > bound {
		t.Fatalf("peak RSS %d MiB is %d MiB above idle (%d MiB); want at most %d MiB", peak>>10, (peak-idle)>>10, idle>>10, bound>>10)
	}
}

package e2e

import (
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"postern/internal/testserver"
)

// heapObjects is the memory of heap objects, live or not yet swept.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// lineReader streams n octets of text lines ending in CRLF without holding
// them, so that the test's own memory does not hide the server's.
type lineReader struct {
	n    int
	line string
	pos  int
}

func (r *lineReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && r.n > 0 {
		if r.pos == len(r.line) {
			r.pos = 0
			if r.n < len(r.line) {
				r.pos = len(r.line) - r.n // the last line, shorter
			}
		}
		c := copy(p[k:min(len(p), k+r.n)], r.line[r.pos:])
		r.pos += c
		r.n -= c
		k += c
	}
	return k, nil
}

// TestParallelLargeAppendsMemory: 16 IMAP APPENDs of 24 MiB at once do
// not hold 16 messages in the server's memory. Each literal is spooled to
// data_dir as it arrives; only the analysis takes a message in memory, and
// all analyses share one budget. The heap's peak stays within 128 MiB of
// what it was before (this process runs the clients too; they stream).
func TestParallelLargeAppendsMemory(t *testing.T) {
	const (
		clients = 16
		size    = 24 << 20
		bound   = 128 << 20
	)
	ts := testserver.Start(t, testserver.Options{})
	ts.AddUser(t, "alice@example.test", "pw")
	conns := make([]*imapclient.Client, clients)
	for i := range conns {
		conns[i] = imapLogin(t, ts, "alice@example.test", "pw", nil)
	}

	runtime.GC()
	base := heapObjects()
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, heapObjects())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- appendLarge(c, size, i)
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("heap objects: %d MiB before, peak %d MiB during %d parallel APPENDs of %d MiB (%v)",
		base>>20, peak>>20, clients, size>>20, time.Since(start).Round(time.Millisecond))
	if peak > base+bound {
		t.Fatalf("heap peaked %d MiB above its size before (%d MiB); want at most %d MiB", (peak-base)>>20, base>>20, bound>>20)
	}
}

// appendLarge APPENDs a message of exactly size octets to INBOX, streamed.
func appendLarge(c *imapclient.Client, size, seed int) error {
	head := fmt.Sprintf("From: <x@remote.test>\r\nSubject: large %d\r\n\r\n", seed)
	body := &lineReader{n: size - len(head), line: fmt.Sprintf("%078d\r\n", seed)}
	cmd := c.Append("INBOX", int64(size), nil)
	if _, err := io.Copy(cmd, io.MultiReader(strings.NewReader(head), body)); err != nil {
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err := cmd.Wait()
	return err
}

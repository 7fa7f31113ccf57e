package progress

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a clock a test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func TestLines(t *testing.T) {
	var out bytes.Buffer
	c := newClock()
	r := New(&out, Options{Label: "import", Unit: "messages", Items: 4000, Bytes: 40_000_000, Mode: Lines, Interval: -1, Now: c.now})
	c.advance(10 * time.Second)
	r.Add(1000, 10_000_000)
	r.Flush()
	c.advance(10 * time.Second)
	r.Add(1000, 10_000_000)
	r.Flush()
	c.advance(20 * time.Second)
	r.Add(2000, 20_000_000)
	r.Finish()
	r.Finish()
	r.Flush()
	want := "import: 1,000 of 4,000 messages (25%), 10.0 MB, 100 messages/s, 1.0 MB/s, about 30s left\n" +
		"import: 2,000 of 4,000 messages (50%), 20.0 MB, 100 messages/s, 1.0 MB/s, about 20s left\n" +
		"import: done: 4,000 messages, 40.0 MB in 40s, 100 messages/s, 1.0 MB/s\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
	if strings.Contains(out.String(), "\r") {
		t.Fatal("\\r in a log")
	}
}

func TestUnknownTotals(t *testing.T) {
	var out bytes.Buffer
	c := newClock()
	r := New(&out, Options{Label: "reindex", Mode: Lines, Interval: -1, Now: c.now})
	c.advance(2 * time.Second)
	r.Add(50, 0)
	r.Flush()
	if got := out.String(); got != "reindex: 50 items, 25 items/s\n" {
		t.Fatalf("got %q", got)
	}
}

func TestBar(t *testing.T) {
	var out bytes.Buffer
	c := newClock()
	r := New(&out, Options{Label: "import", Unit: "messages", Bytes: 1000, Mode: Bar, Interval: -1, Now: c.now, Width: 60})
	c.advance(5 * time.Second)
	r.Add(10, 500)
	r.Flush()
	first := out.String()
	if !strings.HasPrefix(first, "\rimport [============            ] 10 messages (50%)") || len(first) > 60 {
		t.Fatalf("bar %q", first)
	}
	out.Reset()
	r.SetTotal(0, 0)
	r.Flush()
	// The shorter line wipes the end of the longer one.
	if got := out.String(); !strings.HasPrefix(got, "\rimport 10 messages, 500 B") || len(got) != len(first) {
		t.Fatalf("redraw %q", got)
	}
	out.Reset()
	r.Finish()
	if got := out.String(); !strings.HasSuffix(got, "\n") || !strings.Contains(got, "in 5s") {
		t.Fatalf("final %q", got)
	}
}

func TestAutoOnAFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := New(f, Options{Label: "backup", Interval: -1})
	r.Add(1, 1)
	r.Finish()
	b, _ := os.ReadFile(f.Name())
	if r.bar || strings.Contains(string(b), "\r") || !strings.HasPrefix(string(b), "backup: done: 1 items") {
		t.Fatalf("a file got %q", b)
	}
}

// TestTicker lets the reporter's own ticker write lines while other
// goroutines count.
func TestTicker(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	r := New(w, Options{Label: "export", Mode: Lines, Interval: time.Millisecond})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				r.Add(1, 10)
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := strings.Count(out.String(), "\n")
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ticker wrote no lines")
		}
		time.Sleep(time.Millisecond)
	}
	r.Finish()
	mu.Lock()
	defer mu.Unlock()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "export: done: 4,000 items, 40.0 kB") {
		t.Fatalf("last line %q", last)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestFormats(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q", n, got)
		}
	}
	for n, want := range map[int64]string{999: "999 B", 1500: "1.5 kB", 2_500_000_000: "2.5 GB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q", n, got)
		}
	}
	for d, want := range map[time.Duration]string{42 * time.Second: "42s", 185 * time.Second: "3m05s", 7620 * time.Second: "2h07m"} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q", d, got)
		}
	}
}

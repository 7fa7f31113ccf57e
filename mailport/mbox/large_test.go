package mbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// writeBig writes an mbox with a small message, one of size octets (lines
// of 76 characters, some "From " lines quoted), and another small one; it
// returns the SHA-256 of the big message as it must read back.
func writeBig(t testing.TB, path string, size int) [32]byte {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	h := sha256.New()
	w.WriteString("From a@b Mon Jan  2 15:04:05 2006\nSubject: small\n\nsmall\n\n")
	w.WriteString("From a@b Mon Jan  2 15:04:05 2006\n")
	hdr := "Subject: big\r\n\r\n"
	w.WriteString(hdr)
	h.Write([]byte(hdr))
	line := strings.Repeat("0123456789", 7) + "abcd\r\n"
	from := "From here, a line the writer quoted\r\n"
	for n := len(hdr); n < size; {
		l := line
		if n%(1<<20) < len(line) {
			l = from
			w.WriteString(">")
		}
		w.WriteString(l)
		h.Write([]byte(l))
		n += len(l)
	}
	w.WriteString("\nFrom a@b Mon Jan  2 15:04:05 2006\nSubject: after\n\nafter\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// TestHundredMegabyteMessage reads a 100 MB message and checks that reading
// it allocates a small, fixed amount: the message is streamed, never held.
func TestHundredMegabyteMessage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.mbox")
	want := writeBig(t, path, 100<<20)
	src, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var subjects []string
	buf := make([]byte, 32<<10)
	for {
		m, err := src.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.CopyBuffer(h, m.Body, buf)
		if err != nil || n != m.Size {
			t.Fatalf("read %d of %d: %v", n, m.Size, err)
		}
		if m.Size > 1<<20 {
			if !bytes.Equal(h.Sum(nil), want[:]) {
				t.Fatal("the big message read back different")
			}
			subjects = append(subjects, "big")
		} else {
			subjects = append(subjects, "small")
		}
	}
	runtime.ReadMemStats(&after)
	if strings.Join(subjects, " ") != "small big small" {
		t.Fatalf("messages: %v", subjects)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Fatalf("reading a 100 MB message allocated %d MB", alloc>>20)
	}
}

// BenchmarkMboxRead reads an mbox of 8 KB messages; it reports messages per
// second and the heap allocated per message.
func BenchmarkMboxRead(b *testing.B) {
	const n = 5000
	path := filepath.Join(b.TempDir(), "bench.mbox")
	f, _ := os.Create(path)
	w := bufio.NewWriter(f)
	body := strings.Repeat(strings.Repeat("x", 78)+"\n", 100)
	for i := range n {
		fmt.Fprintf(w, "From a@b Mon Jan  2 15:04:05 2006\nStatus: RO\nSubject: %d\n\n%s\n", i, body)
	}
	w.Flush()
	f.Close()
	buf := make([]byte, 32<<10)
	b.ResetTimer()
	var bytes int64
	for b.Loop() {
		src, err := Open(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		for {
			m, err := src.Next(context.Background())
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			k, _ := io.CopyBuffer(io.Discard, m.Body, buf)
			bytes += k
		}
		src.Close()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(bytes)/b.Elapsed().Seconds()/1e6, "MB/s")
}

// BenchmarkMboxLargeMessage reads one 100 MB message and reports the heap
// it allocates.
func BenchmarkMboxLargeMessage(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.mbox")
	writeBig(b, path, 100<<20)
	buf := make([]byte, 32<<10)
	b.ReportAllocs()
	b.SetBytes(100 << 20)
	for b.Loop() {
		src, _ := Open(path, nil)
		for {
			m, err := src.Next(context.Background())
			if err != nil {
				break
			}
			io.CopyBuffer(io.Discard, m.Body, buf)
		}
		src.Close()
	}
}

// BenchmarkMemory200k reads an mbox of 200,000 messages of 1 KB and reports
// the largest heap seen while reading and the process's peak RSS.
func BenchmarkMemory200k(b *testing.B) {
	const n = 200000
	path := filepath.Join(b.TempDir(), "big.mbox")
	f, _ := os.Create(path)
	w := bufio.NewWriter(f)
	body := strings.Repeat(strings.Repeat("y", 63)+"\n", 15)
	for i := range n {
		fmt.Fprintf(w, "From a@b Mon Jan  2 15:04:05 2006\nStatus: RO\nSubject: %d\n\n%s\n", i, body)
	}
	w.Flush()
	f.Close()
	buf := make([]byte, 32<<10)
	for b.Loop() {
		runtime.GC()
		var peak uint64
		src, err := Open(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; ; i++ {
			m, err := src.Next(context.Background())
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			io.CopyBuffer(io.Discard, m.Body, buf)
			if i%10000 == 0 {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
		src.Close()
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss-MiB")
}

package maildir

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// BenchmarkRead reads a Maildir of 8 KB messages, bodies included, and
// reports messages per second; an import must reach 2,000 messages per
// second with the store's work on top, so the reader must do far better.
func BenchmarkRead(b *testing.B) {
	const n = 5000
	root := b.TempDir()
	mkMaildir(b, root)
	body := strings.Repeat(strings.Repeat("x", 78)+"\r\n", 103)[:8192]
	os.WriteFile(filepath.Join(root, "dovecot-keywords"), []byte("0 $Forwarded\n"), 0o600)
	for i := range n {
		name := fmt.Sprintf("%d.M%dP1.host,S=8192:2,RSa", 1700000000+i, i)
		os.WriteFile(filepath.Join(root, "cur", name), []byte(body), 0o600)
	}
	buf := make([]byte, 32<<10)
	b.ReportAllocs()
	for b.Loop() {
		src, err := Open(root)
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
			if k, err := io.CopyBuffer(io.Discard, m.Body, buf); err != nil || k != 8192 {
				b.Fatal(k, err)
			}
		}
		src.Close()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkMemory200k reads a Maildir of 200,000 messages of 1 KB and
// reports the largest heap seen while reading and the process's peak RSS:
// the source's share of the 200 MiB an import of that size may use.
func BenchmarkMemory200k(b *testing.B) {
	const n = 200000
	root := b.TempDir()
	mkMaildir(b, root)
	body := []byte(strings.Repeat(strings.Repeat("y", 62)+"\r\n", 16))
	for i := range n {
		name := fmt.Sprintf("%d.M%dP1.host,S=%d:2,S", 1600000000+i, i, len(body))
		if err := os.WriteFile(filepath.Join(root, "cur", name), body, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	buf := make([]byte, 32<<10)
	for b.Loop() {
		runtime.GC()
		var peak uint64
		src, err := Open(root)
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

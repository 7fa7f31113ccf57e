package maildir

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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

package storage

import (
	"context"
	"strings"
	"testing"
)

// benchAppend appends 8 KB messages from 8 goroutines, each waiting for its
// durable commit, and reports appends per second.
func benchAppend(b *testing.B, opts Options) {
	st, err := Open(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	a := newAccount(b, st, "bench@example.test")
	line := strings.Repeat("x", 78) + "\r\n"
	text := strings.Repeat(line, 8192/len(line))
	b.SetParallelism(4) // 4 x GOMAXPROCS(2) = 8 goroutines
	b.ResetTimer()
	var seq int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := atomicAdd(&seq)
			body := NewBody([]byte("Subject: bench " + itoa(n) + "\r\n\r\n" + text))
			if _, err := st.Append(context.Background(), []AppendItem{{AccountID: a.ID, Body: body}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

func BenchmarkAppend8KGroupCommit(b *testing.B) { benchAppend(b, Options{}) }

// BenchmarkAppend8KOneTxPerAppend is the baseline: one transaction (and one
// fsync) per append.
func BenchmarkAppend8KOneTxPerAppend(b *testing.B) { benchAppend(b, Options{NoGroupCommit: true}) }

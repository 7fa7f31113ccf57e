package sqlite

import (
	"context"
	"strings"
	"testing"

	"postern/storage"
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
			body := storage.NewBody([]byte("Subject: bench " + itoa(n) + "\r\n\r\n" + text))
			if _, err := st.Append(context.Background(), []storage.AppendItem{{AccountID: a.ID, Body: body}}); err != nil {
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

// fillMailbox appends n small messages to a fresh account's INBOX.
func fillMailbox(b *testing.B, n int) (*Store, storage.Mailbox) {
	st, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	a := newAccount(b, st, "big@example.test")
	items := make([]storage.AppendItem, 0, 500)
	for i := 0; i < n; i++ {
		items = append(items, storage.AppendItem{AccountID: a.ID, Body: storage.NewBody([]byte("From: Someone <someone@example.test>\r\nTo: big@example.test\r\nSubject: message number " + itoa(int64(i)) + "\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: <" + itoa(int64(i)) + "@example.test>\r\n\r\nHello.\r\n"))})
		if len(items) == cap(items) || i == n-1 {
			if _, err := st.Append(context.Background(), items); err != nil {
				b.Fatal(err)
			}
			items = items[:0]
		}
	}
	m, err := st.Mailbox(context.Background(), a.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	return st, m
}

func BenchmarkMessageUIDs10k(b *testing.B) {
	st, m := fillMailbox(b, 10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if s, err := st.MessageUIDs(context.Background(), m.ID); err != nil || len(s) != 10000 {
			b.Fatal(len(s), err)
		}
	}
}

func BenchmarkFetchEnvelopes10k(b *testing.B) {
	st, m := fillMailbox(b, 10000)
	uids := make([]uint32, 10000)
	for i := range uids {
		uids[i] = uint32(i + 1)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for off := 0; off < len(uids); off += 500 {
			if _, err := st.FetchMessages(context.Background(), m.ID, uids[off:off+500], storage.FetchWant{Envelope: true}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkStoreFlags10k(b *testing.B) {
	st, m := fillMailbox(b, 10000)
	uids := make([]uint32, 10000)
	for i := range uids {
		uids[i] = uint32(i + 1)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op := storage.FlagsAdd
		if i%2 == 1 {
			op = storage.FlagsRemove
		}
		if ch, err := st.StoreFlags(context.Background(), m.ID, uids, op, storage.FlagSet{System: storage.FlagSeen}); err != nil || len(ch) != 10000 {
			b.Fatal(len(ch), err)
		}
	}
}

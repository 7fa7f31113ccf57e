package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"

	"postern/mimeinfo"
)

// normalizeByByte is the rule normalize implements, stated one octet at a
// time: every bare LF or bare CR becomes CRLF.
func normalizeByByte(in []byte) []byte {
	var out []byte
	for i, c := range in {
		switch {
		case c == '\n' && (i == 0 || in[i-1] != '\r'):
			out = append(out, '\r', '\n')
		case c == '\r' && (i+1 == len(in) || in[i+1] != '\n'):
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	return out
}

// FuzzNormalize: normalize agrees with the octet-by-octet rule however the
// input is split into reads, and the cap refuses exactly what exceeds it.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", "a\r\nb", "a\nb", "a\rb", "\r", "\n", "\r\r\n\n", "x\r", strings.Repeat("ab\r", 100)} {
		f.Add([]byte(s), uint8(1), uint16(0))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8, max uint16) {
		want := normalizeByByte(in)
		var got bytes.Buffer
		r := &splitReader{b: in, n: int(chunk%13) + 1}
		n, err := normalize(&got, r, int64(max))
		if max > 0 && len(want) > int(max) {
			if !errors.Is(err, ErrTooBig) {
				t.Fatalf("%q (%d octets normalised) under a cap of %d: %v", in, len(want), max, err)
			}
			return
		}
		if err != nil || n != int64(len(want)) || !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("normalize(%q) = %q, %d, %v; want %q", in, got.Bytes(), n, err, want)
		}
	})
}

type splitReader struct {
	b []byte
	n int
}

func (r *splitReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}

// bigMessage is a message of at least n octets with bare LF line ends.
func bigMessage(n int) []byte {
	var b bytes.Buffer
	b.WriteString("From: a@example.test\nSubject: big\nContent-Type: text/plain\n\n")
	for b.Len() < n {
		b.WriteString("0123456789abcdefghijklmnopqrstuvwxyz\n")
	}
	return b.Bytes()
}

// TestSpoolBodyMatchesPrepareBody: a spooled body is the body PrepareBody
// makes in memory: the same octets, hash, analysis and chunks. Its Tail is
// NewBody of the same octets. (Storing it and reading it back is checked
// by storagetest.)
func TestSpoolBodyMatchesPrepareBody(t *testing.T) {
	dir := t.TempDir()
	sv := NewSpooler(dir, 0)
	ctx := context.Background()
	for _, size := range []int{0, 100, spoolThreshold - 10, spoolThreshold + 10, 3*testChunk + 1000} {
		raw := bigMessage(size)
		if size == 0 {
			raw = nil
		}
		mem, err := PrepareBody(bytes.NewReader(raw), 0)
		if err != nil {
			t.Fatal(err)
		}
		sp, err := sv.SpoolBody(ctx, bytes.NewReader(raw), 0)
		if err != nil {
			t.Fatal(err)
		}
		if spooled := sp.sp != nil; spooled != (mem.Size() > spoolThreshold) {
			t.Errorf("size %d: spooled %v", mem.Size(), spooled)
		}
		if sp.Size() != mem.Size() || sp.Hash() != mem.Hash() || !sameInfo(sp.Info(), mem.Info()) || !bytes.Equal(sp.Bytes(), mem.Bytes()) {
			t.Fatalf("size %d: spooled body differs from the one in memory", size)
		}
		if got, _ := io.ReadAll(sp.Reader()); !bytes.Equal(got, mem.Bytes()) {
			t.Fatalf("size %d: Reader differs", size)
		}
		var hdr []byte
		if err := sp.WithHeader(ctx, func(h []byte) error { hdr = bytes.Clone(h); return nil }); err != nil || !bytes.Equal(hdr, mem.Bytes()[:mem.info.HeaderLen]) {
			t.Fatalf("size %d: header %q, %v", size, hdr, err)
		}
		if h, err := sp.Header(); err != nil || !bytes.Equal(h, hdr) {
			t.Fatalf("size %d: Header %q, %v", size, h, err)
		}
		if got := chunks(t, sp); !bytes.Equal(got, mem.Bytes()) || len(chunks(t, mem)) != len(got) {
			t.Fatalf("size %d: the chunks do not make up the message", size)
		}
		n := min(int64(7), sp.Size())
		tail, err := sp.Tail(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		want := NewBody(mem.Bytes()[n:])
		if tail.Hash() != want.Hash() || !sameInfo(tail.Info(), want.Info()) || !bytes.Equal(tail.Bytes(), want.Bytes()) {
			t.Fatalf("size %d: Tail differs from NewBody of the same octets", size)
		}
		sp.Close()
		tail.Close()
		if sp.sp != nil {
			if _, err := sp.sp.f.Stat(); !errors.Is(err, os.ErrClosed) {
				t.Errorf("spool file still open after both bodies closed: %v", err)
			}
		}
	}
	// Nothing is left in data_dir: spool files are unlinked at once.
	if names, _ := filepath.Glob(filepath.Join(dir, spoolPattern)); len(names) != 0 {
		t.Errorf("spool files left: %v", names)
	}
}

const testChunk = 1000

// chunks joins what EachChunk hands out in pieces of testChunk octets,
// checking their numbers and sizes.
func chunks(t *testing.T, b *Body) []byte {
	t.Helper()
	var all []byte
	next := 0
	err := b.EachChunk(testChunk, func(n int, c []byte) error {
		if n != next || len(c) > testChunk || len(c) < testChunk && int64(len(all)+len(c)) != b.Size() {
			t.Fatalf("chunk %d (want %d) of %d octets", n, next, len(c))
		}
		next++
		all = append(all, c...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func sameInfo(a, b *mimeinfo.Info) bool {
	return a.HeaderLen == b.HeaderLen && bytes.Equal(a.Envelope, b.Envelope) && bytes.Equal(a.BodyStructure, b.BodyStructure) &&
		bytes.Equal(a.Body, b.Body) && a.Subject == b.Subject && a.From == b.From && a.Date.Equal(b.Date)
}

func TestSpoolBodyErrors(t *testing.T) {
	st := NewSpooler(t.TempDir(), 0)
	ctx := context.Background()
	raw := bigMessage(2 * spoolThreshold)
	if _, err := st.SpoolBody(ctx, bytes.NewReader(raw), spoolThreshold); !errors.Is(err, ErrTooBig) {
		t.Errorf("over the cap: %v", err)
	}
	broken := errors.New("connection reset")
	if _, err := st.SpoolBody(ctx, io.MultiReader(bytes.NewReader(raw), iotest.ErrReader(broken)), 0); !errors.Is(err, broken) {
		t.Errorf("read error: %v", err)
	}
	// Waiting for the analysis budget ends with the context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := st.SpoolBody(cctx, bytes.NewReader(raw), 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestAnalysisBudget: analyses at once never hold more than the budget,
// except one message larger than the whole budget, which holds it alone.
func TestAnalysisBudget(t *testing.T) {
	const budget = 100
	a := newAnalysisBudget(budget)
	var held, peak atomic.Int64
	var wg sync.WaitGroup
	for i := range 64 {
		n := int64(10 + i%5*20) // 10..90
		if i%16 == 0 {
			n = 1000 // larger than the budget
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := min(n, budget)
			a.hold(context.Background(), n, func() error {
				now := held.Add(w)
				for {
					p := peak.Load()
					if now <= p || peak.CompareAndSwap(p, now) {
						break
					}
				}
				held.Add(-w)
				return nil
			})
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > budget {
		t.Fatalf("%d octets held at once, budget %d", p, budget)
	}
}

func TestOpenRemovesStaleSpools(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".spool-123")
	if err := os.WriteFile(stale, []byte("left by a crash"), 0o600); err != nil {
		t.Fatal(err)
	}
	NewSpooler(dir, 0)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale spool file still there: %v", err)
	}
}

func TestPrepareBodyLineEndings(t *testing.T) {
	for in, want := range map[string]string{
		"a\nb":       "a\r\nb",
		"a\rb\r":     "a\r\nb\r\n",
		"a\r\nb\r\n": "a\r\nb\r\n",
		"\r\r\n\n":   "\r\n\r\n\r\n",
		"":           "",
	} {
		b, err := PrepareBody(strings.NewReader(in), 0)
		if err != nil || string(b.Bytes()) != want {
			t.Errorf("PrepareBody(%q) = %q, %v; want %q", in, b.Bytes(), err, want)
		}
	}
	if _, err := PrepareBody(strings.NewReader(strings.Repeat("x\n", 1000)), 1000); !errors.Is(err, ErrTooBig) {
		t.Errorf("size cap: %v", err)
	}
}

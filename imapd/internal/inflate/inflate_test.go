package inflate

import (
	"bytes"
	"compress/flate"
	"io"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"
)

// chunkSource hands out its chunks one Read at a time and then blocks, as
// a connection does whose peer has sent everything it means to for now.
type chunkSource struct {
	chunks [][]byte
	block  chan struct{}
}

func (c *chunkSource) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		<-c.block
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if n == len(c.chunks[0]) {
		c.chunks = c.chunks[1:]
	} else {
		c.chunks[0] = c.chunks[0][n:]
	}
	return n, nil
}

// readAll reads want bytes, failing if a Read blocks for long.
func readAll(t *testing.T, r io.Reader, want int) []byte {
	t.Helper()
	got := make(chan []byte)
	go func() {
		var out []byte
		buf := make([]byte, 7)
		for len(out) < want {
			n, err := r.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil {
				break
			}
		}
		got <- out
	}()
	select {
	case b := <-got:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("Read waits for input that was never sent")
	}
	return nil
}

// The stream mbsync (isync 1.4, zlib) sent, flushed with Z_PARTIAL_FLUSH:
// every command comes out without a byte more.
func TestPartialFlushFromMbsync(t *testing.T) {
	data, err := os.ReadFile("testdata/mbsync-partial-flush.deflate")
	if err != nil {
		t.Fatal(err)
	}
	want := "3 NAMESPACE\r\n4 LIST \"\" \"*\"\r\n5 SELECT \"INBOX\"\r\n6 UID FETCH 1:21 (UID FLAGS)\r\n7 UID FETCH 1 (BODY.PEEK[])\r\n"
	src := &chunkSource{chunks: [][]byte{data}, block: make(chan struct{})}
	defer close(src.block)
	r := NewReader(src)
	got := readAll(t, r, 715)
	if !strings.HasPrefix(string(got), want) || !strings.HasSuffix(string(got), "27 UID FETCH 21 (BODY.PEEK[])\r\n") {
		t.Fatalf("got %q", got)
	}
}

// Go's compressor with a sync flush after each piece, split anywhere.
func TestSyncFlushRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 50; round++ {
		var comp bytes.Buffer
		fw, _ := flate.NewWriter(&comp, rng.Intn(10)-1)
		var plain []byte
		var chunks [][]byte
		for i := 0; i < 20; i++ {
			piece := make([]byte, rng.Intn(5000))
			for j := range piece {
				if rng.Intn(3) == 0 {
					piece[j] = byte(rng.Intn(256))
				} else {
					piece[j] = "abc \r\n"[rng.Intn(6)]
				}
			}
			fw.Write(piece)
			fw.Flush()
			plain = append(plain, piece...)
			b := append([]byte(nil), comp.Bytes()...)
			comp.Reset()
			for len(b) > 0 { // split each flush at random
				k := 1 + rng.Intn(len(b))
				chunks = append(chunks, b[:k])
				b = b[k:]
			}
		}
		src := &chunkSource{chunks: chunks, block: make(chan struct{})}
		got := readAll(t, NewReader(src), len(plain))
		close(src.block)
		if !bytes.Equal(got, plain) {
			t.Fatalf("round %d: %d bytes, want %d", round, len(got), len(plain))
		}
	}
}

// Garbage ends in ErrCorrupt (or an unexpected end), fast.
func TestGarbage(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 200; i++ {
		b := make([]byte, 1+rng.Intn(4096))
		rng.Read(b)
		r := NewReader(bytes.NewReader(b))
		n, err := io.Copy(io.Discard, io.LimitReader(r, 1<<24))
		if err == nil && n == 1<<24 {
			t.Fatalf("garbage inflated to %d bytes", n)
		}
	}
}

func FuzzInflate(f *testing.F) {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, 5)
	fw.Write([]byte("a1 NOOP\r\na2 SELECT INBOX\r\n"))
	fw.Flush()
	f.Add(b.Bytes())
	data, _ := os.ReadFile("testdata/mbsync-partial-flush.deflate")
	f.Add(data)
	f.Add([]byte{0, 0, 0, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		// Bounded: at most 258 bytes out per input bit, and no panic.
		n, _ := io.Copy(io.Discard, io.LimitReader(r, int64(len(data))*8*258+1))
		if n > int64(len(data))*8*258 {
			t.Fatalf("%d bytes from %d", n, len(data))
		}
		want, errStd := io.ReadAll(flate.NewReader(bytes.NewReader(data)))
		if errStd == nil {
			got, err := io.ReadAll(NewReader(bytes.NewReader(data)))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("differs from compress/flate: %v", err)
			}
		}
	})
}

func BenchmarkInflate(b *testing.B) {
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, 6)
	text := []byte(strings.Repeat("Subject: a line of a mail message, 1234567890\r\n", 20000))
	fw.Write(text)
	fw.Close()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		io.Copy(io.Discard, NewReader(bytes.NewReader(comp.Bytes())))
	}
}

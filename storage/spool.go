package storage

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"

	"golang.org/x/sync/semaphore"

	"postern/mimeinfo"
)

// A message arrives as a stream and may be large. SpoolBody keeps a small
// one in memory and writes a larger one, as it arrives, to a temporary file
// in the data directory, so that a connection costs little memory whatever
// the size of its message. Two steps need a whole message in memory: the
// hash that stores a body once, and the MIME analysis (mimeinfo.Parse).
// They run under one budget shared by every connection
// (NewSpooler): N uploads at once cost one budget, not N
// messages. The backend copies a spooled body chunk by chunk (EachChunk).

const (
	// spoolThreshold is the largest message kept in memory as it arrives.
	spoolThreshold = 256 << 10
	// DefaultAnalysisMemory is the default Options.AnalysisMemory.
	DefaultAnalysisMemory = 32 << 20
	// spoolPattern names spool files; they are unlinked as soon as they
	// are created, so only a crash in between leaves one, which Open
	// removes.
	spoolPattern = ".spool-*"
)

// spool is an unlinked temporary file holding one received message. Bodies
// share it (Body.Tail); the file is closed when the last one lets go.
type spool struct {
	f    *os.File
	refs atomic.Int32
}

func (sp *spool) release() {
	if sp.refs.Add(-1) == 0 {
		sp.f.Close()
	}
}

// spoolRef is one Body's hold on its spool, let go once: by Close, or by a
// cleanup when a Body is dropped without Close.
type spoolRef struct {
	sp   *spool
	done atomic.Bool
}

func (r *spoolRef) release() {
	if r.done.CompareAndSwap(false, true) {
		r.sp.release()
	}
}

// spooledBody returns a Body of the size octets at off in sp. It is not
// analysed yet.
func spooledBody(sp *spool, off, size int64, budget *analysisBudget) *Body {
	sp.refs.Add(1)
	b := &Body{sp: sp, ref: &spoolRef{sp: sp}, off: off, size: size, budget: budget}
	runtime.AddCleanup(b, func(r *spoolRef) { r.release() }, b.ref)
	return b
}

// analysisBudget bounds the memory of messages being hashed and analysed at
// once, across all connections. A message larger than the whole budget
// takes all of it.
type analysisBudget struct {
	sem *semaphore.Weighted
	max int64
}

func newAnalysisBudget(n int64) *analysisBudget {
	if n <= 0 {
		n = DefaultAnalysisMemory
	}
	return &analysisBudget{sem: semaphore.NewWeighted(n), max: n}
}

// hold runs fn with n octets of the budget.
func (a *analysisBudget) hold(ctx context.Context, n int64, fn func() error) error {
	n = min(n, a.max)
	if err := a.sem.Acquire(ctxOrBackground(ctx), n); err != nil {
		return fmt.Errorf("storage: waiting for memory to analyse a message: %w", err)
	}
	defer a.sem.Release(n)
	return fn()
}

// Spooler prepares received messages for storing (SpoolBody) under one
// memory budget. A backend makes one and offers its SpoolBody.
type Spooler struct {
	dir      string
	analysis *analysisBudget
}

// NewSpooler returns a Spooler that writes spool files in dir (the data
// directory) and analyses at most memory octets of messages at once (0:
// DefaultAnalysisMemory). It removes spool files a crash left in dir.
func NewSpooler(dir string, memory int64) *Spooler {
	removeStaleSpools(dir)
	return &Spooler{dir: dir, analysis: newAnalysisBudget(memory)}
}

// SpoolBody reads a message as it arrives and prepares it for storing, like
// PrepareBody (line endings normalised to CRLF, ErrTooBig past maxBytes, 0:
// no cap), without holding a large message in memory: past a few hundred
// KiB the message goes to a file in the data directory. The caller must
// Close the Body once it is stored (or not). Errors from r are returned as
// they are; waiting for the analysis budget ends with ctx.
func (s *Spooler) SpoolBody(ctx context.Context, r io.Reader, maxBytes int64) (*Body, error) {
	w := &spoolWriter{dir: s.dir}
	n, err := normalize(w, r, maxBytes)
	if err == nil {
		err = w.finish()
	}
	if err != nil {
		w.abort()
		if errors.Is(err, syscall.ENOSPC) {
			// A full disk is ErrNoSpace, as in the store.
			err = fmt.Errorf("%w: %w", ErrNoSpace, err)
		}
		return nil, err
	}
	if w.f == nil {
		return NewBody(w.mem), nil
	}
	sp := &spool{f: w.f}
	b := spooledBody(sp, 0, n, s.analysis)
	if err := b.analyse(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// spoolWriter collects a message in memory up to spoolThreshold, then in an
// unlinked temporary file in dir.
type spoolWriter struct {
	dir string
	mem []byte
	f   *os.File
	bw  *bufio.Writer
}

func (w *spoolWriter) Write(p []byte) (int, error) {
	if w.f == nil {
		if len(w.mem)+len(p) <= spoolThreshold {
			w.mem = append(w.mem, p...)
			return len(p), nil
		}
		if err := w.spill(); err != nil {
			return 0, err
		}
	}
	return w.bw.Write(p)
}

// spill moves what is in memory to a new spool file.
func (w *spoolWriter) spill() error {
	f, err := os.CreateTemp(w.dir, spoolPattern)
	if err != nil {
		return fmt.Errorf("storage: spooling a message in data_dir %s: %w", w.dir, err)
	}
	// Unlinked at once: the open file keeps its data, and neither a
	// crash nor a forgotten Close leaves it behind.
	os.Remove(f.Name())
	w.f = f
	w.bw = bufio.NewWriterSize(f, 64<<10)
	_, err = w.bw.Write(w.mem)
	w.mem = nil
	return err
}

func (w *spoolWriter) finish() error {
	if w.f == nil {
		return nil
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("storage: spooling a message in data_dir %s: %w", w.dir, err)
	}
	w.bw = nil
	return nil
}

func (w *spoolWriter) abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	w.mem, w.bw = nil, nil
}

// removeStaleSpools deletes spool files a crash left in dir.
func removeStaleSpools(dir string) {
	names, _ := filepath.Glob(filepath.Join(dir, spoolPattern))
	for _, n := range names {
		os.Remove(n)
	}
}

// normalize copies r to w with every line ending (bare LF or bare CR) made
// CRLF, and returns the octets written. It fails with ErrTooBig when the
// result would exceed maxBytes (0: no cap). An error of r is returned as it
// is.
func normalize(w io.Writer, r io.Reader, maxBytes int64) (int64, error) {
	in := make([]byte, 32<<10)
	out := make([]byte, 0, 2*len(in)+1)
	var n int64
	prevCR := false
	put := func() error {
		if maxBytes > 0 && n+int64(len(out)) > maxBytes {
			return fmt.Errorf("message larger than %d bytes: %w", maxBytes, ErrTooBig)
		}
		if _, err := w.Write(out); err != nil {
			return err
		}
		n += int64(len(out))
		out = out[:0]
		return nil
	}
	for {
		k, rerr := r.Read(in)
		p := in[:k]
		for len(p) > 0 {
			if prevCR {
				prevCR = false
				if p[0] == '\n' { // the LF of a CRLF
					out = append(out, '\n')
					p = p[1:]
					continue
				}
				out = append(out, '\n') // complete the bare CR
			}
			i := bytes.IndexAny(p, "\r\n")
			if i < 0 {
				out = append(out, p...)
				break
			}
			out = append(out, p[:i]...)
			if p[i] == '\r' {
				out = append(out, '\r')
				prevCR = true
			} else {
				out = append(out, '\r', '\n') // a bare LF
			}
			p = p[i+1:]
		}
		if err := put(); err != nil {
			return n, err
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, rerr
		}
	}
	if prevCR {
		out = append(out, '\n')
		if err := put(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// analyse hashes and analyses a spooled body, holding it in memory under
// the analysis budget.
func (b *Body) analyse(ctx context.Context) error {
	return b.budget.hold(ctx, b.size, func() error {
		buf := make([]byte, b.size)
		if _, err := b.sp.f.ReadAt(buf, b.off); err != nil {
			return fmt.Errorf("storage: reading back a spooled message: %w", err)
		}
		b.hash = sha256.Sum256(buf)
		b.info = mimeinfo.Parse(buf)
		return nil
	})
}

// ReadAt implements io.ReaderAt over the message.
func (b *Body) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("storage: negative offset")
	}
	if off >= b.size {
		return 0, io.EOF
	}
	if max := b.size - off; int64(len(p)) > max {
		p = p[:max]
		n, err := b.readAt(p, off)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return b.readAt(p, off)
}

func (b *Body) readAt(p []byte, off int64) (int, error) {
	if b.sp == nil {
		return copy(p, b.data[off:]), nil
	}
	return b.sp.f.ReadAt(p, b.off+off)
}

// Reader returns a reader of the whole message.
func (b *Body) Reader() io.Reader { return io.NewSectionReader(b, 0, b.size) }

// WithHeader calls fn with the message's header block (RFC 5322 §2.1, up to
// and including the empty line). A spooled message's header is read into
// memory under the analysis budget while fn runs; fn must not keep it.
func (b *Body) WithHeader(ctx context.Context, fn func(header []byte) error) error {
	n := int64(b.info.HeaderLen)
	if b.sp == nil {
		return fn(b.data[:n])
	}
	return b.budget.hold(ctx, n, func() error {
		h := make([]byte, n)
		if _, err := b.sp.f.ReadAt(h, b.off); err != nil {
			return fmt.Errorf("storage: reading back a spooled message: %w", err)
		}
		return fn(h)
	})
}

// Tail returns the message without its first n octets, analysed on its
// own, as another Body (e.g. the outbound copy without the Return-Path
// field that only final delivery adds). It shares a spooled message's file;
// both must be closed.
func (b *Body) Tail(ctx context.Context, n int64) (*Body, error) {
	if n < 0 || n > b.size {
		return nil, fmt.Errorf("storage: tail at %d of a %d-octet message", n, b.size)
	}
	if b.sp == nil {
		return NewBody(b.data[n:]), nil
	}
	t := spooledBody(b.sp, b.off+n, b.size-n, b.budget)
	if err := t.analyse(ctx); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// Close lets go of a spooled message's file; the Body cannot be read or
// stored after. It does nothing for a message held in memory.
func (b *Body) Close() error {
	if b.ref != nil {
		b.ref.release()
	}
	return nil
}

// Package wire is the byte level of Postern's IMAP engine: a reader for
// command lines and literals with limits, token parsers that produce
// go-imap/v2 types, and a response encoder.
package wire

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// ErrLineTooLong is returned when the text of a command (its bytes other
// than literals, over all its lines) exceeds the reader's MaxLine.
var ErrLineTooLong = errors.New("imap: command line too long")

// readBufSize is the size of the pooled read buffer. It is only held
// while bytes are buffered or a command is being read; an idle connection
// gives it back (see Release).
const readBufSize = 4096

var readBufPool = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// Reader is a buffered reader for the IMAP command stream. It counts the
// text bytes of the current command so that no parser can be made to
// allocate without bound, and it reads literals as length-counted raw
// bytes.
type Reader struct {
	rd      io.Reader
	bufp    *[]byte
	buf     []byte
	r, w    int
	lineLen int
	// MaxLine caps the non-literal bytes of one command: the count goes
	// on across the literals inside a command, so that splitting a command
	// with literals does not get around it.
	MaxLine int
	err     error
	// small receives the first bytes after the buffer was released, so a
	// connection blocked waiting for input holds no pooled buffer.
	small [16]byte
}

// NewReader returns a Reader on rd with the given line limit.
func NewReader(rd io.Reader, maxLine int) *Reader {
	return &Reader{rd: rd, MaxLine: maxLine}
}

// Reset points the reader at a new source and drops anything buffered.
// STARTTLS uses it so that bytes pipelined after the command are never
// read as commands (RFC 3501 §6.2.1, RFC 2595 §3.1).
func (r *Reader) Reset(rd io.Reader) {
	r.rd = rd
	r.r, r.w = 0, 0
	r.err = nil
	r.lineLen = 0
}

// Switch makes the reader read through wrap from now on: the bytes it
// has buffered but not handed out come first, then the source. COMPRESS
// uses it, since the compressed stream starts right after the CRLF of the
// command (RFC 4978 §3) and the client may have sent both together.
func (r *Reader) Switch(wrap func(io.Reader) io.Reader) {
	src := r.rd
	if r.r < r.w {
		pending := append([]byte(nil), r.buf[r.r:r.w]...)
		src = io.MultiReader(bytes.NewReader(pending), src)
	}
	r.Reset(wrap(src))
}

// Buffered reports the number of bytes that can be read without I/O.
func (r *Reader) Buffered() int { return r.w - r.r }

// Release gives the read buffer back to the pool when nothing is buffered,
// so that a connection waiting for its next command (or in IDLE) holds no
// buffer of its own.
func (r *Reader) Release() {
	if r.bufp != nil && r.r == r.w {
		readBufPool.Put(r.bufp)
		r.bufp, r.buf = nil, nil
		r.r, r.w = 0, 0
	}
}

func (r *Reader) fill() error {
	if r.err != nil {
		return r.err
	}
	if r.bufp == nil {
		n, err := r.rd.Read(r.small[:])
		if n == 0 && err == nil {
			return nil
		}
		if n == 0 {
			return err
		}
		r.err = err
		r.bufp = readBufPool.Get().(*[]byte)
		r.buf = *r.bufp
		r.r, r.w = 0, copy(*r.bufp, r.small[:n])
		return nil
	}
	if r.r > 0 && r.r == r.w {
		r.r, r.w = 0, 0
	}
	if r.w == len(r.buf) {
		copy(r.buf, r.buf[r.r:r.w])
		r.w -= r.r
		r.r = 0
	}
	for i := 0; i < 100; i++ {
		n, err := r.rd.Read(r.buf[r.w:])
		r.w += n
		if err != nil {
			if n > 0 {
				// Deliver what we have; report the error on the next fill.
				r.err = err
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

// PeekByte returns the next byte without consuming it.
func (r *Reader) PeekByte() (byte, error) {
	for r.r == r.w {
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	return r.buf[r.r], nil
}

// ReadByte consumes one byte of the current line.
func (r *Reader) ReadByte() (byte, error) {
	b, err := r.PeekByte()
	if err != nil {
		return 0, err
	}
	if r.lineLen >= r.MaxLine {
		return 0, ErrLineTooLong
	}
	r.r++
	r.lineLen++
	return b, nil
}

// StartCommand resets the count of text bytes. The connection calls it
// when a command starts; APPEND calls it after each message, whose
// arguments (flags and date) are bounded as one command's are, and a SASL
// exchange before each of its lines.
func (r *Reader) StartCommand() { r.lineLen = 0 }

// ReadFull reads exactly len(p) literal bytes. Literal bytes do not count
// against the text limit.
func (r *Reader) ReadFull(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.r == r.w {
			if r.bufp == nil && len(p)-n >= readBufSize {
				// Large reads go straight to the caller's buffer.
				m, err := r.rd.Read(p[n:])
				n += m
				if err != nil {
					if err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return n, err
				}
				continue
			}
			if err := r.fill(); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return n, err
			}
		}
		c := copy(p[n:], r.buf[r.r:r.w])
		r.r += c
		n += c
	}
	return n, nil
}

// Discard reads and drops n literal bytes. It is how a rejected literal
// is consumed, so its contents can never be taken for commands.
func (r *Reader) Discard(n int64) error {
	for n > 0 {
		if r.r == r.w {
			if err := r.fill(); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		c := int64(r.w - r.r)
		if c > n {
			c = n
		}
		r.r += int(c)
		n -= c
	}
	return nil
}

// LiteralReader returns a reader of the next n literal bytes. The caller
// must read it to the end (or call Discard with what is left) before
// reading anything else.
func (r *Reader) LiteralReader(n int64) *LiteralReader {
	return &LiteralReader{r: r, n: n}
}

// LiteralReader streams one literal.
type LiteralReader struct {
	r *Reader
	n int64
}

// Size reports the bytes not yet read.
func (l *LiteralReader) Size() int64 { return l.n }

func (l *LiteralReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	r := l.r
	if r.r == r.w {
		if r.bufp == nil && len(p) >= readBufSize {
			n, err := r.rd.Read(p)
			l.n -= int64(n)
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
		if err := r.fill(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
	n := copy(p, r.buf[r.r:r.w])
	r.r += n
	l.n -= int64(n)
	return n, nil
}

// Drain discards whatever is left of the literal.
func (l *LiteralReader) Drain() error {
	err := l.r.Discard(l.n)
	l.n = 0
	return err
}

package wire

import (
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"

	"postern/mutf7"
)

const (
	writeBufSize = 4096
	// flushAt is the buffered size past which the encoder writes out.
	flushAt = 32 << 10
	// maxPooled is the largest buffer given back to the pool.
	maxPooled = 64 << 10
)

var writeBufPool = sync.Pool{New: func() any { b := make([]byte, 0, writeBufSize); return &b }}

// Encoder builds IMAP responses. It buffers into a pooled buffer that
// Flush gives back, so an idle connection holds no write buffer. An
// Encoder is not safe for concurrent use; the connection serialises it.
type Encoder struct {
	// UTF8 is set once the client has enabled UTF-8 (RFC 6855 §3, RFC 9051
	// §5.1): mailbox names go out as UTF-8, and quoted strings may carry
	// it.
	UTF8 bool

	w    io.Writer
	bufp *[]byte
	buf  []byte
	err  error
}

// NewEncoder returns an encoder writing to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Reset points the encoder at a new writer (after STARTTLS).
func (e *Encoder) Reset(w io.Writer) { e.w = w; e.err = nil }

// Err reports the first write error.
func (e *Encoder) Err() error { return e.err }

func (e *Encoder) grab() {
	if e.bufp == nil {
		e.bufp = writeBufPool.Get().(*[]byte)
		e.buf = (*e.bufp)[:0]
	}
}

func (e *Encoder) maybeFlush() {
	if len(e.buf) >= flushAt {
		e.write()
	}
}

func (e *Encoder) write() {
	if e.err == nil && len(e.buf) > 0 {
		_, e.err = e.w.Write(e.buf)
	}
	e.buf = e.buf[:0]
}

// Flush writes out everything buffered and releases the buffer.
func (e *Encoder) Flush() error {
	if e.bufp == nil {
		return e.err
	}
	e.write()
	if cap(e.buf) <= maxPooled {
		*e.bufp = e.buf[:0]
		writeBufPool.Put(e.bufp)
	}
	e.bufp, e.buf = nil, nil
	return e.err
}

// Raw appends s unchanged.
func (e *Encoder) Raw(s string) *Encoder {
	e.grab()
	e.buf = append(e.buf, s...)
	e.maybeFlush()
	return e
}

// Bytes appends b unchanged.
func (e *Encoder) Bytes(b []byte) *Encoder {
	e.grab()
	if len(b) > flushAt {
		e.write()
		if e.err == nil {
			_, e.err = e.w.Write(b)
		}
		return e
	}
	e.buf = append(e.buf, b...)
	e.maybeFlush()
	return e
}

// Byte appends one byte.
func (e *Encoder) Byte(b byte) *Encoder {
	e.grab()
	e.buf = append(e.buf, b)
	return e
}

// SP appends a space.
func (e *Encoder) SP() *Encoder { return e.Byte(' ') }

// CRLF ends a response line.
func (e *Encoder) CRLF() *Encoder {
	e.grab()
	e.buf = append(e.buf, '\r', '\n')
	e.maybeFlush()
	return e
}

// Number appends a decimal number.
func (e *Encoder) Number(n uint32) *Encoder { return e.Number64(uint64(n)) }

// Number64 appends a decimal number.
func (e *Encoder) Number64(n uint64) *Encoder {
	e.grab()
	e.buf = strconv.AppendUint(e.buf, n, 10)
	return e
}

// NIL appends NIL.
func (e *Encoder) NIL() *Encoder { return e.Raw("NIL") }

// quotable reports whether s can be sent as a quoted string: 8-bit text
// only as valid UTF-8 to a client that enabled it.
func quotable(s string, utf8ok bool) bool {
	if len(s) > 1024 {
		return false
	}
	high := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' || c == 0 {
			return false
		}
		if c >= 0x80 {
			if !utf8ok {
				return false
			}
			high = true
		}
	}
	return !high || utf8.ValidString(s)
}

// String appends s as a quoted string, or as a literal when it cannot be
// quoted (RFC 3501 §4.3).
func (e *Encoder) String(s string) *Encoder {
	if !quotable(s, e.UTF8) {
		return e.Literal([]byte(s))
	}
	e.grab()
	e.buf = append(e.buf, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			e.buf = append(e.buf, '\\')
		}
		e.buf = append(e.buf, s[i])
	}
	e.buf = append(e.buf, '"')
	return e
}

// NString appends s, or NIL when s is empty.
func (e *Encoder) NString(s string) *Encoder {
	if s == "" {
		return e.NIL()
	}
	return e.String(s)
}

// AString appends s as an atom if it is one, else as a string.
func (e *Encoder) AString(s string) *Encoder {
	if s != "" && len(s) <= 1024 {
		atom := true
		for i := 0; i < len(s); i++ {
			if !IsAtomChar(s[i]) {
				atom = false
				break
			}
		}
		if atom && s != "NIL" {
			return e.Raw(s)
		}
	}
	return e.String(s)
}

// Mailbox appends a mailbox name in modified UTF-7, or in UTF-8 to a
// client that enabled it.
func (e *Encoder) Mailbox(name string) *Encoder {
	if e.UTF8 {
		return e.AString(name)
	}
	return e.AString(mutf7.Encode(name))
}

// Literal appends b as a literal.
func (e *Encoder) Literal(b []byte) *Encoder {
	e.LiteralHeader(int64(len(b)))
	return e.Bytes(b)
}

// Literal8 appends b as a literal8, "~{n}" (RFC 3516 §4.2, RFC 4466
// §2.1): the form that may carry NUL.
func (e *Encoder) Literal8(b []byte) *Encoder {
	e.Byte('~')
	return e.Literal(b)
}

// LiteralHeader appends "{n}" CRLF; the caller writes n bytes after it.
func (e *Encoder) LiteralHeader(n int64) *Encoder {
	e.grab()
	e.buf = append(e.buf, '{')
	e.buf = strconv.AppendInt(e.buf, n, 10)
	e.buf = append(e.buf, '}', '\r', '\n')
	return e
}

// LiteralFrom appends a literal of n bytes copied from r. If r ends early
// the literal is padded with spaces so the stream stays in sync; the
// error is returned for the caller to log.
func (e *Encoder) LiteralFrom(r io.Reader, n int64) error {
	e.LiteralHeader(n)
	e.write()
	var rerr error
	if e.err == nil {
		var m int64
		m, rerr = io.CopyN(e.w, r, n)
		if rerr != nil && m < n && e.err == nil {
			pad := make([]byte, 1024)
			for i := range pad {
				pad[i] = ' '
			}
			for left := n - m; left > 0 && e.err == nil; {
				k := int64(len(pad))
				if k > left {
					k = left
				}
				_, e.err = e.w.Write(pad[:k])
				left -= k
			}
		}
	}
	if e.err != nil {
		return e.err
	}
	return rerr
}

// Flags appends a parenthesised flag list.
func (e *Encoder) Flags(flags []imap.Flag) *Encoder {
	e.Byte('(')
	for i, f := range flags {
		if i > 0 {
			e.SP()
		}
		e.Raw(string(f))
	}
	return e.Byte(')')
}

// DateTime appends a quoted date-time (RFC 3501 §9).
func (e *Encoder) DateTime(t time.Time) *Encoder {
	e.grab()
	e.buf = append(e.buf, '"')
	e.buf = t.AppendFormat(e.buf, "02-Jan-2006 15:04:05 -0700")
	e.buf = append(e.buf, '"')
	return e
}

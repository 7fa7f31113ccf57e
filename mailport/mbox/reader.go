// Package mbox reads mbox files (RFC 4155) as a mailport.Source: single
// files, directories of them, Thunderbird's local folders (an mbox file per
// folder, "NAME.sbd" directories for subfolders) and Google Takeout exports.
//
// # Splitting
//
// A message starts after a From_ line and ends before the next one. A line
// that starts with "From " counts as a From_ line only when it carries an
// asctime date ("From sender Mon Jan  2 15:04:05 2006", with an optional zone);
// a writer that forgot to quote a body line "From here on..." does not split
// the message there. The blank line a writer puts before the next From_ line
// belongs to the separator and is not part of the message.
//
// Where a message has a Content-Length field (mboxcl, mboxcl2, as Solaris,
// mutt and Dovecot write it) and that length ends exactly at the end of the
// file or before a From_ line, the length decides and the body is not
// searched for From_ lines. A length that does not fit is ignored.
//
// # Quoting
//
// mboxo writers quote a body line "From " as ">From " and leave ">From " as
// it is, so reading cannot tell the two apart and unquotes ">From " only;
// mboxrd writers quote every ">*From " line with one more ">", and reading
// removes one ">" from every ">+From " line. The two read alike except for
// lines of two or more ">" before "From ", which mboxrd writers produce from
// an original ">From " and mboxo writers almost never. So Auto reads mboxrd,
// except a file whose first From_ line is Mozilla's "From - " (Thunderbird
// quotes as mboxo). A message delimited by a valid Content-Length whose body
// holds an unquoted From_ line was written without quoting (mboxcl2) and is
// not unquoted. The caller can force a format.
//
// # Keys
//
// Message.Key is "mbox:" PATH ":" HASH, with ":N" appended for the N-th
// earlier message of the same file with the same octets. PATH is the file's
// path relative to the source (the file's name for a single file), HASH the
// first 16 octets of the SHA-256 of the message, in hex. Byte offsets are not
// used: deleting or compacting a message moves every message after it, and a
// re-run would import them all again. Reading the file twice gives the same
// keys; a file that grew gives the same keys to the messages it had.
package mbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"postern/mailport"
)

// Format says how an mbox file quotes From_ lines in bodies.
type Format uint8

const (
	Auto    Format = iota // mboxrd, or mboxo for Thunderbird's files; see the package documentation
	MboxRD                // ">+From " loses one ">"
	MboxO                 // ">From " becomes "From "
	MboxCL2               // no quoting; messages are delimited by Content-Length where it fits
)

// ParseFormat reads a format name: "auto", "mboxrd", "mboxo" or "mboxcl2".
func ParseFormat(s string) (Format, error) {
	for f, n := range formatNames {
		if n == s {
			return Format(f), nil
		}
	}
	return 0, fmt.Errorf("unknown mbox format %q: use auto, mboxrd, mboxo or mboxcl2", s)
}

var formatNames = []string{"auto", "mboxrd", "mboxo", "mboxcl2"}

func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// Options change how mbox files are read. The zero value reads any mbox.
type Options struct {
	Format Format
	// IgnoreLabels puts a Google Takeout message into its file's mailbox
	// instead of one mailbox per X-Gmail-Labels label.
	IgnoreLabels bool
}

const (
	bufSize   = 64 << 10
	maxHeader = 256 << 10 // header octets read for flags and labels
)

// Reader reads the messages of one mbox file.
type Reader struct {
	ra      io.ReaderAt
	size    int64
	path    string
	mailbox string
	opts    Options
	quote   quoting

	sc      *bufio.Reader // the scan for message boundaries
	off     int64         // file offset of the next octet sc yields
	started bool
	next    time.Time // date of the From_ line already read
	hdr     []byte
	probe   []byte
	seen    map[[16]byte]uint32
	measure *bufio.Reader
	body    *bufio.Reader
	copyBuf []byte
}

// NewReader reads the mbox in ra (size octets). path names the file in keys
// and problems; mailbox is where its messages go (unless labels say otherwise).
func NewReader(ra io.ReaderAt, size int64, path, mailbox string, opts *Options) *Reader {
	r := &Reader{ra: ra, size: size, path: path, mailbox: mailbox, seen: make(map[[16]byte]uint32)}
	if opts != nil {
		r.opts = *opts
	}
	r.sc = bufio.NewReaderSize(io.NewSectionReader(ra, 0, size), bufSize)
	return r
}

// ErrNotMbox is returned for a file that does not start with a From_ line.
var ErrNotMbox = errors.New("not an mbox file: it does not start with a \"From \" line")

// span is where one message lies in the file.
type span struct {
	start, end int64
	fromDate   time.Time
	header     []byte
	lengthOK   bool // delimited by its Content-Length
}

// chunk returns the next piece of a line: up to the '\n', or bufSize octets
// of a longer line, or the end of the file. The slice is valid until the
// next read.
func (r *Reader) chunk() ([]byte, error) {
	b, err := r.sc.ReadSlice('\n')
	r.off += int64(len(b))
	if err == bufio.ErrBufferFull {
		err = nil
	}
	return b, err
}

func (r *Reader) seek(off int64) {
	if d := off - r.off; d >= 0 && d <= int64(r.sc.Buffered()) {
		r.sc.Discard(int(d))
	} else {
		r.sc.Reset(io.NewSectionReader(r.ra, off, r.size-off))
	}
	r.off = off
}

func endsLine(b []byte) bool { return len(b) > 0 && b[len(b)-1] == '\n' }

func emptyLine(b []byte) int {
	switch {
	case len(b) == 1 && b[0] == '\n':
		return 1
	case len(b) == 2 && b[0] == '\r' && b[1] == '\n':
		return 2
	}
	return 0
}

// start reads up to the end of the first From_ line, after any blank lines.
func (r *Reader) start() error {
	for {
		b, err := r.chunk()
		if emptyLine(b) > 0 {
			continue
		}
		if !bytes.HasPrefix(b, fromPrefix) {
			if len(b) == 0 && err == io.EOF {
				return io.EOF // an empty file is an empty folder
			}
			return ErrNotMbox
		}
		r.next, _ = parseFromDate(b)
		if r.opts.Format == Auto && bytes.HasPrefix(b, []byte("From - ")) {
			r.quote = quoteO
		}
		return r.skipLine(b, err)
	}
}

// skipLine reads the rest of a line whose first chunk was b.
func (r *Reader) skipLine(b []byte, err error) error {
	for !endsLine(b) && err == nil {
		b, err = r.chunk()
	}
	if err == io.EOF {
		err = nil
	}
	return err
}

// nextSpan finds the next message; r is just after its From_ line.
func (r *Reader) nextSpan() (span, error) {
	if !r.started {
		r.started = true
		switch r.opts.Format {
		case Auto, MboxRD:
			r.quote = quoteRD
		case MboxO:
			r.quote = quoteO
		}
		if err := r.start(); err != nil {
			return span{}, err
		}
	} else if r.off >= r.size {
		return span{}, io.EOF
	}
	sp := span{start: r.off, fromDate: r.next}
	r.hdr = r.hdr[:0]
	inHeader, lineStart, prevEmpty := true, true, 0
	for {
		b, err := r.chunk()
		if err != nil && err != io.EOF {
			return span{}, err
		}
		if len(b) == 0 {
			if inHeader {
				sp.header = r.hdr
			}
			sp.end = max(sp.start, r.off-int64(prevEmpty))
			return sp, nil
		}
		if lineStart && bytes.HasPrefix(b, fromPrefix) {
			if d, ok := parseFromDate(b); ok {
				sp.end = max(sp.start, r.off-int64(len(b))-int64(prevEmpty))
				r.next = d
				return sp, r.skipLine(b, err)
			}
		}
		empty := 0
		if lineStart {
			empty = emptyLine(b)
		}
		if inHeader {
			if empty > 0 {
				inHeader = false
				sp.header = r.hdr
				if next, ok := r.lengthEnd(r.off); ok {
					sp.end, sp.lengthOK = next.end, true
					r.seek(next.from)
					if next.from < r.size {
						b, err := r.chunk()
						r.next, _ = parseFromDate(b)
						if err := r.skipLine(b, err); err != nil {
							return span{}, err
						}
					}
					return sp, nil
				}
			} else if len(r.hdr)+len(b) <= maxHeader {
				r.hdr = append(r.hdr, b...)
			}
		}
		prevEmpty = empty
		lineStart = endsLine(b)
		if err == io.EOF {
			// The last line has no line break: it is text, not a separator.
			if inHeader {
				sp.header = r.hdr
			}
			sp.end = r.off
			return sp, nil
		}
	}
}

type lengthSpan struct{ end, from int64 }

// lengthEnd checks the Content-Length of the header just read, for a body
// starting at body: it must end at the end of the file or before a From_
// line, with at most one line break between.
func (r *Reader) lengthEnd(body int64) (lengthSpan, bool) {
	n := headerContentLength(r.hdr)
	if n < 0 || n > r.size-body {
		return lengthSpan{}, false
	}
	end := body + n
	if end == r.size {
		return lengthSpan{end, end}, true
	}
	if r.probe == nil {
		r.probe = make([]byte, 1100)
	}
	k, _ := r.ra.ReadAt(r.probe, end)
	p := r.probe[:k]
	skip := 0
	if bytes.HasPrefix(p, []byte("\r\n")) {
		skip = 2
	} else if bytes.HasPrefix(p, []byte("\n")) {
		skip = 1
	}
	if end+int64(skip) == r.size {
		return lengthSpan{end, r.size}, true
	}
	line := p[skip:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i+1]
	}
	if isFromLine(line) {
		return lengthSpan{end, end + int64(skip)}, true
	}
	return lengthSpan{}, false
}

func headerContentLength(h []byte) int64 {
	n := int64(-1)
	forEachField(h, func(name, value string) {
		if len(name) == len("content-length") && bytes.EqualFold([]byte(name), []byte("content-length")) {
			if v, err := strconv.ParseInt(string(bytes.TrimSpace([]byte(value))), 10, 64); err == nil && v >= 0 {
				n = v
			}
		}
	})
	return n
}

// Next returns the next message of the file (see mailport.Source).
func (r *Reader) Next(ctx context.Context) (*mailport.Message, error) {
	for first := !r.started; ; first = false {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sp, err := r.nextSpan()
		if err != nil {
			if err == io.EOF {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("mbox %s: %w", r.path, err)
		}
		hi := parseHeader(sp.header)
		if hi.pseudo && first || hi.expunged {
			continue
		}
		q := r.quote
		if r.opts.Format == MboxCL2 || sp.lengthOK && r.opts.Format == Auto && r.hasFromLine(sp) {
			q = quoteNone
		}
		size, sum, err := r.measureSpan(sp, q)
		if err != nil {
			return nil, fmt.Errorf("mbox %s: %w", r.path, err)
		}
		if size == 0 {
			return nil, &mailport.Problem{Path: r.path, Mailbox: r.mailbox,
				Err: fmt.Errorf("empty message at offset %d skipped", sp.start)}
		}
		var id [16]byte
		copy(id[:], sum)
		n := r.seen[id]
		r.seen[id] = n + 1
		key := "mbox:" + r.path + ":" + hex.EncodeToString(id[:])
		if n > 0 {
			key += ":" + strconv.FormatUint(uint64(n), 10)
		}
		m := &mailport.Message{Key: key, Size: size, Mailboxes: []string{r.mailbox}}
		flags := hi.flags
		if hi.hasLabels && !r.opts.IgnoreLabels {
			var lf []string
			m.Mailboxes, lf = gmailLabels(hi.labels)
			flags = append(flags, lf...)
		}
		m.Flags = mailport.NormalizeFlags(flags)
		switch {
		case !hi.received.IsZero():
			m.InternalDate = hi.received
		case !sp.fromDate.IsZero():
			m.InternalDate = sp.fromDate
		default:
			m.InternalDate = hi.date
		}
		if r.body == nil {
			r.body = bufio.NewReaderSize(nil, bufSize)
		}
		m.Body = newUnquoter(r.body, io.NewSectionReader(r.ra, sp.start, sp.end-sp.start), q)
		return m, nil
	}
}

// measureSpan reads a message as Body will yield it, for its size and hash.
func (r *Reader) measureSpan(sp span, q quoting) (int64, []byte, error) {
	if r.measure == nil {
		r.measure = bufio.NewReaderSize(nil, bufSize)
		r.copyBuf = make([]byte, 32<<10)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, newUnquoter(r.measure, io.NewSectionReader(r.ra, sp.start, sp.end-sp.start), q), r.copyBuf)
	if err != nil {
		return 0, nil, err
	}
	return n, h.Sum(nil), nil
}

// hasFromLine reports whether a message delimited by its Content-Length
// holds a line that would open a message: proof that the writer did not
// quote (mboxcl2). Header lines never start with "From " (it has no colon).
func (r *Reader) hasFromLine(sp span) bool {
	br := r.measure
	if br == nil {
		br = bufio.NewReaderSize(nil, bufSize)
		r.measure = br
		r.copyBuf = make([]byte, 32<<10)
	}
	br.Reset(io.NewSectionReader(r.ra, sp.start, sp.end-sp.start))
	lineStart := true
	for {
		b, err := br.ReadSlice('\n')
		if lineStart && isFromLine(b) {
			return true
		}
		lineStart = endsLine(b)
		if err != nil && err != bufio.ErrBufferFull {
			return false
		}
	}
}

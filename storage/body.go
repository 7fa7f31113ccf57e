package storage

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"

	"postern/mimeinfo"
)

// Body is a message prepared for storing: CRLF line endings, its hash, and the
// MIME analysis that FETCH and SEARCH use later. Prepare it outside any lock:
// with a Spooler (SpoolBody) for a message arriving from a client (a large one
// is kept in a spool file, not in memory), with PrepareBody or NewBody for one
// already in memory. One Body may be appended to many mailboxes.
//
// A Body is the same for every backend: a backend stores its hash, its
// analysis (Info), its header block (Header) and its octets piece by piece
// (EachChunk), in whatever form it keeps them.
type Body struct {
	data []byte // the message, when held in memory

	// A spooled message: size octets at off in sp (see spool.go).
	sp     *spool
	ref    *spoolRef
	off    int64
	budget *analysisBudget

	size int64
	hash [32]byte
	info *mimeinfo.Info
}

// Size is the message's size in octets, as IMAP RFC822.SIZE and POP3 report it.
func (b *Body) Size() int64 { return b.size }

// Hash is the SHA-256 of the message: a backend stores a body once per hash.
func (b *Body) Hash() [32]byte { return b.hash }

// Info is the message's MIME analysis (mimeinfo.Parse). Callers must not
// modify it.
func (b *Body) Info() *mimeinfo.Info { return b.info }

// Bytes returns the stored form of the message. Callers must not modify it.
// A spooled message is read into memory for this: prefer Reader.
func (b *Body) Bytes() []byte {
	if b.sp == nil {
		return b.data
	}
	buf := make([]byte, b.size)
	n, _ := b.readAt(buf, 0)
	return buf[:n]
}

// PrepareBody reads a message into memory and normalises every line ending
// (bare LF or bare CR) to CRLF, so that the stored size equals the octets a
// client receives. It fails with ErrTooBig when the normalised message
// exceeds maxBytes (0: no cap). For a message from the network use
// SpoolBody, which does the same without holding it in memory.
func PrepareBody(r io.Reader, maxBytes int64) (*Body, error) {
	var buf bytes.Buffer
	if _, err := normalize(&buf, r, maxBytes); err != nil {
		return nil, err
	}
	return NewBody(buf.Bytes()), nil
}

// NewBody wraps a message that already has CRLF line endings.
func NewBody(data []byte) *Body {
	if data == nil {
		// A backend may store a nil slice as NULL.
		data = []byte{}
	}
	return &Body{data: data, size: int64(len(data)), hash: sha256.Sum256(data), info: mimeinfo.Parse(data)}
}

// Header returns the message's header block (up to and including the
// empty line that ends it), for the backend to store beside the analysis.
// A spooled message's header is read from its file.
func (b *Body) Header() ([]byte, error) {
	n := b.info.HeaderLen
	if b.sp == nil {
		return b.data[:n], nil
	}
	h := make([]byte, n)
	if _, err := b.sp.f.ReadAt(h, b.off); err != nil {
		return nil, fmt.Errorf("storage: reading back a spooled message: %w", err)
	}
	return h, nil
}

// EachChunk calls fn with the message in pieces of size octets, numbered
// from 0 (one empty piece for an empty message), so that a backend can
// copy a large message without holding it whole. A spooled message is
// read into one reused buffer: fn must not keep chunk.
func (b *Body) EachChunk(size int, fn func(n int, chunk []byte) error) error {
	if size <= 0 {
		return fmt.Errorf("storage: chunk size %d", size)
	}
	cs := int64(size)
	var buf []byte
	if b.sp != nil {
		buf = make([]byte, min(cs, b.size))
	}
	for n, off := 0, int64(0); off < b.size || n == 0; n, off = n+1, off+cs {
		end := min(off+cs, b.size)
		var chunk []byte
		if b.sp == nil {
			chunk = b.data[off:end]
		} else {
			chunk = buf[:end-off]
			if _, err := b.sp.f.ReadAt(chunk, b.off+off); err != nil {
				return fmt.Errorf("storage: reading back a spooled message: %w", err)
			}
		}
		if err := fn(n, chunk); err != nil {
			return err
		}
	}
	return nil
}

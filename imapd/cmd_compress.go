package imapd

import (
	"bufio"
	"io"
	"strings"

	"github.com/klauspost/compress/flate"

	"postern/imapd/internal/inflate"
)

// COMPRESS DEFLATE (RFC 4978): from the CRLF after the tagged OK on, both
// directions are raw DEFLATE streams (RFC 1951, no zlib header).
//
// Reading: the DEFLATE readers of the standard library and of
// klauspost/compress read ahead for the longest Huffman code and hand out
// data only at a block's end; a client that flushes with Z_PARTIAL_FLUSH
// (mbsync does) leaves its last codes within bytes they wait past, for
// input that comes only after the server's answer. internal/inflate
// decodes from what has arrived, a bit at a time at the edge, and hands
// out what it has before it reads again: it never waits for bytes the
// client has not sent. A read error (a corrupt stream, a timeout) ends the
// connection; nothing polls the reader with deadlines.
//
// Writing: every response burst the encoder flushes is compressed as one
// stateless block ending in a sync flush (an empty stored block), so the
// client can decode all of it at once, IDLE updates included. The
// compressor keeps no window between bursts: a connection costs a 4 KiB
// buffer, not the megabyte of a stateful compressor.
func init() {
	addCap("COMPRESS=DEFLATE", false)
	register(&command{name: "COMPRESS", states: authOrSel, handle: func(c *conn, r *request) error {
		if err := r.p.SP(); err != nil {
			return err
		}
		alg, err := r.p.Atom()
		if err != nil {
			return err
		}
		if err := r.end(); err != nil {
			return err
		}
		if !strings.EqualFold(alg, "DEFLATE") {
			return bad("Unknown compression mechanism %s (DEFLATE is supported)", wireSafe(alg))
		}
		if c.compressed {
			// RFC 4978 §3.
			return noCode("COMPRESSIONACTIVE", "DEFLATE is already active")
		}
		c.enc.Raw(r.tag).Raw(" OK DEFLATE active").CRLF()
		if err := c.enc.Flush(); err != nil {
			return err
		}
		c.compressed = true
		c.r.Switch(func(src io.Reader) io.Reader { return inflate.NewReader(src) })
		c.enc.Reset(newDeflateWriter(c.nc))
		c.srv.log.Info("imap compression on", "remote", c.nc.RemoteAddr().String(), "user", c.acct.Address, "algorithm", "DEFLATE")
		return errHandled
	}})
}

// deflateWriter compresses each Write as one block that ends in a sync
// flush, and sends it at once.
type deflateWriter struct {
	out *bufio.Writer
	fw  io.Writer
}

func newDeflateWriter(w io.Writer) *deflateWriter {
	out := bufio.NewWriterSize(w, 4096)
	return &deflateWriter{out: out, fw: flate.NewStatelessWriter(out)}
}

func (d *deflateWriter) Write(p []byte) (int, error) {
	if _, err := d.fw.Write(p); err != nil {
		return 0, err
	}
	if err := d.out.Flush(); err != nil {
		return 0, err
	}
	return len(p), nil
}

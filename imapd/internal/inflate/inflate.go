// Package inflate decompresses a raw DEFLATE stream (RFC 1951) arriving
// over a connection, as IMAP COMPRESS (RFC 4978) needs it: a Read never
// waits for input the peer has not sent while it holds decoded data.
//
// The decoders of the standard library and of klauspost/compress read
// ahead: to decode a Huffman code they ask for as many bits as the longest
// code has, and they hand data out only at a block's end. A client that
// flushes with Z_PARTIAL_FLUSH ends its stream within a byte of the last
// code, so they wait for bytes that come only with the client's next
// command, which the client sends only after the server's answer. This
// decoder keeps its input in a buffer and decodes a code bit by bit from
// what has arrived; when a code, a header or a length is not complete, it
// goes back to where it began and returns what it has decoded before it
// reads again.
package inflate

import (
	"errors"
	"io"
)

// ErrCorrupt is returned for a stream that is not valid DEFLATE.
var ErrCorrupt = errors.New("inflate: corrupt DEFLATE stream")

const (
	windowSize = 32 << 10
	maxBits    = 15
	readSize   = 4 << 10
	// keepOutput is how much decoded text is held before it is handed
	// out, when the caller's buffer is larger.
	keepOutput = 16 << 10
)

// A huffman table in the canonical form of RFC 1951 §3.2.2: how many
// codes have each length, and the symbols in code order.
type huffman struct {
	count [maxBits + 1]uint16
	sym   []uint16
}

func (h *huffman) build(lengths []uint8) error {
	h.count = [maxBits + 1]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	h.count[0] = 0
	left := 1
	for l := 1; l <= maxBits; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return ErrCorrupt // over-subscribed
		}
	}
	var offs [maxBits + 2]uint16
	for l := 1; l <= maxBits; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	h.sym = make([]uint16, offs[maxBits+1])
	for s, l := range lengths {
		if l != 0 {
			h.sym[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	return nil
}

var fixedLit, fixedDist huffman

func init() {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	fixedLit.build(l[:])
	var d [30]uint8
	for i := range d {
		d[i] = 5
	}
	fixedDist.build(d[:])
}

// RFC 1951 §3.2.5.
var (
	lenBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	dstBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	dstExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clOrder  = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// Reader decompresses a raw DEFLATE stream.
type Reader struct {
	src io.Reader
	in  []byte // input not yet consumed; the first bit is at pos
	pos uint   // bit position in in
	err error  // sticky: a read error or ErrCorrupt

	out  []byte // the window (up to windowSize of history) then undelivered output
	done int    // out[:done] has been handed out

	inBlock bool
	final   bool
	stored  int // bytes left of a stored block; -1 in a Huffman block
	lit     *huffman
	dist    *huffman
	dyn     [2]huffman // the tables of the current dynamic block
	eof     bool
}

// NewReader returns a Reader of the raw DEFLATE stream src.
func NewReader(src io.Reader) *Reader {
	return &Reader{src: src}
}

// errShort means the input ends inside what is being decoded: decoding
// goes back to where that began and waits for more.
var errShort = errors.New("inflate: need more input")

func (r *Reader) avail() uint { return uint(len(r.in))*8 - r.pos }

func (r *Reader) bits(n uint) (uint32, error) {
	if r.avail() < n {
		return 0, errShort
	}
	var v uint32
	for i := uint(0); i < n; i++ {
		p := r.pos + i
		v |= uint32(r.in[p>>3]>>(p&7)&1) << i
	}
	r.pos += n
	return v, nil
}

// decode reads one symbol, one bit at a time, so that it never needs a bit
// past the code's own (RFC 1951 §3.1.1: Huffman codes start with their
// most significant bit).
func (r *Reader) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l <= maxBits; l++ {
		if r.avail() == 0 {
			return 0, errShort
		}
		p := r.pos
		code |= int(r.in[p>>3] >> (p & 7) & 1)
		r.pos++
		count := int(h.count[l])
		if code-count < first {
			return int(h.sym[index+code-first]), nil
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return 0, ErrCorrupt
}

// Read returns decoded bytes. It reads from the source only when it has
// nothing decoded to return.
func (r *Reader) Read(p []byte) (int, error) {
	for {
		if r.done < len(r.out) {
			n := copy(p, r.out[r.done:])
			r.done += n
			r.trim()
			return n, nil
		}
		if r.err != nil {
			return 0, r.err
		}
		if r.eof {
			return 0, io.EOF
		}
		err := r.step(max(len(p), 1))
		if err == errShort {
			if r.done < len(r.out) {
				continue
			}
			err = r.fill()
		}
		if err != nil {
			r.err = err
		}
	}
}

// fill reads what the source has, compacting the input first.
func (r *Reader) fill() error {
	if k := int(r.pos >> 3); k > 0 {
		r.in = append(r.in[:0], r.in[k:]...)
		r.pos &= 7
	}
	if cap(r.in)-len(r.in) < readSize {
		r.in = append(make([]byte, 0, len(r.in)+readSize), r.in...)
	}
	n, err := r.src.Read(r.in[len(r.in):cap(r.in)])
	r.in = r.in[:len(r.in)+n]
	if n > 0 {
		return nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// trim drops history past the window once it has been handed out.
func (r *Reader) trim() {
	if r.done == len(r.out) && len(r.out) > 2*windowSize {
		r.out = append(r.out[:0], r.out[len(r.out)-windowSize:]...)
		r.done = len(r.out)
	}
}

// step decodes until want bytes of output are ready, the block ends, or
// the input runs short (errShort, with the position at the start of what
// could not be decoded).
func (r *Reader) step(want int) error {
	want = min(want, keepOutput)
	for len(r.out)-r.done < want {
		if !r.inBlock {
			if r.final {
				r.eof = true
				return nil
			}
			if err := r.header(); err != nil {
				return err
			}
			continue
		}
		if r.stored >= 0 {
			if err := r.storedData(); err != nil {
				return err
			}
			continue
		}
		start := r.pos
		sym, err := r.decode(r.lit)
		if err != nil {
			r.pos = start
			return err
		}
		switch {
		case sym < 256:
			r.out = append(r.out, byte(sym))
		case sym == 256:
			// End of block: what it decoded goes to the caller now, as a
			// flush by the client means (RFC 4978 §4).
			r.inBlock = false
			if len(r.out) > r.done {
				return nil
			}
		default:
			if err := r.match(sym, start); err != nil {
				r.pos = start
				return err
			}
		}
	}
	return nil
}

// match copies a length/distance pair (RFC 1951 §3.2.5).
func (r *Reader) match(sym int, start uint) error {
	sym -= 257
	if sym >= len(lenBase) {
		return ErrCorrupt
	}
	e, err := r.bits(uint(lenExtra[sym]))
	if err != nil {
		return err
	}
	length := int(lenBase[sym]) + int(e)
	ds, err := r.decode(r.dist)
	if err != nil {
		return err
	}
	if ds >= len(dstBase) {
		return ErrCorrupt
	}
	e, err = r.bits(uint(dstExtra[ds]))
	if err != nil {
		return err
	}
	d := int(dstBase[ds]) + int(e)
	if d > len(r.out) || d > windowSize {
		return ErrCorrupt
	}
	for i := 0; i < length; i++ {
		r.out = append(r.out, r.out[len(r.out)-d])
	}
	return nil
}

// header reads a block header (RFC 1951 §3.2.3), all of it or none.
func (r *Reader) header() error {
	start := r.pos
	err := r.readHeader()
	if err != nil {
		r.pos = start
		return err
	}
	r.inBlock = true
	return nil
}

func (r *Reader) readHeader() error {
	h, err := r.bits(3)
	if err != nil {
		return err
	}
	r.final = h&1 == 1
	switch h >> 1 {
	case 0:
		// Stored (§3.2.4): to the byte boundary, then LEN and NLEN.
		skip := (8 - r.pos&7) & 7
		if r.avail() < skip+32 {
			return errShort
		}
		r.pos += skip
		i := r.pos >> 3
		n := int(r.in[i]) | int(r.in[i+1])<<8
		nn := int(r.in[i+2]) | int(r.in[i+3])<<8
		if n != ^nn&0xffff {
			return ErrCorrupt
		}
		r.pos += 32
		r.stored = n
	case 1:
		r.stored, r.lit, r.dist = -1, &fixedLit, &fixedDist
	case 2:
		if err := r.dynamic(); err != nil {
			return err
		}
		r.stored, r.lit, r.dist = -1, &r.dyn[0], &r.dyn[1]
	default:
		return ErrCorrupt
	}
	return nil
}

// dynamic reads the code lengths of a dynamic block (§3.2.7).
func (r *Reader) dynamic() error {
	v, err := r.bits(14)
	if err != nil {
		return err
	}
	nlen, ndist, ncode := int(v&31)+257, int(v>>5&31)+1, int(v>>10)+4
	if nlen > 286 || ndist > 30 {
		return ErrCorrupt
	}
	var cl [19]uint8
	for i := 0; i < ncode; i++ {
		b, err := r.bits(3)
		if err != nil {
			return err
		}
		cl[clOrder[i]] = uint8(b)
	}
	var clh huffman
	if err := clh.build(cl[:]); err != nil {
		return err
	}
	var lengths [286 + 30]uint8
	for i := 0; i < nlen+ndist; {
		sym, err := r.decode(&clh)
		if err != nil {
			return err
		}
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return ErrCorrupt
			}
			val = lengths[i-1]
			b, err := r.bits(2)
			if err != nil {
				return err
			}
			rep = 3 + int(b)
		case 17:
			b, err := r.bits(3)
			if err != nil {
				return err
			}
			rep = 3 + int(b)
		default:
			b, err := r.bits(7)
			if err != nil {
				return err
			}
			rep = 11 + int(b)
		}
		if i+rep > nlen+ndist {
			return ErrCorrupt
		}
		for ; rep > 0; rep-- {
			lengths[i] = val
			i++
		}
	}
	if lengths[256] == 0 {
		return ErrCorrupt // no end-of-block code
	}
	if err := r.dyn[0].build(lengths[:nlen]); err != nil {
		return err
	}
	return r.dyn[1].build(lengths[nlen : nlen+ndist])
}

// storedData copies what has arrived of a stored block.
func (r *Reader) storedData() error {
	if r.stored == 0 {
		r.inBlock = false
		return nil
	}
	i := int(r.pos >> 3)
	n := min(r.stored, len(r.in)-i, keepOutput)
	if n == 0 {
		return errShort
	}
	r.out = append(r.out, r.in[i:i+n]...)
	r.pos += uint(n) * 8
	r.stored -= n
	return nil
}

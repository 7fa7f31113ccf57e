package imapd

import (
	"bytes"
	"errors"

	"postern/imapd/internal/wire"
	"postern/mimeinfo"
	"postern/storage"
)

// BINARY (RFC 3516, RFC 9051 §6.4.5): FETCH BINARY[part], BINARY.PEEK and
// BINARY.SIZE give a part with its Content-Transfer-Encoding undone,
// from the message's part tree, parsed once per message for all its
// sections (mimeinfo.Tree).
func init() { addCap("BINARY", false) }

// decoded is a message parsed for its BINARY sections, and the sections.
type decoded struct {
	tree   *mimeinfo.Tree
	binary [][]byte // BINARY sections, then BINARY.SIZE ones
}

// decodeBinary decodes the BINARY and BINARY.SIZE sections of one
// message, before anything of its response is written and before its
// \Seen is set: a part whose encoding cannot be undone fails the whole
// FETCH with UNKNOWN-CTE (RFC 3516 §4.3). A part that does not exist is
// empty, as BODY[] answers it.
func (c *conn) decodeBinary(m *storage.Message, req *wire.FetchRequest) (*decoded, error) {
	whole, err := c.srv.cfg.Store.ReadBody(c.ctx, m.BodyID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	d := &decoded{tree: mimeinfo.NewTree(whole)}
	d.binary = make([][]byte, 0, len(req.BinarySection)+len(req.BinarySectionSize))
	decode := func(part []int) error {
		data, _, err := d.tree.Binary(part)
		if errors.Is(err, mimeinfo.ErrUnknownCTE) {
			return noCode("UNKNOWN-CTE", "Cannot decode the Content-Transfer-Encoding of part %s", partString(part))
		}
		d.binary = append(d.binary, data)
		return nil
	}
	for _, sec := range req.BinarySection {
		if err := decode(sec.Part); err != nil {
			return nil, err
		}
	}
	for _, sec := range req.BinarySectionSize {
		if err := decode(sec.Part); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// writeBinary writes the decoded sections: as a literal8 when they hold a
// NUL, which only a literal8 may carry (RFC 3516 §4.2), and the sizes.
func writeBinary(e *wire.Encoder, req *wire.FetchRequest, data [][]byte, item func(string)) {
	for i, sec := range req.BinarySection {
		item("BINARY[")
		e.Raw(partString(sec.Part)).Byte(']')
		if sec.Partial != nil {
			e.Byte('<').Number64(uint64(sec.Partial.Offset)).Byte('>')
		}
		e.SP()
		d := data[i]
		off, n := partial(sec.Partial, int64(len(d)))
		if d = d[off : off+n]; bytes.IndexByte(d, 0) >= 0 {
			e.Literal8(d)
		} else {
			e.Literal(d)
		}
	}
	for i, sec := range req.BinarySectionSize {
		item("BINARY.SIZE[")
		e.Raw(partString(sec.Part)).Raw("] ").Number64(uint64(len(data[len(req.BinarySection)+i])))
	}
}

func partString(part []int) string {
	b := make([]byte, 0, 4*len(part))
	for i, n := range part {
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, itoa(int64(n))...)
	}
	return string(b)
}

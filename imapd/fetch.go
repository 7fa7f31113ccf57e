package imapd

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"postern/imapd/internal/wire"
	"postern/mimeinfo"
	"postern/storage"
)

// fetchBatch is how many messages are loaded from the store at a time;
// nothing is held open while the batch is written to the network.
const fetchBatch = 500

// Header blocks are a few KiB: those of a whole batch come in one query,
// in groups of at most fetchHeaderBytes. One over fetchHeaderInline (they
// can be as large as the message) is streamed from the body instead, or
// read alone when HEADER.FIELDS needs it whole.
const (
	fetchHeaderBytes  = 4 << 20
	fetchHeaderInline = 256 << 10
)

// fetch answers FETCH from what the store computed at delivery: flags,
// dates, sizes, ENVELOPE, BODY and BODYSTRUCTURE come from rows; header
// sections from the stored header block; BODY[] and BODY[TEXT] are
// streamed chunk by chunk; only part sections read a whole body, which is
// parsed once for all of them.
func (c *conn) fetch(set imap.NumSet, req *wire.FetchRequest, uidCmd bool) error {
	s := c.sel
	ms, ok := s.resolve(set)
	if !ok {
		return bad("Invalid message sequence number (the mailbox has %d messages)", len(s.uids))
	}
	if uidCmd {
		req.UID = true // RFC 3501 §6.4.8: UID FETCH always returns UID.
	}
	want := storage.FetchWant{Envelope: req.Envelope, Structure: req.Body || req.BodyStructure != nil}
	needHeader := req.RFC822Header
	setSeen := false
	for _, sec := range req.BodySection {
		if len(sec.Part) == 0 && sec.Specifier == imap.PartSpecifierHeader {
			needHeader = true
		}
		if !sec.Peek {
			setSeen = true
		}
	}
	for _, sec := range req.BinarySection {
		if !sec.Peek {
			setSeen = true // RFC 3516 §4.2: as BODY[] does
		}
	}
	// The field lists are made into filters once for all the messages.
	filters := make([]*mimeinfo.HeaderFilter, len(req.BodySection))
	for i, sec := range req.BodySection {
		if sec.HeaderFields != nil {
			filters[i] = mimeinfo.NewHeaderFilter(sec.HeaderFields, false)
		} else if sec.HeaderFieldsNot != nil {
			filters[i] = mimeinfo.NewHeaderFilter(sec.HeaderFieldsNot, true)
		}
	}
	if req.RFC822 || req.RFC822Text {
		setSeen = true
	}
	// \Seen is set by a body fetch only in a read-write mailbox
	// (RFC 3501 §6.4.5; EXAMINE is read-only, §6.3.2).
	setSeen = setSeen && !s.readOnly
	st := c.srv.cfg.Store
	size := fetchBatch
	binary := len(req.BinarySection)+len(req.BinarySectionSize) > 0
	if binary {
		// BINARY decodes each message before anything of it is written
		// or changed (fetch_binary.go): one at a time.
		size = 1
	}
	var pre *decoded
	for start := 0; start < len(ms); start += size {
		batch := ms[start:min(start+size, len(ms))]
		rows, err := st.FetchMessages(c.ctx, s.id, uidsOf(batch), want)
		if err != nil {
			return err
		}
		if binary && len(rows) == 1 {
			if pre, err = c.decodeBinary(&rows[0], req); err != nil {
				return err
			}
		}
		if setSeen {
			var unseen []uint32
			for _, m := range rows {
				if !m.Flags.Has(storage.FlagSeen) {
					unseen = append(unseen, m.UID)
				}
			}
			if len(unseen) > 0 {
				changes, err := st.StoreFlags(c.ctx, s.id, unseen, storage.FlagsAdd, storage.FlagSet{System: storage.FlagSeen})
				if err != nil {
					return err
				}
				for _, ch := range changes {
					for i := range rows {
						if rows[i].UID == ch.UID {
							rows[i].Flags = ch.Flags
						}
					}
				}
			}
		}
		j := 0
		for g := 0; g < len(rows); {
			end := len(rows)
			if needHeader {
				end = headerGroup(rows, g)
				if err := c.loadHeaders(rows[g:end]); err != nil {
					return err
				}
			}
			for i := g; i < end; i++ {
				m := &rows[i]
				for j < len(batch) && batch[j].uid != m.UID {
					j++
				}
				if j == len(batch) {
					break
				}
				if err := c.writeFetch(batch[j].seq, m, req, filters, setSeen, pre); err != nil {
					return err
				}
				m.Header = nil
			}
			if err := c.enc.Err(); err != nil {
				return err
			}
			g = end
		}
	}
	return nil
}

// headerGroup returns the end of the group of rows from start whose
// inline header blocks together fit fetchHeaderBytes (at least one row).
func headerGroup(rows []storage.Message, start int) int {
	var size int64
	end := start
	for end < len(rows) {
		if n := rows[end].HeaderLen; n <= fetchHeaderInline {
			if size+n > fetchHeaderBytes && end > start {
				break
			}
			size += n
		}
		end++
	}
	return end
}

// loadHeaders reads the inline header blocks of rows; the others stay
// nil, as does that of a message expunged since the rows were read.
func (c *conn) loadHeaders(rows []storage.Message) error {
	var uids []uint32
	for i := range rows {
		if rows[i].HeaderLen <= fetchHeaderInline {
			uids = append(uids, rows[i].UID)
		}
	}
	if len(uids) == 0 {
		return nil
	}
	i := 0
	return c.srv.cfg.Store.EachHeader(c.ctx, c.sel.id, uids, fetchHeaderInline, func(uid uint32, header []byte) error {
		for i < len(rows) && rows[i].UID != uid {
			i++
		}
		if i < len(rows) {
			rows[i].Header = append([]byte(nil), header...)
		}
		return nil
	})
}

// writeHeader writes the top-level header block of m, or the fields of it
// that filter selects, as a literal cut to p.
func (c *conn) writeHeader(m *storage.Message, filter *mimeinfo.HeaderFilter, p *imap.SectionPartial) error {
	h := m.Header
	if h == nil && m.HeaderLen > fetchHeaderInline {
		if filter == nil {
			off, n := partial(p, m.HeaderLen)
			return c.streamBody(m, off, n)
		}
		// Filtered where the store hands it over: only the selected
		// fields are kept. An expunged message has an empty header.
		err := c.srv.cfg.Store.EachHeader(c.ctx, c.sel.id, []uint32{m.UID}, int(m.HeaderLen), func(_ uint32, header []byte) error {
			h = filter.Apply(header)
			return nil
		})
		if err != nil {
			return err
		}
		filter = nil
	}
	if filter != nil {
		h = filter.Apply(h)
	}
	off, n := partial(p, int64(len(h)))
	c.enc.Literal(h[off : off+n])
	return nil
}

func (c *conn) writeFetch(seq uint32, m *storage.Message, req *wire.FetchRequest, filters []*mimeinfo.HeaderFilter, withFlags bool, pre *decoded) error {
	e := c.enc
	// The message of part sections, read and parsed once.
	var tree *mimeinfo.Tree
	if pre != nil {
		tree = pre.tree
	}
	loadTree := func() (*mimeinfo.Tree, error) {
		if tree == nil {
			whole, err := c.srv.cfg.Store.ReadBody(c.ctx, m.BodyID)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return nil, err
			}
			tree = mimeinfo.NewTree(whole)
		}
		return tree, nil
	}
	if req.Flags || withFlags {
		c.announceKeywords(m.Flags)
	}
	e.Raw("* ").Number(seq).Raw(" FETCH (")
	sp := false
	item := func(name string) {
		if sp {
			e.SP()
		}
		sp = true
		e.Raw(name)
	}
	if req.UID {
		item("UID ")
		e.Number(m.UID)
	}
	if req.Flags || withFlags {
		item("FLAGS ")
		c.writeFlags(m.Flags, c.sel.isRecent(m.UID))
	}
	if req.InternalDate {
		item("INTERNALDATE ")
		e.DateTime(m.InternalDate)
	}
	if req.RFC822Size {
		item("RFC822.SIZE ")
		e.Number64(uint64(m.Size))
	}
	if req.Envelope {
		item("ENVELOPE ")
		e.Bytes(m.Envelope)
	}
	if req.Body {
		item("BODY ")
		e.Bytes(m.Body)
	}
	if req.BodyStructure != nil {
		item("BODYSTRUCTURE ")
		e.Bytes(m.BodyStructure)
	}
	if req.RFC822Header {
		item("RFC822.HEADER ")
		if err := c.writeHeader(m, nil, nil); err != nil {
			return err
		}
	}
	if req.RFC822Text {
		item("RFC822.TEXT ")
		if err := c.streamBody(m, m.HeaderLen, m.Size-m.HeaderLen); err != nil {
			return err
		}
	}
	if req.RFC822 {
		item("RFC822 ")
		if err := c.streamBody(m, 0, m.Size); err != nil {
			return err
		}
	}
	for si, sec := range req.BodySection {
		item("BODY[")
		writeSectionName(e, sec)
		e.Byte(']')
		if sec.Partial != nil {
			e.Byte('<').Number64(uint64(sec.Partial.Offset)).Byte('>')
		}
		e.SP()
		if len(sec.Part) == 0 {
			switch sec.Specifier {
			case imap.PartSpecifierNone:
				off, n := partial(sec.Partial, m.Size)
				if err := c.streamBody(m, off, n); err != nil {
					return err
				}
				continue
			case imap.PartSpecifierText:
				off, n := partial(sec.Partial, m.Size-m.HeaderLen)
				if err := c.streamBody(m, m.HeaderLen+off, n); err != nil {
					return err
				}
				continue
			case imap.PartSpecifierHeader:
				if err := c.writeHeader(m, filters[si], sec.Partial); err != nil {
					return err
				}
				continue
			}
		}
		tree, err := loadTree()
		if err != nil {
			return err
		}
		spec := string(sec.Specifier)
		if sec.HeaderFields != nil {
			spec = "HEADER.FIELDS"
		} else if sec.HeaderFieldsNot != nil {
			spec = "HEADER.FIELDS.NOT"
		}
		data, ok := tree.Section(sec.Part, spec, filters[si])
		if !ok {
			// RFC 3501 §6.4.5 leaves a missing part open; an empty string
			// is what most servers answer and what clients accept.
			data = nil
		}
		off, n := partial(sec.Partial, int64(len(data)))
		e.Literal(data[off : off+n])
	}
	if pre != nil {
		writeBinary(e, req, pre.binary, item)
	}
	e.Raw(")").CRLF()
	return nil
}

// partial clips a <offset.size> request to a section of the given size.
func partial(p *imap.SectionPartial, size int64) (off, n int64) {
	if p == nil {
		return 0, size
	}
	off = min(p.Offset, size)
	n = min(p.Size, size-off)
	return off, n
}

// streamBody writes bytes [off, off+n) of the stored message as a literal,
// reading it chunk by chunk.
func (c *conn) streamBody(m *storage.Message, off, n int64) error {
	if n <= 0 {
		c.enc.Raw(`""`)
		return nil
	}
	br, err := c.srv.cfg.Store.OpenBody(context.Background(), m.BodyID)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			// Expunged and purged since the batch was read.
			c.enc.Raw(`""`)
			return nil
		}
		return err
	}
	defer br.Close()
	var r io.Reader = br
	if off > 0 || n < br.Size() {
		r = io.NewSectionReader(br, off, n)
	}
	if err := c.enc.LiteralFrom(r, n); err != nil {
		if c.enc.Err() != nil {
			return err
		}
		// The literal was padded to keep the stream in step.
		c.srv.log.Warn("imap body read failed mid-literal", "user", c.acct.Address, "uid", m.UID, "err", err)
	}
	return nil
}

func writeSectionName(e *wire.Encoder, sec *imap.FetchItemBodySection) {
	parts := make([]string, len(sec.Part))
	for i, p := range sec.Part {
		parts[i] = strconv.Itoa(p)
	}
	e.Raw(strings.Join(parts, "."))
	if sec.Specifier == imap.PartSpecifierNone {
		return
	}
	if len(parts) > 0 {
		e.Byte('.')
	}
	fields := sec.HeaderFields
	switch {
	case sec.HeaderFields != nil:
		e.Raw("HEADER.FIELDS (")
	case sec.HeaderFieldsNot != nil:
		e.Raw("HEADER.FIELDS.NOT (")
		fields = sec.HeaderFieldsNot
	default:
		e.Raw(string(sec.Specifier))
		return
	}
	for i, f := range fields {
		if i > 0 {
			e.SP()
		}
		e.AString(f)
	}
	e.Byte(')')
}

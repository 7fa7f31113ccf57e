package mimeinfo

import (
	"bytes"
	"iter"
	"strings"
)

// maxHeaderAnalysis bounds how much of one header block is examined for fields.
// The block itself keeps its full length (BODY[HEADER] still returns all of it);
// only the analysis is truncated, so a hostile 100 MiB header costs nothing extra.
const maxHeaderAnalysis = 1 << 20

// hval is one header field value: raw bytes after the colon, unfolded and trimmed.
// ok tells a missing field (NIL on the wire) from an empty one ("").
type hval struct {
	v  string
	ok bool
}

// fields holds the first occurrence of every header field the walk cares about.
// RFC 5322 §3.6 allows each of these at most once; when a message repeats one,
// the first wins, as in most servers.
type fields struct {
	contentType, encoding, id, description, disposition, language, location, md5 hval

	date, subject, from, sender, replyTo, to, cc, bcc, inReplyTo, messageID, references hval
}

// slot maps a field name to its place in f, or nil when the field is not kept.
func (f *fields) slot(name []byte) *hval {
	switch len(name) {
	case 2:
		if bytes.EqualFold(name, []byte("to")) {
			return &f.to
		}
		if bytes.EqualFold(name, []byte("cc")) {
			return &f.cc
		}
	case 3:
		if bytes.EqualFold(name, []byte("bcc")) {
			return &f.bcc
		}
	case 4:
		if bytes.EqualFold(name, []byte("date")) {
			return &f.date
		}
		if bytes.EqualFold(name, []byte("from")) {
			return &f.from
		}
	case 6:
		if bytes.EqualFold(name, []byte("sender")) {
			return &f.sender
		}
	case 7:
		if bytes.EqualFold(name, []byte("subject")) {
			return &f.subject
		}
	case 8:
		if bytes.EqualFold(name, []byte("reply-to")) {
			return &f.replyTo
		}
	case 10:
		if bytes.EqualFold(name, []byte("message-id")) {
			return &f.messageID
		}
		if bytes.EqualFold(name, []byte("content-id")) {
			return &f.id
		}
		if bytes.EqualFold(name, []byte("references")) {
			return &f.references
		}
	case 11:
		if bytes.EqualFold(name, []byte("in-reply-to")) {
			return &f.inReplyTo
		}
		if bytes.EqualFold(name, []byte("content-md5")) {
			return &f.md5
		}
	case 12:
		if bytes.EqualFold(name, []byte("content-type")) {
			return &f.contentType
		}
	case 16:
		if bytes.EqualFold(name, []byte("content-language")) {
			return &f.language
		}
		if bytes.EqualFold(name, []byte("content-location")) {
			return &f.location
		}
	case 19:
		if bytes.EqualFold(name, []byte("content-description")) {
			return &f.description
		}
		if bytes.EqualFold(name, []byte("content-disposition")) {
			return &f.disposition
		}
	case 25:
		if bytes.EqualFold(name, []byte("content-transfer-encoding")) {
			return &f.encoding
		}
	}
	return nil
}

// headerEnd returns the offset just past the empty line that ends the header
// block starting at start, or end when there is none (RFC 5322 §2.1). A bare LF
// is accepted as a line ending so that damaged input still splits somewhere sane.
func headerEnd(msg []byte, start, end int) int {
	pos := start
	for pos < end {
		if msg[pos] == '\n' {
			return pos + 1
		}
		if msg[pos] == '\r' && pos+1 < end && msg[pos+1] == '\n' {
			return pos + 2
		}
		i := bytes.IndexByte(msg[pos:end], '\n')
		if i < 0 {
			return end
		}
		pos += i + 1
	}
	return end
}

// fieldLine is one header field: its whole text (first line plus continuation
// lines, with their line endings) and its name.
type fieldLine struct {
	raw  []byte
	name []byte
}

// eachField calls fn for every field of header block h, as Fields yields them.
func eachField(h []byte, fn func(fieldLine)) {
	for name, raw := range Fields(h) {
		fn(fieldLine{raw: raw, name: name})
	}
}

// Fields iterates over the fields of header block h: each field's name and
// its whole text (first line and continuation lines, with their line
// endings). A line that begins with white space continues the previous field
// (RFC 5322 §2.2.3); a line without a colon is a field whose name is the whole
// line, so that filters can still pass it through; the empty line ends the
// block. The slices alias h.
func Fields(h []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func(name, raw []byte) bool) {
		var cur, name []byte
		have := false
		pos := 0
		for pos < len(h) {
			next := len(h)
			if i := bytes.IndexByte(h[pos:], '\n'); i >= 0 {
				next = pos + i + 1
			}
			line := h[pos:next]
			if isBlankLine(line) {
				break
			}
			if (line[0] == ' ' || line[0] == '\t') && have {
				cur = h[pos-len(cur) : next]
			} else {
				if have && !yield(name, cur) {
					return
				}
				cur, name = line, fieldName(line)
				have = true
			}
			pos = next
		}
		if have {
			yield(name, cur)
		}
	}
}

// FieldValue returns the value of a field as Fields yields it: the text after
// the colon, unfolded and trimmed; "" for a line without a colon.
func FieldValue(raw []byte) string {
	first := raw
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		first = raw[:i]
	}
	if bytes.IndexByte(first, ':') < 0 {
		return ""
	}
	return fieldValue(fieldLine{raw: raw})
}

// HeaderLen returns the length of the header block at the start of msg,
// including the empty line that ends it; len(msg) if there is none.
func HeaderLen(msg []byte) int {
	return headerEnd(msg, 0, len(msg))
}

func isBlankLine(line []byte) bool {
	return len(line) == 0 || line[0] == '\n' || (len(line) >= 2 && line[0] == '\r' && line[1] == '\n')
}

// fieldName returns the name of a field line: the text before the colon without
// the white space that obsolete syntax allows before it (RFC 5322 §4.5.8).
func fieldName(line []byte) []byte {
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		return bytes.TrimRight(line[:i], " \t")
	}
	return bytes.TrimSpace(line)
}

// fieldValue returns the unfolded, trimmed value of a field line.
func fieldValue(f fieldLine) string {
	i := bytes.IndexByte(f.raw, ':')
	if i < 0 {
		return ""
	}
	return unfold(f.raw[i+1:])
}

// unfold removes every line break (RFC 5322 §2.2.3 unfolding; stray CR or LF
// bytes go too) and trims surrounding white space.
func unfold(v []byte) string {
	v = bytes.Trim(v, " \t\r\n")
	if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return string(v)
	}
	var sb strings.Builder
	sb.Grow(len(v))
	for _, c := range v {
		if c != '\r' && c != '\n' {
			sb.WriteByte(c)
		}
	}
	return strings.Trim(sb.String(), " \t")
}

// parseFields reads the fields the walk needs from a header block, looking at
// no more than maxHeaderAnalysis octets of it.
func parseFields(h []byte) fields {
	if len(h) > maxHeaderAnalysis {
		h = h[:maxHeaderAnalysis]
	}
	var f fields
	eachField(h, func(fl fieldLine) {
		if bytes.IndexByte(fl.raw, ':') < 0 {
			return
		}
		if s := f.slot(fl.name); s != nil && !s.ok {
			*s = hval{v: fieldValue(fl), ok: true}
		}
	})
	return f
}

// FilterHeader returns the header lines of a header block (as stored, ending with the blank
// line) whose field names are (not=false) or are not (not=true) in fields, plus the final CRLF.
// Names compare case-insensitively; each field keeps its continuation lines
// (RFC 3501 §6.4.5 HEADER.FIELDS and HEADER.FIELDS.NOT).
func FilterHeader(header []byte, fieldNames []string, not bool) []byte {
	return NewHeaderFilter(fieldNames, not).Apply(header)
}

// A HeaderFilter is the field list of a HEADER.FIELDS or HEADER.FIELDS.NOT
// section, made once per FETCH and applied to each message: each field of
// a header block costs one lookup, however many names the list has.
type HeaderFilter struct {
	names map[string]struct{} // lower-cased (ASCII) names
	not   bool
}

// NewHeaderFilter returns a filter that keeps the fields named in
// fieldNames (not=false) or all others (not=true). Names compare without
// regard to ASCII case, and a name with white space around it also stands
// for the name without it.
func NewHeaderFilter(fieldNames []string, not bool) *HeaderFilter {
	f := &HeaderFilter{names: make(map[string]struct{}, len(fieldNames)), not: not}
	for _, n := range fieldNames {
		f.names[string(lowerASCIIBytes(nil, []byte(n)))] = struct{}{}
		if t := strings.TrimSpace(n); len(t) != len(n) {
			f.names[string(lowerASCIIBytes(nil, []byte(t)))] = struct{}{}
		}
	}
	return f
}

// Apply returns the selected lines of a header block (as stored, ending
// with the blank line), each field with its continuation lines, plus the
// final CRLF.
func (f *HeaderFilter) Apply(header []byte) []byte {
	out := make([]byte, 0, 256)
	var buf [64]byte
	eachField(header, func(fl fieldLine) {
		_, in := f.names[string(lowerASCIIBytes(buf[:0], fl.name))]
		if in == f.not {
			return
		}
		out = append(out, fl.raw...)
		if fl.raw[len(fl.raw)-1] != '\n' {
			out = append(out, '\r', '\n')
		}
	})
	return append(out, '\r', '\n')
}

// lowerASCIIBytes appends b to dst with ASCII letters lowered.
func lowerASCIIBytes(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, lowerASCII(c))
	}
	return dst
}

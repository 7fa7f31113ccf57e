package mimeinfo

import "bytes"

const (
	// maxDepth caps MIME nesting (multiparts and encapsulated messages). Parts
	// deeper than this are opaque leaves: the walk recurses at most this far.
	maxDepth = 32
	// maxParts caps the number of body parts analysed per message; later parts
	// of a multipart are left out of the structure.
	maxParts = 4096
)

// part is one MIME entity of a message: its header is msg[start:hdrEnd] and its
// body msg[hdrEnd:end]. A multipart has children; a message/rfc822 part has msg,
// the encapsulated message, whose range is this part's body.
type part struct {
	start, hdrEnd, end int
	f                  fields
	typ, sub           string // upper-cased media type and subtype
	params             []param
	children           []*part
	msg                *part
}

func (p *part) isMultipart() bool { return p.typ == "MULTIPART" }

type walker struct {
	msg   []byte
	parts int
}

// walk builds the part tree of msg. Time and memory are linear in len(msg)
// (times the depth cap, since each level scans its own body for boundaries).
func walk(msg []byte) *part {
	w := &walker{msg: msg}
	return w.entity(0, len(msg), 0, false)
}

// entity analyses the entity in msg[start:end] at nesting depth depth. inDigest
// selects the multipart/digest default type (RFC 2046 §5.1.5).
func (w *walker) entity(start, end, depth int, inDigest bool) *part {
	p := &part{start: start, end: end}
	p.hdrEnd = headerEnd(w.msg, start, end)
	p.f = parseFields(w.msg[start:p.hdrEnd])
	w.parts++

	switch typ, sub, params, ok := parseMediaType(p.f.contentType.v); {
	case p.f.contentType.ok && ok:
		p.typ, p.sub, p.params = typ, sub, params
	case inDigest && !p.f.contentType.ok:
		p.typ, p.sub = "MESSAGE", "RFC822"
	default:
		// Absent or broken Content-Type: RFC 2045 §5.2 default.
		p.typ, p.sub, p.params = "TEXT", "PLAIN", []param{{"CHARSET", "US-ASCII"}}
	}

	isMessage := p.typ == "MESSAGE" && p.sub == "RFC822"
	if (depth >= maxDepth || w.parts >= maxParts) && (p.isMultipart() || isMessage) {
		// Too deep, or too many parts, to look inside: describe it as opaque data.
		p.typ, p.sub, p.params = "APPLICATION", "OCTET-STREAM", nil
		return p
	}
	switch {
	case p.isMultipart():
		boundary, _ := paramValue(p.params, "BOUNDARY")
		for _, r := range w.split(p.hdrEnd, end, boundary) {
			if w.parts >= maxParts {
				break
			}
			p.children = append(p.children, w.entity(r[0], r[1], depth+1, p.sub == "DIGEST"))
		}
		if len(p.children) == 0 {
			// Clients crash on a multipart without parts; give it one empty
			// text/plain part (at the end of the body, so it has no bytes).
			p.children = []*part{{start: end, hdrEnd: end, end: end, typ: "TEXT", sub: "PLAIN",
				params: []param{{"CHARSET", "US-ASCII"}}}}
		}
	case isMessage:
		p.msg = w.entity(p.hdrEnd, end, depth+1, false)
	}
	return p
}

// split finds the body parts of a multipart body msg[start:end] (RFC 2046
// §5.1.1): a delimiter is a line "--boundary" optionally followed by "--" (the
// close delimiter) and white space; the line break before it belongs to the
// delimiter. Preamble and epilogue are dropped. A body that never closes ends
// its last part at end. The number of parts is bounded by the walker's budget.
func (w *walker) split(start, end int, boundary string) [][2]int {
	if boundary == "" {
		return nil
	}
	delim := "--" + boundary
	var out [][2]int
	partStart := -1
	pos := start
	for pos < end {
		next := end
		if i := bytes.IndexByte(w.msg[pos:end], '\n'); i >= 0 {
			next = pos + i + 1
		}
		line := w.msg[pos:next]
		if closing, ok := isDelimiter(line, delim); ok {
			if partStart >= 0 && w.parts+len(out) < maxParts {
				out = append(out, [2]int{partStart, max(partStart, lineBreakBefore(w.msg, start, pos))})
			}
			if closing {
				return out
			}
			partStart = next
		}
		pos = next
	}
	if partStart >= 0 && w.parts+len(out) < maxParts {
		out = append(out, [2]int{partStart, end})
	}
	return out
}

// isDelimiter reports whether line is a boundary delimiter line, and whether
// it is the close delimiter.
func isDelimiter(line []byte, delim string) (closing, ok bool) {
	if len(line) < len(delim) || string(line[:len(delim)]) != delim {
		return false, false
	}
	rest := line[len(delim):]
	if len(rest) >= 2 && rest[0] == '-' && rest[1] == '-' {
		closing = true
		rest = rest[2:]
	}
	for _, c := range rest {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false, false
		}
	}
	return closing, true
}

// lineBreakBefore returns the offset of the line break that ends the line
// before pos (CRLF or a bare LF), or pos when pos is the first line.
func lineBreakBefore(msg []byte, start, pos int) int {
	if pos-2 >= start && msg[pos-2] == '\r' && msg[pos-1] == '\n' {
		return pos - 2
	}
	if pos-1 >= start && msg[pos-1] == '\n' {
		return pos - 1
	}
	return pos
}

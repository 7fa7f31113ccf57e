package mimeinfo

import "unicode/utf8"

// SearchText returns the text of a message's body as SEARCH BODY compares it
// (RFC 3501 §6.4.4): the text/* parts, with their Content-Transfer-Encoding
// undone (RFC 2045 §6) and their charset converted to UTF-8 (RFC 2046
// §4.1.2), HTML reduced to its words; and for an encapsulated message
// (message/rfc822), its decoded header and the text of its parts. Other parts
// (images, application/*, attachments in general) are left out: a word must
// be in the text a reader sees, not in the encoded octets. Parts are
// separated by a line break.
//
// The result is valid UTF-8 of at most maxBytes octets; decoding stops once
// it is reached. Broken encodings decode as far as they go. It walks the same
// bounded tree as Parse, never fails, never panics, and runs in time linear
// in len(msg).
func SearchText(msg []byte, maxBytes int) string {
	if maxBytes <= 0 {
		return ""
	}
	t := &textWriter{msg: msg, max: maxBytes}
	t.entity(walk(msg))
	return string(t.out)
}

// DecodeHeader returns a header block as text for SEARCH TEXT: every field
// unfolded (RFC 5322 §2.2.3), its encoded words decoded (RFC 2047), one field
// per line as "Name: value". The result is valid UTF-8. Like Parse, it looks
// at no more than 1 MiB of the block.
func DecodeHeader(header []byte) string {
	if len(header) > maxHeaderAnalysis {
		header = header[:maxHeaderAnalysis]
	}
	out := make([]byte, 0, len(header))
	eachField(header, func(fl fieldLine) {
		out = appendField(out, fl)
	})
	return string(out)
}

func appendField(out []byte, fl fieldLine) []byte {
	if !utf8.Valid(fl.name) {
		out = append(out, decodeHeader(string(fl.name))...)
	} else {
		out = append(out, fl.name...)
	}
	if v := fieldValue(fl); v != "" {
		out = append(out, ": "...)
		out = append(out, decodeHeader(v)...)
	}
	return append(out, '\n')
}

// textWriter collects search text up to max octets.
type textWriter struct {
	msg []byte
	max int
	out []byte
}

func (t *textWriter) full() bool { return len(t.out) >= t.max }

// entity adds the text of the body of p: the walk has already bounded the
// depth and the number of parts, so the recursion is bounded too.
func (t *textWriter) entity(p *part) {
	switch {
	case t.full():
	case p.isMultipart():
		for _, c := range p.children {
			t.entity(c)
		}
	case p.msg != nil:
		m := p.msg
		t.add([]byte(DecodeHeader(t.msg[m.start:m.hdrEnd])))
		t.entity(m)
	case p.typ == "TEXT":
		t.leaf(p)
	}
}

// leaf adds one text part.
func (t *textWriter) leaf(p *part) {
	room := t.max - len(t.out)
	if len(t.out) > 0 {
		room-- // the separator
	}
	if room <= 0 {
		return
	}
	html := p.sub == "HTML"
	textLimit := room
	if html {
		// Markup is mostly dropped: decode more so that the text after
		// stripping can still fill the room.
		textLimit = satMul(room, 4)
	}
	charset, _ := paramValue(p.params, "CHARSET")
	// Multi-octet charsets and encodings can take several input octets per
	// output octet (UTF-16, ISO-2022 escapes); four is ample for real text.
	raw := decodeTransfer(t.msg[p.hdrEnd:p.end], encodingOf(p.f.encoding), satMul(textLimit, 4))
	text := decodeCharset(raw, charset, textLimit)
	if html {
		text = []byte(stripHTML(string(text)))
	}
	t.add(text)
}

// add appends a piece of valid UTF-8, with a line break before it when
// there is text already, cutting at max on a character boundary.
func (t *textWriter) add(b []byte) {
	if len(b) == 0 {
		return
	}
	if len(t.out) > 0 {
		if len(t.out)+1 > t.max {
			return
		}
		t.out = append(t.out, '\n')
	}
	t.out = append(t.out, truncateUTF8(b, t.max-len(t.out))...)
}

// satMul returns a*b for non-negative a and small b, saturating instead of
// overflowing when maxBytes is huge.
func satMul(a, b int) int {
	if a > (int(^uint(0)>>1))/b {
		return int(^uint(0) >> 1)
	}
	return a * b
}

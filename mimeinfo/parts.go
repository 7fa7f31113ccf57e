package mimeinfo

import (
	"bytes"
	"strings"
)

// Part is one MIME entity of a message as a content filter sees it (the
// Sieve body test's :content, RFC 5173 §5.2).
type Part struct {
	// Type and Subtype are the media type in lower case, "text" and
	// "plain"; an absent or broken Content-Type is text/plain (RFC 2045
	// §5.2).
	Type, Subtype string
	// Content depends on the type. A multipart has its preamble here and
	// its epilogue in Epilogue; its parts follow it in the list. A
	// message/rfc822 part has the decoded header of the message inside it
	// (one "Name: value" line per field, as DecodeHeader writes it); the
	// entities of that message follow it in the list. Any other part has
	// its body with the Content-Transfer-Encoding undone and, for text/*,
	// converted to UTF-8 from its charset.
	Content  string
	Epilogue string
}

// Parts lists the MIME entities of msg depth-first, the message itself
// first. The contents together hold at most maxBytes octets: once that is
// reached, the remaining parts are listed with empty contents. It walks the
// same bounded tree as Parse, never fails, and runs in time linear in
// len(msg) (times the nesting depth cap).
func Parts(msg []byte, maxBytes int) []Part {
	c := &partLister{msg: msg, room: max(maxBytes, 0)}
	c.entity(walk(msg))
	return c.out
}

type partLister struct {
	msg  []byte
	room int
	out  []Part
}

// take cuts b to the room left and uses that room up.
func (c *partLister) take(b []byte) string {
	if len(b) > c.room {
		b = truncateUTF8(b, c.room)
	}
	c.room -= len(b)
	return string(b)
}

func (c *partLister) entity(p *part) {
	pt := Part{Type: strings.ToLower(p.typ), Subtype: strings.ToLower(p.sub)}
	switch {
	case p.isMultipart():
		boundary, _ := paramValue(p.params, "BOUNDARY")
		pre, epi := preambleEpilogue(c.msg[p.hdrEnd:p.end], boundary)
		pt.Content = c.take(pre)
		pt.Epilogue = c.take(epi)
		c.out = append(c.out, pt)
		for _, ch := range p.children {
			c.entity(ch)
		}
	case p.msg != nil:
		m := p.msg
		pt.Content = c.take([]byte(DecodeHeader(c.msg[m.start:m.hdrEnd])))
		c.out = append(c.out, pt)
		c.entity(m)
	default:
		body := c.msg[p.hdrEnd:p.end]
		// Multi-octet charsets can take several input octets per output
		// octet, so decode four times the room (see leaf in searchtext.go).
		raw := decodeTransfer(body, encodingOf(p.f.encoding), satMul(c.room, 4))
		if p.typ == "TEXT" {
			charset, _ := paramValue(p.params, "CHARSET")
			raw = decodeCharset(raw, charset, c.room)
		}
		pt.Content = c.take(raw)
		c.out = append(c.out, pt)
	}
}

// preambleEpilogue returns the text before the first delimiter line of a
// multipart body and after its close delimiter line (RFC 2046 §5.1.1). A
// body without delimiters is all preamble.
func preambleEpilogue(body []byte, boundary string) (pre, epi []byte) {
	if boundary == "" {
		return body, nil
	}
	delim := "--" + boundary
	pre = body
	first := true
	pos := 0
	for pos < len(body) {
		next := len(body)
		if i := bytes.IndexByte(body[pos:], '\n'); i >= 0 {
			next = pos + i + 1
		}
		if closing, ok := isDelimiter(body[pos:next], delim); ok {
			if first {
				pre = body[:lineBreakBefore(body, 0, pos)]
				first = false
			}
			if closing {
				return pre, body[next:]
			}
		}
		pos = next
	}
	return pre, nil
}

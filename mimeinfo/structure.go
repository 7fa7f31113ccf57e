package mimeinfo

import (
	"bytes"
	"strconv"
)

// appendBody writes the BODY (ext=false) or BODYSTRUCTURE (ext=true) of p in
// wire form (RFC 3501 §7.4.2 and §9 body, body-type-1part, body-type-mpart,
// body-ext-1part, body-ext-mpart). Types, subtypes, parameter names and the
// encoding are upper-cased. Recursion is bounded by maxDepth.
func (p *part) appendBody(b []byte, msg []byte, ext bool) []byte {
	b = append(b, '(')
	if p.isMultipart() {
		// body-type-mpart = 1*body SP media-subtype: the parts follow each
		// other with no space between them.
		for _, c := range p.children {
			b = c.appendBody(b, msg, ext)
		}
		b = append(b, ' ')
		b = appendString(b, p.sub)
		if ext {
			b = append(b, ' ')
			b = appendParams(b, p.params)
			b = p.appendExtTail(b)
		}
		return append(b, ')')
	}

	body := msg[p.hdrEnd:p.end]
	b = appendString(b, p.typ)
	b = append(b, ' ')
	b = appendString(b, p.sub)
	b = append(b, ' ')
	b = appendParams(b, p.params)
	b = append(b, ' ')
	b = appendNString(b, p.f.id)
	b = append(b, ' ')
	b = appendNString(b, p.f.description)
	b = append(b, ' ')
	b = appendString(b, encodingOf(p.f.encoding))
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(body)), 10)
	switch {
	case p.msg != nil:
		// body-type-msg: envelope, body and lines of the encapsulated message.
		b = append(b, ' ')
		b = appendEnvelope(b, &p.msg.f)
		b = append(b, ' ')
		b = p.msg.appendBody(b, msg, ext)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(bytes.Count(body, []byte{'\n'})), 10)
	case p.typ == "TEXT":
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(bytes.Count(body, []byte{'\n'})), 10)
	}
	if ext {
		b = append(b, ' ')
		b = appendNString(b, p.f.md5)
		b = p.appendExtTail(b)
	}
	return append(b, ')')
}

// appendExtTail writes the extension fields shared by both part kinds:
// SP body-fld-dsp SP body-fld-lang SP body-fld-loc.
func (p *part) appendExtTail(b []byte) []byte {
	b = append(b, ' ')
	if typ, params, ok := parseDisposition(p.f.disposition.v); p.f.disposition.ok && ok {
		// body-fld-dsp = "(" string SP body-fld-param ")" (RFC 2183).
		b = append(b, '(')
		b = appendString(b, typ)
		b = append(b, ' ')
		b = appendParams(b, params)
		b = append(b, ')')
	} else {
		b = append(b, "NIL"...)
	}
	b = append(b, ' ')
	switch langs := languagesOf(p.f.language); len(langs) {
	case 0:
		b = append(b, "NIL"...)
	case 1:
		b = appendString(b, langs[0])
	default:
		b = append(b, '(')
		for i, l := range langs {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendString(b, l)
		}
		b = append(b, ')')
	}
	b = append(b, ' ')
	return appendNString(b, p.f.location)
}

// appendParams writes body-fld-param: a list of name/value pairs, or NIL.
func appendParams(b []byte, ps []param) []byte {
	if len(ps) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for i, p := range ps {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendString(b, p.name)
		b = append(b, ' ')
		b = appendString(b, p.value)
	}
	return append(b, ')')
}

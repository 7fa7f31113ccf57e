package mimeinfo

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/transform"
)

// lookupCharset returns the decoder for a MIME charset name (RFC 2046 §4.1.2),
// or nil when the text is to be taken as UTF-8: for UTF-8 and US-ASCII (which
// the caller handles), and for charsets nobody knows. The IANA registry is
// asked first, so that the MIME meanings win (UTF-16 is big-endian unless a
// BOM says otherwise, RFC 2781 §4.3); the WHATWG index then adds the aliases
// mail software writes in practice (cp1251, x-sjis, ks_c_5601-1987, gb2312
// as GBK).
func lookupCharset(name string) encoding.Encoding {
	name = strings.Trim(strings.TrimSpace(name), `"'`)
	switch strings.ToLower(name) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return nil
	}
	if e, err := ianaindex.MIME.Encoding(name); err == nil && e != nil {
		if e == charmap.ISO8859_1 {
			// Octets 0x80-0x9F are C1 controls in Latin-1 and never text;
			// mail labelled Latin-1 that has them is windows-1252.
			return charmap.Windows1252
		}
		return e
	}
	// The WHATWG "replacement" encoding turns a whole text into one U+FFFD;
	// keeping the octets at least leaves the ASCII in it searchable.
	if e, err := htmlindex.Get(name); err == nil && e != nil && e != encoding.Replacement {
		return e
	}
	return nil
}

// isUTF8Label reports whether a charset label means text that is taken as
// it is: UTF-8, or US-ASCII and no label at all, which in practice often
// carry UTF-8 or Latin octets anyway.
func isUTF8Label(name string) bool {
	switch strings.ToLower(strings.Trim(strings.TrimSpace(name), `"'`)) {
	case "utf-8", "utf8":
		return true
	}
	return false
}

// decodeCharset converts text in the named charset to valid UTF-8, producing
// at most limit octets (cut at a character boundary): decoding stops there,
// so a huge part costs no more than its first limit octets of text. Unknown
// charsets keep their octets. Text labelled US-ASCII or not labelled that is
// not valid UTF-8 is read as windows-1252, the usual truth behind such labels.
func decodeCharset(b []byte, charset string, limit int) []byte {
	if limit <= 0 {
		return nil
	}
	enc := lookupCharset(charset)
	if enc == nil && !isUTF8Label(charset) && !utf8.Valid(b) {
		switch strings.ToLower(strings.Trim(strings.TrimSpace(charset), `"'`)) {
		case "", "us-ascii", "ascii":
			enc = lookupCharset("windows-1252")
		}
	}
	if enc == nil {
		if len(b) > limit {
			b = b[:limit]
		}
		return validUTF8(b, limit)
	}
	// A decoder writes at most 3 octets per input octet (U+FFFD for each
	// bad one); the extra UTFMax lets the last character before limit
	// complete, so that the cut is on a boundary.
	out := make([]byte, min(limit+utf8.UTFMax, 3*len(b)+utf8.UTFMax))
	n, err := io.ReadFull(transform.NewReader(bytes.NewReader(b), enc.NewDecoder()), out)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		// The decoders replace bad input rather than fail; should one fail
		// anyway, the octets are better than nothing.
		return validUTF8(b[:min(len(b), limit)], limit)
	}
	got := out[:n]
	if n == len(out) {
		got = dropPartialRune(got)
	}
	return validUTF8(got, limit)
}

// dropPartialRune removes an incomplete character from the end of b, left
// there when a decoder's output was cut off.
func dropPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

// validUTF8 replaces invalid sequences with U+FFFD and cuts the result to at
// most limit octets at a character boundary.
func validUTF8(b []byte, limit int) []byte {
	if !utf8.Valid(b) {
		b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	return truncateUTF8(b, limit)
}

// truncateUTF8 cuts valid UTF-8 to at most limit octets without splitting a
// character.
func truncateUTF8(b []byte, limit int) []byte {
	if len(b) <= limit {
		return b
	}
	return dropPartialRune(b[:limit])
}

// wordDecoder decodes RFC 2047 encoded words. The standard library knows
// UTF-8, US-ASCII and ISO-8859-1; every other charset goes through
// lookupCharset, and one nobody knows is passed through as octets and then
// made valid UTF-8, so a SEARCH still matches the ASCII in it.
var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	enc := lookupCharset(charset)
	if enc == nil {
		return input, nil
	}
	return transform.NewReader(input, enc.NewDecoder()), nil
}

// decodeHeader turns a raw header value into UTF-8 text for SEARCH: encoded
// words decoded, invalid UTF-8 replaced, NUL dropped.
func decodeHeader(v string) string {
	if strings.Contains(v, "=?") {
		if d, err := wordDecoder.DecodeHeader(v); err == nil {
			v = d
		}
	}
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	return dropNUL(v)
}

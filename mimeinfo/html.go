package mimeinfo

import (
	"strings"
	"unicode/utf8"
)

// stripHTML turns HTML into text good enough for a substring search: tags
// and comments are dropped (an inline tag joins what surrounds it, so
// "wo<b>rd</b>" reads "word"; a block tag becomes a space), the contents of
// script and style elements go, and the common entities are decoded. It is
// no HTML parser: a '<' that cannot start a tag is kept, and an unterminated
// tag or comment swallows the rest. One pass, linear in len(s).
func stripHTML(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '<' && strings.HasPrefix(s[i:], "<!--"):
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				return b.String()
			}
			i += 4 + end + 3
		case c == '<' && i+1 < len(s) && isTagStart(s[i+1]):
			end := strings.IndexByte(s[i+1:], '>')
			if end < 0 {
				return b.String()
			}
			tag := s[i+1 : i+1+end]
			i += end + 2
			closing := strings.HasPrefix(tag, "/")
			name := tagName(tag)
			if isBlockTag(name) {
				b.WriteByte(' ')
			}
			if !closing && (name == "script" || name == "style") {
				// Skip to the matching end tag, or drop the rest.
				end := indexFold(s[i:], "</"+name)
				if end < 0 {
					return b.String()
				}
				i += end
			}
		case c == '&':
			r, n := entity(s[i:])
			if n == 0 {
				b.WriteByte('&')
				i++
				continue
			}
			b.WriteRune(r)
			i += n
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func isTagStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '/' || c == '!' || c == '?'
}

// tagName returns the lower-cased element name of a tag's inside ("/p",
// "br /", "div class=x").
func tagName(tag string) string {
	tag = strings.TrimPrefix(tag, "/")
	n := 0
	for n < len(tag) && n < 16 && isAlnum(tag[n]) {
		n++
	}
	return strings.ToLower(tag[:n])
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isBlockTag reports elements that separate words when rendered.
func isBlockTag(name string) bool {
	switch name {
	case "br", "p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "hr",
		"h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "title", "body", "head", "html":
		return true
	}
	return false
}

// indexFold is strings.Index with ASCII case folding; sub is lower case.
// Linear in len(s) for the short fixed subs used here.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i] == '<' && strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// entity decodes the character reference at the start of s ("&amp;",
// "&#233;", "&#xE9;"), returning the character and the octets it spans, or
// n=0 when s does not start with one known here.
func entity(s string) (r rune, n int) {
	semi := strings.IndexByte(s[:min(len(s), 12)], ';')
	if semi < 2 {
		return 0, 0
	}
	name := s[1:semi]
	switch name {
	case "amp":
		return '&', semi + 1
	case "lt":
		return '<', semi + 1
	case "gt":
		return '>', semi + 1
	case "quot":
		return '"', semi + 1
	case "apos":
		return '\'', semi + 1
	case "nbsp":
		// A no-break space reads as a space for searching.
		return ' ', semi + 1
	}
	if name[0] != '#' || len(name) < 2 {
		return 0, 0
	}
	digits, base := name[1:], rune(10)
	if digits[0] == 'x' || digits[0] == 'X' {
		digits, base = digits[1:], 16
	}
	if digits == "" {
		return 0, 0
	}
	for i := 0; i < len(digits); i++ {
		d := rune(unhexOrBad(digits[i]))
		if d >= base {
			return 0, 0
		}
		r = r*base + d // at most 9 digits: no overflow
	}
	if r == 0 || !utf8.ValidRune(r) {
		r = utf8.RuneError
	}
	return r, semi + 1
}

// unhexOrBad returns the value of a hex digit, or 0xFF.
func unhexOrBad(c byte) byte {
	if !isHex(c) {
		return 0xFF
	}
	return unhex(c)
}

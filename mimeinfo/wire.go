package mimeinfo

import "strconv"

// appendString writes s as an IMAP string (RFC 3501 §4.3): a quoted string when
// every octet is printable 7-bit text, otherwise a literal. NUL is not allowed
// in either form in IMAP4rev1 (§4.3, CHAR8), so NUL octets are dropped.
func appendString(b []byte, s string) []byte {
	s = dropNUL(s)
	if quotable(s) {
		b = append(b, '"')
		for i := 0; i < len(s); i++ {
			if s[i] == '"' || s[i] == '\\' {
				b = append(b, '\\')
			}
			b = append(b, s[i])
		}
		return append(b, '"')
	}
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, '}', '\r', '\n')
	return append(b, s...)
}

// appendNString writes NIL for an absent value, else the string.
func appendNString(b []byte, v hval) []byte {
	if !v.ok {
		return append(b, "NIL"...)
	}
	return appendString(b, v.v)
}

// appendNonEmpty writes NIL for an empty string, else the string.
func appendNonEmpty(b []byte, s string) []byte {
	if s == "" {
		return append(b, "NIL"...)
	}
	return appendString(b, s)
}

// quotable reports whether s may go in a quoted string: TEXT-CHAR without
// control characters other than TAB (RFC 3501 §9 quoted).
func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\t') || c > 0x7e {
			return false
		}
	}
	return true
}

func dropNUL(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			out := make([]byte, 0, len(s))
			for j := 0; j < len(s); j++ {
				if s[j] != 0 {
					out = append(out, s[j])
				}
			}
			return string(out)
		}
	}
	return s
}

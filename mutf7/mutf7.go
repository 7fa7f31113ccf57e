// Package mutf7 encodes and decodes mailbox names in the modified UTF-7 of
// RFC 3501 §5.1.3, as IMAP sends them and as Maildir++ folders name their
// directories.
package mutf7

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Printable US-ASCII stands for itself, "&" is "&-", anything else is "&" +
// modified base64 (with "," for "/") of UTF-16BE + "-".

const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

// ErrInvalid is returned for a name that is not valid modified UTF-7.
var ErrInvalid = errors.New("invalid modified UTF-7")

func b64val(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == ',':
		return 63
	}
	return -1
}

// Decode decodes a modified UTF-7 mailbox name to UTF-8. A name that is
// already UTF-8 (8-bit, no "&") is accepted as it is.
func Decode(s string) (string, error) {
	if strings.IndexByte(s, '&') < 0 {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				return decode8bit(s)
			}
		}
		return s, nil
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '&' {
			if c < 0x20 || c > 0x7e {
				return "", ErrInvalid
			}
			sb.WriteByte(c)
			i++
			continue
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			return "", ErrInvalid
		}
		enc := s[i+1 : i+1+j]
		i += j + 2
		if enc == "" {
			sb.WriteByte('&')
			continue
		}
		var units []uint16
		var bits, nbits uint32
		for k := 0; k < len(enc); k++ {
			v := b64val(enc[k])
			if v < 0 {
				return "", ErrInvalid
			}
			bits = bits<<6 | uint32(v)
			nbits += 6
			if nbits >= 16 {
				nbits -= 16
				units = append(units, uint16(bits>>nbits))
				bits &= 1<<nbits - 1
			}
		}
		// Leftover bits must be zero padding of less than 6 bits
		// (RFC 2152 rules, as RFC 3501 requires).
		if nbits >= 6 || bits != 0 || len(units) == 0 {
			return "", ErrInvalid
		}
		for _, r := range utf16.Decode(units) {
			if r == utf8.RuneError {
				return "", ErrInvalid
			}
			if r >= 0x20 && r <= 0x7e {
				// Printable ASCII must not be encoded.
				return "", ErrInvalid
			}
			sb.WriteRune(r)
		}
	}
	return sb.String(), nil
}

// decode8bit accepts a raw UTF-8 name, as sent by UTF8=ACCEPT-style clients.
func decode8bit(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrInvalid
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", ErrInvalid
		}
	}
	return s, nil
}

// Encode encodes a UTF-8 mailbox name in modified UTF-7.
func Encode(s string) string {
	simple := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e || s[i] == '&' {
			simple = false
			break
		}
	}
	if simple {
		return s
	}
	var sb strings.Builder
	var pending []uint16
	flush := func() {
		if len(pending) == 0 {
			return
		}
		sb.WriteByte('&')
		var bits, nbits uint32
		for _, u := range pending {
			bits = bits<<16 | uint32(u)
			nbits += 16
			for nbits >= 6 {
				nbits -= 6
				sb.WriteByte(b64[(bits>>nbits)&63])
			}
			bits &= 1<<nbits - 1
		}
		if nbits > 0 {
			sb.WriteByte(b64[(bits<<(6-nbits))&63])
		}
		sb.WriteByte('-')
		pending = pending[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				sb.WriteString("&-")
			} else {
				sb.WriteRune(r)
			}
			continue
		}
		if r == utf8.RuneError {
			r = '\uFFFD'
		}
		pending = utf16.AppendRune(pending, r)
	}
	flush()
	return sb.String()
}

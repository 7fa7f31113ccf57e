package mimeinfo

// Content-Transfer-Encoding decoders for search (RFC 2045 §6). They are
// lenient on purpose: mail in the wild has broken line lengths, stray
// characters and missing padding, and a search should still find the words
// in it. Neither ever fails; each stops once it has produced limit octets.

// base64Value maps an octet of the base64 alphabet (RFC 2045 §6.8, Table 1)
// to its 6-bit value, and everything else to 0xFF.
var base64Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeBase64 decodes base64 text, ignoring every character outside the
// alphabet (RFC 2045 §6.8 says decoders must ignore them). A '=' ends the
// current quantum, so that bodies made of several separately encoded pieces
// still decode.
func decodeBase64(src []byte, limit int) []byte {
	out := make([]byte, 0, min(len(src)/4*3+3, max(limit, 0)))
	var acc uint32
	bits := 0
	for _, c := range src {
		if len(out) >= limit {
			break
		}
		if c == '=' {
			acc, bits = 0, 0
			continue
		}
		v := base64Value[c]
		if v == 0xFF {
			continue
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
			acc &= 1<<bits - 1
		}
	}
	return out
}

// decodeQuotedPrintable decodes quoted-printable text (RFC 2045 §6.7): "=XX"
// is an octet (lower-case hex accepted), "=" before a line break (with white
// space between, which rule 3 says was added in transport) is a soft line
// break, and any other "=" is kept as it is.
func decodeQuotedPrintable(src []byte, limit int) []byte {
	out := make([]byte, 0, min(len(src), max(limit, 0)))
	for i := 0; i < len(src) && len(out) < limit; i++ {
		c := src[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		if i+2 < len(src) && isHex(src[i+1]) && isHex(src[i+2]) {
			out = append(out, unhex(src[i+1])<<4|unhex(src[i+2]))
			i += 2
			continue
		}
		j := i + 1
		for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
			j++
		}
		switch {
		case j == len(src):
			i = j // "=" at the very end: a soft break before nothing
		case src[j] == '\n':
			i = j
		case src[j] == '\r' && j+1 < len(src) && src[j+1] == '\n':
			i = j + 1
		default:
			out = append(out, '=')
		}
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// decodeTransfer undoes a Content-Transfer-Encoding (upper-cased, as
// encodingOf returns it). 7BIT, 8BIT, BINARY and unknown mechanisms are
// taken as they are.
func decodeTransfer(body []byte, mechanism string, limit int) []byte {
	switch mechanism {
	case "BASE64":
		return decodeBase64(body, limit)
	case "QUOTED-PRINTABLE":
		return decodeQuotedPrintable(body, limit)
	}
	if len(body) > limit {
		return body[:max(limit, 0)]
	}
	return body
}

package outbound

import "bytes"

// headerOf returns the header block of a message (RFC 5322 §2.1): its lines
// up to and with the empty line that ends it. It also ends at the first line
// that is neither a header field nor the continuation of one, so that a
// message without an empty line cannot pass its body off as header. With
// limit > 0 it ends after the last whole field that fits in limit octets.
func headerOf(msg []byte, limit int) []byte {
	end := len(msg)
	cut := 0 // the last field boundary within limit
	for off := 0; off < len(msg); {
		if limit > 0 && off > limit {
			return msg[:cut] // no later boundary fits
		}
		next := len(msg)
		if i := bytes.IndexByte(msg[off:], '\n'); i >= 0 {
			next = off + i + 1
		}
		line := bytes.TrimRight(msg[off:next], "\r\n")
		if len(line) == 0 {
			if off <= limit {
				cut = off
			}
			end = next
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if off == 0 {
				end = 0 // a continuation of nothing
				break
			}
		} else {
			if off <= limit {
				cut = off
			}
			if !fieldStart(line) {
				end = off
				break
			}
		}
		off = next
	}
	if limit > 0 && end > limit {
		return msg[:cut]
	}
	return msg[:end]
}

// fieldStart reports whether line begins a header field: a name of printable
// ASCII other than ":", then ":" (RFC 5322 §2.2), with the white space before
// the colon that the obsolete syntax allows (§4.5).
func fieldStart(line []byte) bool {
	i := 0
	for i < len(line) && line[i] > ' ' && line[i] < 0x7f && line[i] != ':' {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i < len(line) && line[i] == ':'
}

// Package authres writes the Authentication-Results header field (RFC 8601)
// and removes from a received header block the fields that claim to come
// from our own authentication service (RFC 8601 §5), so that a message
// cannot arrive carrying forged results in our name.
package authres

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"postern/mailaddr"
	"postern/mimeinfo"
)

// Result is one method's result (RFC 8601 §2.2 resinfo): "spf=pass
// smtp.mailfrom=alice@example.com", with an optional reason.
type Result struct {
	// Method is the method name: "spf", "dkim", "dmarc", "iprev", ...
	Method string
	// Value is the result: "pass", "fail", "none", ...
	Value  string
	Reason string
	Props  []Prop
}

// Prop is one property of a result (RFC 8601 §2.3): ptype.property=value,
// e.g. smtp.mailfrom, header.d, header.from.
type Prop struct {
	Type, Property, Value string
}

// maxValue bounds one property value or reason: they come from the sender
// (MAIL FROM, d=, From:) and a path is at most 256 octets (RFC 5321 §4.5.3.1.3).
const maxValue = 256

// Field returns a whole Authentication-Results field with its CRLF, one
// result per line: authservID is our host name (RFC 8601 §2.5). With no
// results it says "none" (§2.2).
func Field(authservID string, results []Result) string {
	var b strings.Builder
	b.WriteString("Authentication-Results: ")
	b.WriteString(formatValue(authservID))
	if len(results) == 0 {
		b.WriteString("; none\r\n")
		return b.String()
	}
	for _, r := range results {
		b.WriteString(";\r\n\t")
		b.WriteString(token(r.Method))
		b.WriteByte('=')
		b.WriteString(token(r.Value))
		if r.Reason != "" {
			b.WriteString(" reason=")
			b.WriteString(quote(clean(r.Reason)))
		}
		for _, p := range r.Props {
			if p.Value == "" {
				continue
			}
			b.WriteByte(' ')
			b.WriteString(token(p.Type))
			b.WriteByte('.')
			b.WriteString(token(p.Property))
			b.WriteByte('=')
			b.WriteString(formatPvalue(clean(p.Value)))
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// clean drops control characters (no CR or LF may end the field early),
// invalid UTF-8, and what is past maxValue octets.
func clean(s string) string {
	ok := len(s) <= maxValue && utf8.ValidString(s)
	for i := 0; ok && i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			ok = false
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > maxValue {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isTokenChar reports whether c may be in a MIME token (RFC 2045 §5.1).
func isTokenChar(c byte) bool {
	return c > 0x20 && c < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?=`, rune(c))
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// token returns s when it is a token, else s with the other characters
// dropped: method, result and property names are ours, never the sender's.
func token(s string) string {
	if isToken(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isTokenChar(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// formatValue writes a value (RFC 2045 token or quoted-string).
func formatValue(s string) string {
	s = clean(s)
	if isToken(s) {
		return s
	}
	return quote(s)
}

// formatPvalue writes a property value (RFC 8601 §2.2 pvalue): a token, an
// address whose local part is a dot-atom, or a quoted-string.
func formatPvalue(s string) string {
	if isToken(s) {
		return s
	}
	if local, domain, ok := strings.Cut(s, "@"); ok && isToken(domain) && (local == "" || mailaddr.IsDotAtom(local)) {
		return s
	}
	return quote(s)
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// Remove returns header without the Authentication-Results fields whose
// authentication service identifier is authservID (RFC 8601 §5), compared
// without regard to letter case, a trailing dot, or A-labels against
// U-labels. Fields of other services stay. header is returned unchanged
// (not copied) when nothing is removed.
func Remove(header []byte, authservID string) []byte {
	ours := normalizeID(authservID)
	var out []byte
	kept := 0 // header[:kept] is decided; fields are contiguous from 0
	pos := 0
	for name, raw := range mimeinfo.Fields(header) {
		start := pos
		pos += len(raw)
		if !isAuthResults(name) {
			continue
		}
		id, ok := ServID(mimeinfo.FieldValue(raw))
		if !ok || normalizeID(id) != ours {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(header))
		}
		out = append(out, header[kept:start]...)
		kept = pos
	}
	if out == nil {
		return header
	}
	return append(out, header[kept:]...)
}

func isAuthResults(name []byte) bool {
	return len(name) == len("Authentication-Results") && strings.EqualFold(string(name), "Authentication-Results")
}

func normalizeID(id string) string {
	id = strings.TrimSuffix(id, ".")
	for i := 0; i < len(id); i++ {
		if id[i] >= 0x80 {
			if a, err := idna.Lookup.ToASCII(id); err == nil {
				id = a
			}
			break
		}
	}
	return strings.ToLower(id)
}

// ServID returns the authentication service identifier at the start of an
// Authentication-Results field value (RFC 8601 §2.2): a token or a
// quoted-string after optional comments and white space. ok is false when
// there is none.
func ServID(v string) (id string, ok bool) {
	i := skipCFWS(v, 0)
	if i >= len(v) {
		return "", false
	}
	if v[i] == '"' {
		var b strings.Builder
		for j := i + 1; j < len(v); j++ {
			switch c := v[j]; c {
			case '\\':
				if j+1 < len(v) {
					j++
					b.WriteByte(v[j])
				}
			case '"':
				return b.String(), b.Len() > 0
			default:
				b.WriteByte(c)
			}
		}
		return "", false // unterminated
	}
	j := i
	// A U-label (RFC 8601 §5, EAI) is as much a part of the identifier as
	// ASCII token characters.
	for j < len(v) && (isTokenChar(v[j]) || v[j] >= 0x80) {
		j++
	}
	return v[i:j], j > i
}

// skipCFWS skips white space and nested comments (RFC 5322 §3.2.2).
func skipCFWS(v string, i int) int {
	depth := 0
	for i < len(v) {
		c := v[i]
		switch {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n':
			return i
		}
		i++
	}
	return i
}

package mimeinfo

import "strings"

// param is one MIME parameter: name upper-cased, value as written with the
// quoting removed. RFC 2231 extended forms (filename*=utf-8'en'%E2%82%AC.txt) are kept
// raw, as Dovecot sends them; clients decode them.
type param struct {
	name, value string
}

// maxParams bounds the parameters kept per header field.
const maxParams = 64

// parseMediaType splits a Content-Type value (RFC 2045 §5.1) into upper-cased
// type and subtype and its parameters. ok is false when the type/subtype is
// not two non-empty tokens; the caller then applies the default.
func parseMediaType(v string) (typ, sub string, params []param, ok bool) {
	head, rest, _ := strings.Cut(v, ";")
	t, s, found := strings.Cut(head, "/")
	t, s = strings.TrimSpace(t), strings.TrimSpace(s)
	if !found || !isToken(t) || !isToken(s) {
		return "", "", nil, false
	}
	return strings.ToUpper(t), strings.ToUpper(s), parseParams(rest), true
}

// parseDisposition splits a Content-Disposition value (RFC 2183 §2).
func parseDisposition(v string) (typ string, params []param, ok bool) {
	head, rest, _ := strings.Cut(v, ";")
	head = strings.TrimSpace(head)
	if !isToken(head) {
		return "", nil, false
	}
	return strings.ToUpper(head), parseParams(rest), true
}

// parseParams reads `*(";" attribute "=" value)` (RFC 2045 §5.1) leniently:
// a parameter without '=' is skipped, an unterminated quoted string runs to
// the end, a bare value runs to the next ';'.
func parseParams(s string) []param {
	var out []param
	i := 0
	for i < len(s) && len(out) < maxParams {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ';') {
			i++
		}
		j := i
		for j < len(s) && s[j] != '=' && s[j] != ';' {
			j++
		}
		name := strings.TrimSpace(s[i:j])
		if j >= len(s) || s[j] != '=' {
			i = j
			continue
		}
		j++
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		var value string
		if j < len(s) && s[j] == '"' {
			var sb strings.Builder
			j++
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				sb.WriteByte(s[j])
				j++
			}
			value = sb.String()
			for j < len(s) && s[j] != ';' {
				j++
			}
		} else {
			k := j
			for j < len(s) && s[j] != ';' {
				j++
			}
			value = strings.TrimSpace(s[k:j])
		}
		if isToken(name) {
			out = append(out, param{name: strings.ToUpper(name), value: value})
		}
		i = j
	}
	return out
}

func paramValue(ps []param, name string) (string, bool) {
	for _, p := range ps {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}

// isToken reports whether s is a non-empty RFC 2045 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// encodingOf returns the Content-Transfer-Encoding mechanism upper-cased
// (RFC 2045 §6.1), "7BIT" when absent or malformed.
func encodingOf(v hval) string {
	s := strings.TrimSpace(v.v)
	if i := strings.IndexAny(s, " \t;("); i >= 0 {
		s = s[:i]
	}
	if !v.ok || !isToken(s) {
		return "7BIT"
	}
	return strings.ToUpper(s)
}

// languagesOf splits Content-Language (RFC 3282) into its tags.
func languagesOf(v hval) []string {
	if !v.ok {
		return nil
	}
	tags := strings.FieldsFunc(stripComments(v.v), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(tags) > maxParams {
		tags = tags[:maxParams]
	}
	return tags
}

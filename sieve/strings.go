package sieve

import (
	"strings"
	"unicode/utf8"
)

// str is a string argument ready to run: literal text and references to
// variables. Encoded characters (RFC 5228 §2.4.2.4) are decoded when the
// script is compiled; variables (RFC 5229 §3) are expanded when it runs.
type str struct {
	pos   Pos
	src   string    // the string as written, escapes undone; vacation tracking uses it (RFC 5230 §4.2)
	lit   string    // the value when refs is nil
	parts []strPart // literal text and references, when the string has references
}

type strPart struct {
	lit string
	ref *varRef
}

// varRef is a reference "${name}", "${global.name}" or "${N}".
type varRef struct {
	num    int    // 0-9 for a match variable, -1 for a named one; a larger number expands to ""
	name   string // lower case; variable names are case-insensitive (RFC 5229 §3)
	global bool   // in the global namespace of RFC 6609 §3.4
}

// constant reports whether the string needs no expansion.
func (s *str) constant() bool { return s.parts == nil }

// compileString decodes encoded characters and finds variable references in
// one pass from left to right, so that neither sees the output of the other
// ("${hex:4${hex:30}}" becomes "${hex:40}", RFC 5228 §2.4.2.4). A "${" that
// starts neither is taken literally.
func (ck *checker) compileString(s String) (str, *Error) {
	out := str{pos: s.Pos, src: s.Value}
	enc, vars := ck.has("encoded-character"), ck.has("variables")
	if !strings.Contains(s.Value, "${") || (!enc && !vars) {
		out.lit = s.Value
		return out, nil
	}
	v := s.Value
	var lit strings.Builder
	for i := 0; i < len(v); {
		if v[i] != '$' || i+1 >= len(v) || v[i+1] != '{' {
			lit.WriteByte(v[i])
			i++
			continue
		}
		if enc {
			b, n, err := decodeEncoded(v[i:])
			if err != "" {
				return out, errorf(s.Pos, "%s", err)
			}
			if n > 0 {
				lit.Write(b)
				i += n
				continue
			}
		}
		if vars {
			ref, n, err := ck.parseRef(v[i:])
			if err != "" {
				return out, errorf(s.Pos, "%s", err)
			}
			if n > 0 {
				if lit.Len() > 0 {
					out.parts = append(out.parts, strPart{lit: lit.String()})
					lit.Reset()
				}
				out.parts = append(out.parts, strPart{ref: ref})
				i += n
				continue
			}
		}
		lit.WriteByte('$')
		i++
	}
	if out.parts == nil {
		out.lit = lit.String()
		return out, nil
	}
	if lit.Len() > 0 {
		out.parts = append(out.parts, strPart{lit: lit.String()})
	}
	return out, nil
}

func isHexDigit(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func hexVal(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case c >= 'a':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}

// decodeEncoded decodes "${hex:...}" or "${unicode:...}" at the start of v
// (RFC 5228 §2.4.2.4). n is 0 when v does not start with a well-formed
// sequence; err is set for a well-formed one with a value outside Unicode.
func decodeEncoded(v string) (b []byte, n int, err string) {
	var unicode bool
	switch {
	case len(v) >= 6 && strings.EqualFold(v[2:6], "hex:"):
		n = 6
	case len(v) >= 10 && strings.EqualFold(v[2:10], "unicode:"):
		n, unicode = 10, true
	default:
		return nil, 0, ""
	}
	blank := func() bool {
		switch {
		case n < len(v) && (v[n] == ' ' || v[n] == '\t'):
			n++
		case n+1 < len(v) && v[n] == '\r' && v[n+1] == '\n':
			n += 2
		default:
			return false
		}
		return true
	}
	var bad string
	items := 0
	for {
		sep := false
		for blank() {
			sep = true
		}
		if n >= len(v) {
			return nil, 0, ""
		}
		if v[n] == '}' {
			if items == 0 {
				return nil, 0, "" // "${hex:}" is not a sequence
			}
			if bad != "" {
				return nil, 0, bad
			}
			return b, n + 1, ""
		}
		if items > 0 && !sep {
			return nil, 0, ""
		}
		start := n
		for n < len(v) && isHexDigit(v[n]) {
			n++
		}
		digits := v[start:n]
		if digits == "" || (!unicode && len(digits) > 2) {
			return nil, 0, ""
		}
		items++
		if !unicode {
			val := 0
			for i := 0; i < len(digits); i++ {
				val = val<<4 | hexVal(digits[i])
			}
			b = append(b, byte(val))
			continue
		}
		digits = strings.TrimLeft(digits, "0")
		r := rune(0)
		if len(digits) > 6 {
			r = utf8.MaxRune + 1
		} else {
			for i := 0; i < len(digits); i++ {
				r = r<<4 | rune(hexVal(digits[i]))
			}
		}
		if r > utf8.MaxRune || (r >= 0xD800 && r <= 0xDFFF) {
			// An error only once the whole sequence is known to be well
			// formed (RFC 5228 §2.4.2.4 note).
			if bad == "" {
				bad = "encoded character ${unicode:" + v[start:n] + "} is outside Unicode"
			}
			continue
		}
		b = utf8.AppendRune(b, r)
	}
}

// parseRef parses a variable reference at the start of v (RFC 5229 §3):
//
//	variable-ref  = "${" [namespace] variable-name "}"
//	namespace     = identifier "." *sub-namespace
//	variable-name = num-variable / identifier
//
// n is 0 when v does not start with one. A namespace other than "global"
// (RFC 6609 §3.4, with require "include") is an error.
func (ck *checker) parseRef(v string) (ref *varRef, n int, err string) {
	end := strings.IndexByte(v, '}')
	if end < 0 {
		return nil, 0, ""
	}
	name := v[2:end]
	parts := strings.Split(name, ".")
	for _, p := range parts {
		if !isIdentifier(p) && !isNumber(p) {
			return nil, 0, ""
		}
	}
	last := parts[len(parts)-1]
	if len(parts) == 1 {
		if isNumber(last) {
			num := 10
			if t := strings.TrimLeft(last, "0"); len(t) <= 1 {
				num = 0
				if t != "" {
					num = int(t[0] - '0')
				}
			}
			return &varRef{num: num}, end + 1, ""
		}
		lname := strings.ToLower(last)
		return &varRef{num: -1, name: lname, global: ck.globals[lname]}, end + 1, ""
	}
	if !isIdentifier(parts[0]) {
		return nil, 0, ""
	}
	if !strings.EqualFold(parts[0], "global") || !ck.has("include") {
		return nil, 0, "unknown variable namespace " + quote(parts[0]) + " in ${" + name + "}"
	}
	if len(parts) != 2 || !isIdentifier(last) {
		return nil, 0, "invalid global variable name in ${" + name + "}"
	}
	return &varRef{num: -1, name: strings.ToLower(last), global: true}, end + 1, ""
}

func isIdentifier(s string) bool {
	if s == "" || !(isAlpha(s[0]) || s[0] == '_') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(isAlpha(c) || isDigit(c) || c == '_') {
			return false
		}
	}
	return true
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// strList is a compiled string list.
type strList []str

func (ck *checker) compileList(a Arg) (strList, *Error) {
	out := make(strList, len(a.Strings))
	for i, s := range a.Strings {
		var err *Error
		if out[i], err = ck.compileString(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// constant reports whether every string of the list needs no expansion.
func (l strList) constant() bool {
	for i := range l {
		if !l[i].constant() {
			return false
		}
	}
	return true
}

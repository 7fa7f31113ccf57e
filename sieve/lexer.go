package sieve

import (
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tTag
	tNumber
	tString
	tPunct // one of [ ] ( ) { } , ;
)

type token struct {
	kind tokKind
	pos  Pos
	text string // identifier or tag in lower case without ':'; the punctuation character; a string's value
	num  uint64
}

// describe names a token for error messages.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "the end of the script"
	case tIdent:
		return "identifier " + quote(t.text)
	case tTag:
		return "tag :" + t.text
	case tNumber:
		return "a number"
	case tString:
		return "a string"
	}
	return quote(t.text)
}

// quote quotes s for an error message, cut short when long.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// lexer splits a script into the tokens of RFC 5228 §8.1. It is lenient in
// one way only: a bare LF ends a line like CRLF does, since scripts edited
// on Unix have them; line endings inside strings become CRLF. A bare CR and
// NUL are errors, as are unterminated strings and comments.
type lexer struct {
	src  []byte
	off  int
	line int
	col  int
}

func newLexer(src []byte) *lexer { return &lexer{src: src, line: 1, col: 1} }

func (l *lexer) pos() Pos { return Pos{l.line, l.col} }

// advance moves past n bytes that hold no line ending.
func (l *lexer) advance(n int) {
	end := l.off + n
	for l.off < end {
		if c := l.src[l.off]; c < utf8.RuneSelf {
			l.off++
		} else {
			_, size := utf8.DecodeRune(l.src[l.off:end])
			l.off += size
		}
		l.col++
	}
}

// newline moves past a line ending (CRLF or LF) at the current offset.
func (l *lexer) newline() {
	if l.src[l.off] == '\r' {
		l.off++
	}
	l.off++
	l.line++
	l.col = 1
}

// atNewline reports whether a line ending starts here; a CR that is not
// followed by LF is an error.
func (l *lexer) atNewline() (bool, *Error) {
	switch l.src[l.off] {
	case '\n':
		return true, nil
	case '\r':
		if l.off+1 < len(l.src) && l.src[l.off+1] == '\n' {
			return true, nil
		}
		return false, errorf(l.pos(), "a CR must be followed by LF")
	}
	return false, nil
}

func (l *lexer) peekByte(i int) byte {
	if l.off+i < len(l.src) {
		return l.src[l.off+i]
	}
	return 0
}

// skipSpace skips white space and comments (RFC 5228 §2.2, §2.3).
func (l *lexer) skipSpace() *Error {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t':
			l.advance(1)
		case c == '\r' || c == '\n':
			if _, err := l.atNewline(); err != nil {
				return err
			}
			l.newline()
		case c == '#':
			if err := l.hashComment(); err != nil {
				return err
			}
		case c == '/' && l.peekByte(1) == '*':
			start := l.pos()
			l.advance(2)
			for {
				if l.off >= len(l.src) {
					return errorf(start, "unterminated comment: /* without */")
				}
				if l.src[l.off] == '*' && l.peekByte(1) == '/' {
					l.advance(2)
					break
				}
				if err := l.anyByte(); err != nil {
					return err
				}
			}
		default:
			return nil
		}
	}
	return nil
}

// hashComment skips "#" up to and including the line ending.
func (l *lexer) hashComment() *Error {
	for l.off < len(l.src) {
		nl, err := l.atNewline()
		if err != nil {
			return err
		}
		if nl {
			l.newline()
			return nil
		}
		if err := l.anyByte(); err != nil {
			return err
		}
	}
	return nil
}

// anyByte moves past one character inside a comment or string, or a line
// ending; NUL is refused (RFC 5228 §2.1).
func (l *lexer) anyByte() *Error {
	switch l.src[l.off] {
	case 0:
		return errorf(l.pos(), "NUL is not allowed in a script")
	case '\r', '\n':
		if _, err := l.atNewline(); err != nil {
			return err
		}
		l.newline()
		return nil
	}
	l.advance(1)
	return nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// identLen returns the length of the identifier at the current offset
// (RFC 5228 §8.1: identifier = (ALPHA / "_") *(ALPHA / DIGIT / "_")).
func (l *lexer) identLen(from int) int {
	i := from
	if i >= len(l.src) || !(isAlpha(l.src[i]) || l.src[i] == '_') {
		return 0
	}
	for i < len(l.src) && (isAlpha(l.src[i]) || isDigit(l.src[i]) || l.src[i] == '_') {
		i++
	}
	return i - from
}

// next returns the next token.
func (l *lexer) next() (token, *Error) {
	if err := l.skipSpace(); err != nil {
		return token{}, err
	}
	p := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tEOF, pos: p}, nil
	}
	c := l.src[l.off]
	switch {
	case strings.IndexByte("[](){},;", c) >= 0:
		l.advance(1)
		return token{kind: tPunct, pos: p, text: string(c)}, nil
	case c == '"':
		s, err := l.quoted()
		return token{kind: tString, pos: p, text: s}, err
	case c == ':':
		n := l.identLen(l.off + 1)
		if n == 0 {
			return token{}, errorf(p, "a tag needs a name after the colon")
		}
		name := strings.ToLower(string(l.src[l.off+1 : l.off+1+n]))
		l.advance(1 + n)
		return token{kind: tTag, pos: p, text: name}, nil
	case isDigit(c):
		return l.number()
	case isAlpha(c) || c == '_':
		n := l.identLen(l.off)
		name := strings.ToLower(string(l.src[l.off : l.off+n]))
		if name == "text" && l.peekByte(n) == ':' {
			l.advance(n + 1)
			s, err := l.multiline(p)
			return token{kind: tString, pos: p, text: s}, err
		}
		l.advance(n)
		return token{kind: tIdent, pos: p, text: name}, nil
	case c == 0:
		return token{}, errorf(p, "NUL is not allowed in a script")
	}
	r, _ := utf8.DecodeRune(l.src[l.off:])
	if r == utf8.RuneError {
		return token{}, errorf(p, "unexpected byte 0x%02x outside a string or comment", c)
	}
	return token{}, errorf(p, "unexpected character %q", r)
}

// number reads 1*DIGIT [QUANTIFIER] (RFC 5228 §2.4.1, §8.1).
func (l *lexer) number() (token, *Error) {
	p := l.pos()
	const max = 1<<63 - 1
	var n uint64
	i := l.off
	for i < len(l.src) && isDigit(l.src[i]) {
		d := uint64(l.src[i] - '0')
		if n > (max-d)/10 {
			return token{}, errorf(p, "number too large")
		}
		n = n*10 + d
		i++
	}
	if i < len(l.src) {
		shift := 0
		switch l.src[i] {
		case 'k', 'K':
			shift = 10
		case 'm', 'M':
			shift = 20
		case 'g', 'G':
			shift = 30
		}
		if shift > 0 {
			if n > max>>shift {
				return token{}, errorf(p, "number too large")
			}
			n <<= shift
			i++
		}
	}
	if i < len(l.src) && (isAlpha(l.src[i]) || l.src[i] == '_') {
		return token{}, errorf(p, "a number must be followed by white space or punctuation, not %q", l.src[i])
	}
	l.advance(i - l.off)
	return token{kind: tNumber, pos: p, num: n}, nil
}

// quoted reads a quoted string (RFC 5228 §2.4.2, §8.1 quoted-string): "\\"
// and "\"" stand for the character, and any other escaped character for
// itself.
func (l *lexer) quoted() (string, *Error) {
	start := l.pos()
	l.advance(1)
	var sb strings.Builder
	for {
		if l.off >= len(l.src) {
			return "", errorf(start, "unterminated quoted string")
		}
		c := l.src[l.off]
		switch c {
		case '"':
			l.advance(1)
			return sb.String(), nil
		case '\\':
			l.advance(1)
			if l.off >= len(l.src) {
				return "", errorf(start, "unterminated quoted string")
			}
			c = l.src[l.off]
		}
		switch c {
		case 0:
			return "", errorf(l.pos(), "NUL is not allowed in a script")
		case '\r', '\n':
			if _, err := l.atNewline(); err != nil {
				return "", err
			}
			l.newline()
			sb.WriteString("\r\n")
		default:
			sb.WriteByte(c)
			l.advance(1)
		}
	}
}

// multiline reads the rest of a "text:" string (RFC 5228 §2.4.2, §8.1
// multi-line): optional blanks and a hash comment up to the line ending,
// then lines up to one holding only ".", with a leading ".." unstuffed to
// ".". Every line of the value ends with CRLF.
func (l *lexer) multiline(start Pos) (string, *Error) {
	for l.off < len(l.src) && (l.src[l.off] == ' ' || l.src[l.off] == '\t') {
		l.advance(1)
	}
	if l.off >= len(l.src) {
		return "", errorf(start, "unterminated multi-line string: text: without a line ending")
	}
	if l.src[l.off] == '#' {
		if err := l.hashComment(); err != nil {
			return "", err
		}
	} else {
		nl, err := l.atNewline()
		if err != nil {
			return "", err
		}
		if !nl {
			return "", errorf(l.pos(), "text: must be followed by a line ending (or a # comment)")
		}
		l.newline()
	}
	var sb strings.Builder
	for {
		if l.off >= len(l.src) {
			return "", errorf(start, "unterminated multi-line string: no line with a single \".\" before the end of the script")
		}
		lineStart := l.off
		end := lineStart
		for end < len(l.src) && l.src[end] != '\r' && l.src[end] != '\n' {
			end++
		}
		line := l.src[lineStart:end]
		if len(line) == 1 && line[0] == '.' {
			l.advance(1)
			if l.off < len(l.src) {
				if _, err := l.atNewline(); err != nil {
					return "", err
				}
				l.newline()
			}
			return sb.String(), nil
		}
		if len(line) >= 2 && line[0] == '.' && line[1] == '.' {
			l.advance(1) // dot-stuffing
		}
		for l.off < end {
			if err := l.anyByte(); err != nil {
				return "", err
			}
		}
		from := lineStart
		if len(line) >= 2 && line[0] == '.' && line[1] == '.' {
			from++
		}
		sb.Write(l.src[from:end])
		if l.off >= len(l.src) {
			return "", errorf(start, "unterminated multi-line string: no line with a single \".\" before the end of the script")
		}
		if _, err := l.atNewline(); err != nil {
			return "", err
		}
		l.newline()
		sb.WriteString("\r\n")
	}
}

package wire

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// SyntaxError is a malformed command; the server answers BAD.
type SyntaxError struct{ Msg string }

func (e *SyntaxError) Error() string { return e.Msg }

func syntaxf(format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...)}
}

// LimitError is a command that goes past one of the limits on what one
// command may ask for (its keys, sections, header-field names, nesting):
// the server refuses it with BAD [LIMIT] (RFC 5530 §3) and skips the rest
// of it.
type LimitError struct{ Msg string }

func (e *LimitError) Error() string { return e.Msg }

func limitf(format string, args ...any) error {
	return &LimitError{Msg: fmt.Sprintf(format, args...)}
}

// LiteralTooBigError is a literal the server refuses. When NonSync is set
// the client sends its bytes anyway: the caller must discard Size bytes
// and the rest of the command (RFC 7888 §4) before reading on.
type LiteralTooBigError struct {
	Size    int64
	Limit   int64
	NonSync bool
	// Command is set when the literal fits its own limit but would take
	// the string literals of the command past Parser.MaxLiterals; Limit is
	// then that total.
	Command bool
}

func (e *LiteralTooBigError) Error() string {
	if e.Command {
		return fmt.Sprintf("literal of %d bytes takes the command's literals over the limit of %d bytes", e.Size, e.Limit)
	}
	return fmt.Sprintf("literal of %d bytes is over the limit of %d bytes", e.Size, e.Limit)
}

// Parser reads the arguments of one command from a Reader.
type Parser struct {
	R *Reader
	// Continue is called before the bytes of a synchronizing literal are
	// read; it sends the "+" continuation request (RFC 3501 §7.5).
	Continue func() error
	// MaxLiteral caps a literal used as a string argument.
	MaxLiteral int64
	// MaxLiterals caps the literals used as string arguments of one
	// command together (APPEND's messages are streamed, not strings); 0
	// means no cap. Together with the reader's MaxLine it bounds what one
	// command can make the server hold, however many literals it has.
	MaxLiterals int64
	// UTF8 is set once the client has enabled UTF-8 (UTF8=ACCEPT or
	// IMAP4rev2): mailbox names are UTF-8, not modified UTF-7, and 8-bit
	// bytes in a quoted string must be valid UTF-8 (RFC 6855 §3).
	UTF8 bool
	// NoCharset refuses SEARCH CHARSET, as RFC 6855 §3 has it once the
	// client has enabled UTF8=ACCEPT.
	NoCharset bool
	// Ended is set once the final CRLF of the command has been read; the
	// connection then knows there is nothing left to skip after an error.
	Ended bool

	literals int64 // bytes of string literals read in this command
}

// Start prepares the parser for a new command: nothing of it is read yet,
// and its counts of text and literal bytes start from zero.
func (p *Parser) Start() {
	p.Ended = false
	p.literals = 0
	p.R.StartCommand()
}

// Peek returns the next byte without consuming it.
func (p *Parser) Peek() (byte, error) { return p.R.PeekByte() }

// Expect consumes the byte c or fails.
func (p *Parser) Expect(c byte, what string) error {
	b, err := p.R.PeekByte()
	if err != nil {
		return err
	}
	if b != c {
		return syntaxf("expected %s", what)
	}
	_, err = p.R.ReadByte()
	return err
}

// SP consumes one space.
func (p *Parser) SP() error { return p.Expect(' ', "a space") }

// MaybeSP consumes a space if one is next.
func (p *Parser) MaybeSP() (bool, error) {
	b, err := p.R.PeekByte()
	if err != nil || b != ' ' {
		return false, err
	}
	_, err = p.R.ReadByte()
	return true, err
}

// CRLF consumes the end of the command line. A bare LF is tolerated.
func (p *Parser) CRLF() error {
	b, err := p.R.PeekByte()
	if err != nil {
		return err
	}
	if b == '\r' {
		if _, err := p.R.ReadByte(); err != nil {
			return err
		}
		b, err = p.R.PeekByte()
		if err != nil {
			return err
		}
	}
	if b != '\n' {
		return syntaxf("unexpected characters at the end of the command")
	}
	p.R.r++
	return nil
}

// AtEOL reports whether the command line ends next.
func (p *Parser) AtEOL() bool {
	b, err := p.R.PeekByte()
	return err == nil && (b == '\r' || b == '\n')
}

func isCTL(b byte) bool { return b < 0x20 || b == 0x7f }

// IsAtomChar reports ATOM-CHAR of RFC 3501 §9.
func IsAtomChar(b byte) bool {
	switch b {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return !isCTL(b) && b < 0x80
}

func (p *Parser) readWhile(ok func(byte) bool, what string) (string, error) {
	var sb strings.Builder
	for {
		b, err := p.R.PeekByte()
		if err != nil {
			return "", err
		}
		if !ok(b) {
			break
		}
		if _, err := p.R.ReadByte(); err != nil {
			return "", err
		}
		sb.WriteByte(b)
	}
	if sb.Len() == 0 {
		return "", syntaxf("expected %s", what)
	}
	return sb.String(), nil
}

// Atom reads an atom.
func (p *Parser) Atom() (string, error) { return p.readWhile(IsAtomChar, "an atom") }

// Tag reads a command tag: ATOM-CHAR except "+".
func (p *Parser) Tag() (string, error) {
	return p.readWhile(func(b byte) bool { return IsAtomChar(b) && b != '+' }, "a tag")
}

func isAStringChar(b byte) bool { return IsAtomChar(b) || b == ']' }

// Number reads an unsigned 32-bit number.
func (p *Parser) Number() (uint32, error) {
	n, err := p.Number64()
	if err != nil {
		return 0, err
	}
	if n > 0xffffffff {
		return 0, syntaxf("number out of range")
	}
	return uint32(n), nil
}

// Number64 reads an unsigned number of up to 63 bits.
func (p *Parser) Number64() (int64, error) {
	s, err := p.readWhile(func(b byte) bool { return b >= '0' && b <= '9' }, "a number")
	if err != nil {
		return 0, err
	}
	if len(s) > 18 {
		return 0, syntaxf("number out of range")
	}
	var n int64
	for i := 0; i < len(s); i++ {
		n = n*10 + int64(s[i]-'0')
	}
	return n, nil
}

// Quoted reads a quoted string (RFC 3501 §4.3). 8-bit bytes are accepted
// as UTF-8 (RFC 6855 clients send them); once the client has enabled
// UTF-8, a quoted string that is not valid UTF-8 is refused with BAD
// (RFC 6855 §3).
func (p *Parser) Quoted() (string, error) {
	if err := p.Expect('"', "a quoted string"); err != nil {
		return "", err
	}
	var sb strings.Builder
	high := false
	for {
		b, err := p.R.ReadByte()
		if err != nil {
			return "", err
		}
		switch b {
		case '"':
			s := sb.String()
			if high && p.UTF8 && !utf8.ValidString(s) {
				return "", syntaxf("quoted string is not valid UTF-8")
			}
			return s, nil
		case '\\':
			b, err = p.R.ReadByte()
			if err != nil {
				return "", err
			}
			if b != '"' && b != '\\' {
				return "", syntaxf("bad escape in quoted string")
			}
		case '\r', '\n', 0:
			return "", syntaxf("unterminated quoted string")
		}
		if b >= 0x80 {
			high = true
		}
		sb.WriteByte(b)
	}
}

// LiteralHeader reads "{n}" or "{n+}" and the CRLF after it. It does not
// send a continuation.
func (p *Parser) LiteralHeader() (size int64, nonSync bool, err error) {
	if err := p.Expect('{', "a literal"); err != nil {
		return 0, false, err
	}
	n, err := p.Number64()
	if err != nil {
		return 0, false, err
	}
	b, err := p.R.PeekByte()
	if err != nil {
		return 0, false, err
	}
	if b == '+' {
		nonSync = true
		p.R.ReadByte()
	}
	if err := p.Expect('}', "'}' after the literal size"); err != nil {
		return 0, false, err
	}
	if err := p.CRLF(); err != nil {
		return 0, false, syntaxf("expected CRLF after the literal size")
	}
	return n, nonSync, nil
}

// Literal reads a literal of at most limit bytes into memory.
func (p *Parser) Literal(limit int64) ([]byte, error) {
	lr, err := p.LiteralStream(limit)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, lr.Size())
	if _, err := p.R.ReadFull(buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// LiteralStream reads a literal header, enforces limit, sends the
// continuation for a synchronizing literal and returns a reader of its
// bytes. On *LiteralTooBigError nothing of the literal was read.
func (p *Parser) LiteralStream(limit int64) (*LiteralReader, error) {
	n, nonSync, err := p.LiteralHeader()
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, &LiteralTooBigError{Size: n, Limit: limit, NonSync: nonSync}
	}
	if !nonSync && p.Continue != nil {
		if err := p.Continue(); err != nil {
			return nil, err
		}
	}
	return p.R.LiteralReader(n), nil
}

// MessageLiteral reads the message of an APPEND: a literal, or a literal8
// "~{n}" (RFC 3516 §4.4), whose bytes the caller takes as they are.
func (p *Parser) MessageLiteral(limit int64) (lr *LiteralReader, literal8 bool, err error) {
	if b, err := p.R.PeekByte(); err != nil {
		return nil, false, err
	} else if b == '~' {
		p.R.ReadByte()
		literal8 = true
	}
	lr, err = p.LiteralStream(limit)
	return lr, literal8, err
}

// Keyword consumes word (case-insensitively) and a space after it if the
// command continues with them, as APPEND's "UTF8 (" and "CATENATE (".
func (p *Parser) Keyword(word string) (bool, error) { return p.peekWord(word) }

// String reads a quoted string or a literal.
func (p *Parser) String() (string, error) {
	b, err := p.R.PeekByte()
	if err != nil {
		return "", err
	}
	switch b {
	case '"':
		return p.Quoted()
	case '{':
		return p.stringLiteral()
	}
	return "", syntaxf("expected a string")
}

// stringLiteral reads a literal used as a string. Besides its own limit it
// counts against the command's MaxLiterals: each literal of a command
// starts a new line, so without a total a command could carry any number
// of them.
func (p *Parser) stringLiteral() (string, error) {
	limit, total := p.MaxLiteral, false
	if p.MaxLiterals > 0 {
		if left := max(p.MaxLiterals-p.literals, 0); left < limit {
			limit, total = left, true
		}
	}
	buf, err := p.Literal(limit)
	if err != nil {
		var lt *LiteralTooBigError
		if total && errors.As(err, &lt) {
			lt.Command, lt.Limit = true, p.MaxLiterals
		}
		return "", err
	}
	p.literals += int64(len(buf))
	return string(buf), nil
}

// AString reads an atom (with "]" allowed) or a string.
func (p *Parser) AString() (string, error) {
	b, err := p.R.PeekByte()
	if err != nil {
		return "", err
	}
	if b == '"' || b == '{' {
		return p.String()
	}
	return p.readWhile(isAStringChar, "an atom or string")
}

// NString reads a string or NIL; ok is false for NIL.
func (p *Parser) NString() (s string, ok bool, err error) {
	b, err := p.R.PeekByte()
	if err != nil {
		return "", false, err
	}
	if b == '"' || b == '{' {
		s, err := p.String()
		return s, true, err
	}
	a, err := p.Atom()
	if err != nil {
		return "", false, err
	}
	if !strings.EqualFold(a, "NIL") {
		return "", false, syntaxf("expected a string or NIL")
	}
	return "", false, nil
}

// ListMailbox reads a LIST pattern: list-char+ or a string (RFC 3501 §9).
func (p *Parser) ListMailbox() (string, error) {
	b, err := p.R.PeekByte()
	if err != nil {
		return "", err
	}
	if b == '"' || b == '{' {
		return p.String()
	}
	return p.readWhile(func(b byte) bool { return isAStringChar(b) || b == '%' || b == '*' }, "a mailbox pattern")
}

// List reads "(" item *(SP item) ")" calling item for each element. An
// empty list is allowed when empty is true.
func (p *Parser) List(empty bool, item func() error) error {
	if err := p.Expect('(', "'('"); err != nil {
		return err
	}
	b, err := p.R.PeekByte()
	if err != nil {
		return err
	}
	if b == ')' {
		if !empty {
			return syntaxf("empty list")
		}
		p.R.ReadByte()
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		b, err := p.R.PeekByte()
		if err != nil {
			return err
		}
		if b == ')' {
			p.R.ReadByte()
			return nil
		}
		if err := p.SP(); err != nil {
			return syntaxf("expected a space or ')' in a list")
		}
	}
}

// Discard implements reading the rest of a literal a handler gave up on.
var _ io.Reader = (*LiteralReader)(nil)

package managesieve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits of the command reader.
const (
	// maxLine caps the octets of a command outside its literals.
	maxLine = 8 << 10
	// maxQuoted caps a quoted string (RFC 5804 §4: quoted is at most
	// 1024 octets between the quotes).
	maxQuoted = 1024
	// maxArgs caps the arguments of one command; none takes more than two.
	maxArgs = 8
	// maxDiscard caps what is read and thrown away of a line or literal
	// that is too long before the connection is closed instead.
	maxDiscard = 16 << 20
)

// Arg is one argument of a command: a string (quoted or literal) or a
// number (RFC 5804 §4).
type Arg struct {
	IsNumber bool
	Str      string
	Num      uint32
}

// Command is one parsed command line.
type Command struct {
	Name string // upper case
	Args []Arg
}

// errSyntax is a malformed command: the rest of its line has been read,
// the reply is NO and the session goes on. errFatal ends the session.
type errSyntax struct {
	msg  string
	code string // a response code for the NO, or ""
}

func (e *errSyntax) Error() string { return e.msg }

var errFatal = errors.New("the client sent more than the protocol allows")

// reader reads commands and SASL responses from a client.
type reader struct {
	r *bufio.Reader
	// maxLiteral caps one literal; a larger one is read and thrown away
	// (up to maxDiscard) and the command refused with QUOTA/MAXSIZE.
	maxLiteral int
	n          int // octets of the current line outside literals
}

func syntaxf(format string, args ...any) *errSyntax {
	return &errSyntax{msg: fmt.Sprintf(format, args...)}
}

// ReadCommand reads one command (RFC 5804 §4 command): an atom, then
// strings and numbers separated by single spaces, then CRLF. A bare LF is
// taken as CRLF.
func (rd *reader) ReadCommand() (Command, error) {
	rd.n = 0
	var cmd Command
	name, err := rd.atom()
	if err != nil {
		return cmd, rd.recover(err)
	}
	cmd.Name = strings.ToUpper(name)
	for {
		c, err := rd.byte()
		if err != nil {
			return cmd, rd.recover(err)
		}
		switch c {
		case '\r':
			if c, err = rd.byte(); err != nil || c != '\n' {
				return cmd, rd.recover(orSyntax(err, "CR without LF"))
			}
			return cmd, nil
		case '\n':
			return cmd, nil
		case ' ':
		default:
			return cmd, rd.recover(syntaxf("expected a space or the end of the line after %s", cmd.Name))
		}
		if len(cmd.Args) >= maxArgs {
			return cmd, rd.recover(syntaxf("too many arguments"))
		}
		a, err := rd.arg()
		if err != nil {
			return cmd, rd.recover(err)
		}
		cmd.Args = append(cmd.Args, a)
	}
}

// ReadString reads a line holding one string, a client's SASL response
// (RFC 5804 §2.1).
func (rd *reader) ReadString() (string, error) {
	rd.n = 0
	c, err := rd.peek()
	if err != nil {
		return "", rd.recover(err)
	}
	if c != '"' && c != '{' {
		return "", rd.recover(syntaxf("expected a string"))
	}
	a, err := rd.arg()
	if err != nil {
		return "", rd.recover(err)
	}
	if err := rd.lineEnd(); err != nil {
		return "", rd.recover(err)
	}
	return a.Str, nil
}

func orSyntax(err error, msg string) error {
	if err != nil {
		return err
	}
	return syntaxf("%s", msg)
}

// recover reads the rest of the line after a syntax error, so that the
// next command starts at the next line. Other errors pass unchanged.
func (rd *reader) recover(err error) error {
	var se *errSyntax
	if !errors.As(err, &se) {
		return err
	}
	for skipped := 0; ; {
		line, rerr := rd.r.ReadSlice('\n')
		skipped += len(line)
		if rerr == nil {
			return err
		}
		if !errors.Is(rerr, bufio.ErrBufferFull) {
			return rerr
		}
		if skipped > maxDiscard {
			return errFatal
		}
	}
}

func (rd *reader) byte() (byte, error) {
	c, err := rd.r.ReadByte()
	if err != nil {
		return 0, err
	}
	if rd.n++; rd.n > maxLine {
		return 0, syntaxf("command line longer than %d octets", maxLine)
	}
	if c == 0 {
		return 0, syntaxf("NUL in a command")
	}
	return c, nil
}

func (rd *reader) peek() (byte, error) {
	b, err := rd.r.Peek(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// lineEnd reads CRLF (or LF).
func (rd *reader) lineEnd() error {
	c, err := rd.byte()
	if err != nil {
		return err
	}
	if c == '\r' {
		if c, err = rd.byte(); err != nil {
			return err
		}
	}
	if c != '\n' {
		return syntaxf("expected the end of the line")
	}
	return nil
}

// isAtomChar is ATOM-CHAR of RFC 5804 §4.
func isAtomChar(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte(`(){"\`, c) < 0
}

func (rd *reader) atom() (string, error) {
	var sb strings.Builder
	for {
		c, err := rd.peek()
		if err != nil {
			return "", err
		}
		if !isAtomChar(c) {
			break
		}
		if _, err := rd.byte(); err != nil {
			return "", err
		}
		sb.WriteByte(c)
	}
	if sb.Len() == 0 {
		return "", syntaxf("expected a command name")
	}
	return sb.String(), nil
}

// arg reads a quoted string, a literal or a number.
func (rd *reader) arg() (Arg, error) {
	c, err := rd.byte()
	if err != nil {
		return Arg{}, err
	}
	switch {
	case c == '"':
		s, err := rd.quoted()
		return Arg{Str: s}, err
	case c == '{':
		s, err := rd.literal()
		return Arg{Str: s}, err
	case c >= '0' && c <= '9':
		digits := []byte{c}
		for {
			p, err := rd.peek()
			if err != nil {
				return Arg{}, err
			}
			if p < '0' || p > '9' {
				break
			}
			if _, err := rd.byte(); err != nil {
				return Arg{}, err
			}
			digits = append(digits, p)
		}
		// number = (NZDIGIT *DIGIT) / "0", 32 bits.
		n, err := strconv.ParseUint(string(digits), 10, 32)
		if err != nil || (len(digits) > 1 && digits[0] == '0') {
			return Arg{}, syntaxf("invalid number %q", digits)
		}
		return Arg{IsNumber: true, Num: uint32(n)}, nil
	}
	return Arg{}, syntaxf("expected a string or a number, found %q", c)
}

// quoted reads the rest of a quoted string: "\" escapes only '"' and
// "\" (RFC 5804 §4 QUOTED-CHAR); CR and LF cannot appear.
func (rd *reader) quoted() (string, error) {
	var sb strings.Builder
	for {
		c, err := rd.byte()
		if err != nil {
			return "", err
		}
		switch c {
		case '"':
			return sb.String(), nil
		case '\\':
			if c, err = rd.byte(); err != nil {
				return "", err
			}
			if c != '"' && c != '\\' {
				return "", syntaxf("invalid escape \\%c in a quoted string", c)
			}
		case '\r', '\n':
			return "", syntaxf("unterminated quoted string")
		}
		if sb.Len() >= maxQuoted {
			return "", syntaxf("quoted string longer than %d octets; send a literal", maxQuoted)
		}
		sb.WriteByte(c)
	}
}

// literal reads the rest of "{" number ["+"] "}" CRLF and the octets.
// Both the non-synchronizing form of RFC 5804 §4 and the plain one are
// taken; the server never asks for a literal's octets, it just reads them.
func (rd *reader) literal() (string, error) {
	var digits []byte
	for {
		c, err := rd.byte()
		if err != nil {
			return "", err
		}
		if c >= '0' && c <= '9' && len(digits) < 11 {
			digits = append(digits, c)
			continue
		}
		if c == '+' {
			if c, err = rd.byte(); err != nil {
				return "", err
			}
		}
		if c != '}' || len(digits) == 0 {
			return "", syntaxf("invalid literal")
		}
		break
	}
	n, err := strconv.ParseUint(string(digits), 10, 32)
	if err != nil {
		return "", syntaxf("invalid literal length")
	}
	if err := rd.lineEnd(); err != nil {
		return "", err
	}
	if int64(n) > int64(rd.maxLiteral) {
		if n > maxDiscard {
			return "", errFatal
		}
		if _, err := io.CopyN(io.Discard, rd.r, int64(n)); err != nil {
			return "", err
		}
		return "", &errSyntax{msg: fmt.Sprintf("literal of %d octets is larger than the limit of %d", n, rd.maxLiteral), code: "QUOTA/MAXSIZE"}
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(rd.r, buf); err != nil {
		return "", err
	}
	return string(buf), nil
}

package pop3d

import (
	"bytes"
	"errors"
	"strings"
)

// Limits on what a client may send (RFC 2449 §4).
const (
	// maxCommandLine is the longest command line, CRLF included, that RFC
	// 2449 §4 lets a client send.
	maxCommandLine = 255
	// maxAuthLine is the longest line accepted for PASS, AUTH and SASL
	// responses. Base64 of a PLAIN message with long fields easily exceeds
	// 255 octets, so these lines get more room.
	maxAuthLine = 1024 + 2
	// maxArgs bounds the arguments of one command; no POP3 command has more
	// than two, AUTH has two.
	maxArgs = 4
)

// Command is one parsed command line.
type Command struct {
	// Name is the keyword in upper case, e.g. "RETR".
	Name string
	// Args are the space-separated arguments.
	Args []string
	// Rest is everything after the keyword and its single space, verbatim.
	// PASS uses it: RFC 1939 §7 lets a password contain spaces.
	Rest string
}

// Errors from ParseCommand. Their text is fit to show to the client.
var (
	errEmptyLine   = errors.New("empty command line")
	errBadKeyword  = errors.New("malformed command keyword")
	errBadArgument = errors.New("malformed argument (control characters or too many arguments)")
)

// ParseCommand parses one command line, with or without its CRLF (a bare LF
// is accepted too). RFC 1939 §3: a keyword of three or four printable
// characters, case-insensitive, then arguments separated by single spaces.
// Runs of spaces are tolerated. Control characters are refused anywhere.
func ParseCommand(line []byte) (Command, error) {
	n := len(line)
	if n > 0 && line[n-1] == '\n' {
		n--
		if n > 0 && line[n-1] == '\r' {
			n--
		}
	}
	line = line[:n]
	if len(line) == 0 {
		return Command{}, errEmptyLine
	}
	for _, c := range line {
		if c < ' ' || c == 0x7f {
			return Command{}, errBadArgument
		}
	}
	kw := line
	var rest []byte
	if i := bytes.IndexByte(line, ' '); i >= 0 {
		kw, rest = line[:i], line[i+1:]
	}
	if len(kw) < 3 || len(kw) > 4 {
		return Command{}, errBadKeyword
	}
	var name [4]byte
	for i, c := range kw {
		switch {
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 'A' && c <= 'Z':
		default:
			return Command{}, errBadKeyword
		}
		name[i] = c
	}
	cmd := Command{Name: internName(name[:len(kw)]), Rest: string(rest)}
	if len(rest) > 0 {
		for _, f := range strings.Split(cmd.Rest, " ") {
			if f == "" {
				continue
			}
			if len(cmd.Args) == maxArgs {
				return Command{}, errBadArgument
			}
			cmd.Args = append(cmd.Args, f)
		}
	}
	return cmd, nil
}

// knownNames lets the parser return a constant string for every command we
// implement instead of allocating one per line.
var knownNames = []string{
	"USER", "PASS", "AUTH", "CAPA", "STLS", "QUIT", "STAT", "LIST", "RETR",
	"DELE", "NOOP", "RSET", "TOP", "UIDL", "APOP",
}

func internName(b []byte) string {
	for _, k := range knownNames {
		if k == string(b) { // no allocation: the compiler compares in place
			return k
		}
	}
	return string(b)
}

// parseNumber parses a decimal message number or line count: digits only,
// no sign, at most nine digits so that it always fits an int.
func parseNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

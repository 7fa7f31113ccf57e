package mimeinfo

import (
	"fmt"
	"strconv"
)

// sx is a parsed IMAP wire value: a list, a string (quoted or literal), NIL,
// or an atom such as a number.
type sx struct {
	list   []*sx
	isList bool
	str    string
	isStr  bool
	isNil  bool
	atom   string
}

func (s *sx) String() string {
	switch {
	case s.isList:
		out := "("
		for i, e := range s.list {
			if i > 0 {
				out += " "
			}
			out += e.String()
		}
		return out + ")"
	case s.isStr:
		return strconv.Quote(s.str)
	case s.isNil:
		return "NIL"
	}
	return s.atom
}

// num returns the value of a number atom, or -1.
func (s *sx) num() int {
	if s.isList || s.isStr || s.isNil {
		return -1
	}
	n, err := strconv.Atoi(s.atom)
	if err != nil {
		return -1
	}
	return n
}

// parseWire reads exactly one value from b; it fails on unbalanced
// parentheses, bad quoting, short literals and trailing bytes.
func parseWire(b []byte) (*sx, error) {
	p := &wireParser{b: b}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if p.i != len(b) {
		return nil, fmt.Errorf("trailing bytes at %d: %q", p.i, b[p.i:])
	}
	return v, nil
}

type wireParser struct {
	b []byte
	i int
}

func (p *wireParser) value(depth int) (*sx, error) {
	if depth > 200 {
		return nil, fmt.Errorf("nesting deeper than 200")
	}
	if p.i >= len(p.b) {
		return nil, fmt.Errorf("unexpected end")
	}
	switch c := p.b[p.i]; {
	case c == '(':
		p.i++
		v := &sx{isList: true}
		for {
			if p.i >= len(p.b) {
				return nil, fmt.Errorf("unclosed list")
			}
			if p.b[p.i] == ')' {
				p.i++
				return v, nil
			}
			if len(v.list) > 0 && p.b[p.i] == ' ' {
				p.i++
			} else if len(v.list) > 0 && !v.list[len(v.list)-1].isList {
				return nil, fmt.Errorf("missing space at %d", p.i)
			}
			e, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			v.list = append(v.list, e)
		}
	case c == '"':
		p.i++
		var s []byte
		for {
			if p.i >= len(p.b) {
				return nil, fmt.Errorf("unterminated quoted string")
			}
			c := p.b[p.i]
			p.i++
			switch c {
			case '"':
				return &sx{isStr: true, str: string(s)}, nil
			case '\\':
				if p.i >= len(p.b) || (p.b[p.i] != '"' && p.b[p.i] != '\\') {
					return nil, fmt.Errorf("bad escape at %d", p.i)
				}
				s = append(s, p.b[p.i])
				p.i++
			case '\r', '\n', 0:
				return nil, fmt.Errorf("CR, LF or NUL in quoted string")
			default:
				if c > 0x7f {
					return nil, fmt.Errorf("8-bit octet in quoted string")
				}
				s = append(s, c)
			}
		}
	case c == '{':
		j := p.i + 1
		for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(string(p.b[p.i+1 : j]))
		if err != nil || j+3 > len(p.b) || p.b[j] != '}' || p.b[j+1] != '\r' || p.b[j+2] != '\n' {
			return nil, fmt.Errorf("bad literal prefix at %d", p.i)
		}
		j += 3
		if j+n > len(p.b) {
			return nil, fmt.Errorf("short literal")
		}
		for _, c := range p.b[j : j+n] {
			if c == 0 {
				return nil, fmt.Errorf("NUL in literal")
			}
		}
		p.i = j + n
		return &sx{isStr: true, str: string(p.b[j : j+n])}, nil
	default:
		j := p.i
		for j < len(p.b) && p.b[j] != ' ' && p.b[j] != '(' && p.b[j] != ')' && p.b[j] != '"' && p.b[j] != '{' {
			j++
		}
		if j == p.i {
			return nil, fmt.Errorf("unexpected %q at %d", c, p.i)
		}
		a := string(p.b[p.i:j])
		p.i = j
		if a == "NIL" {
			return &sx{isNil: true}, nil
		}
		if _, err := strconv.Atoi(a); err != nil {
			return nil, fmt.Errorf("unexpected atom %q", a)
		}
		return &sx{atom: a}, nil
	}
}

package sieve

import "fmt"

// Pos is a place in a script: line and column, both counted from 1. The
// column counts characters (a byte that is not UTF-8 counts as one).
type Pos struct {
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("line %d, column %d", p.Line, p.Col) }

// Error is a compile-time or run-time error in a script, with the place of
// the command, test, argument or token it concerns. Script names the
// included script it occurred in; it is empty for the script run.
type Error struct {
	Pos    Pos
	Script string
	Msg    string
}

func (e *Error) Error() string {
	if e.Script != "" {
		return fmt.Sprintf("%s: %s: %s", e.Script, e.Pos, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
}

func errorf(p Pos, format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

package mbox

import (
	"bufio"
	"bytes"
	"io"
)

// quoting says how body lines that look like From_ lines were escaped.
type quoting uint8

const (
	quoteNone quoting = iota // mboxcl2: the length finds the end, nothing is quoted
	quoteO                   // mboxo: "From " was written ">From "; ">From " stayed as it was
	quoteRD                  // mboxrd: every ">*From " got one more ">"
)

// maxQuoteRun bounds the ">" run the unquoting looks at: a line of more
// ">" than that is left as it is (no writer produces it).
const maxQuoteRun = 1024

// unquoteDrop reports whether the line starting with b loses its first ">":
// mboxrd unquotes one level of ">+From ", mboxo only ">From " (RFC 4155
// §2 and its appendix describe both).
func unquoteDrop(b []byte, q quoting) bool {
	switch q {
	case quoteO:
		return len(b) >= 6 && b[0] == '>' && bytes.HasPrefix(b[1:], fromPrefix)
	case quoteRD:
		k := 0
		for k < len(b) && k < maxQuoteRun && b[k] == '>' {
			k++
		}
		return k > 0 && bytes.HasPrefix(b[k:], fromPrefix)
	}
	return false
}

// unquoter streams a message's octets from the file, removing the quoting.
type unquoter struct {
	br      *bufio.Reader
	q       quoting
	atStart bool
	line    []byte // rest of the current line, from br's buffer
	err     error
}

func newUnquoter(br *bufio.Reader, r io.Reader, q quoting) *unquoter {
	br.Reset(r)
	return &unquoter{br: br, q: q, atStart: true}
}

func (u *unquoter) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(u.line) == 0 {
			if u.err != nil {
				break
			}
			if u.atStart && u.q != quoteNone {
				// Peek returns less at the end of the message, which is
				// also where the scan that measured it stopped.
				b, _ := u.br.Peek(maxQuoteRun + len(fromPrefix))
				if unquoteDrop(b, u.q) {
					u.br.Discard(1)
				}
			}
			u.line, u.err = u.br.ReadSlice('\n')
			if u.err == bufio.ErrBufferFull {
				u.err = nil
			}
			u.atStart = len(u.line) > 0 && u.line[len(u.line)-1] == '\n'
			continue
		}
		c := copy(p[n:], u.line)
		u.line = u.line[c:]
		n += c
	}
	if n == 0 && u.err != nil {
		return 0, u.err
	}
	return n, nil
}

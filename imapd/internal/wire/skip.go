package wire

import "io"

// skipLimit bounds how many bytes of an over-long or broken line are read
// and dropped while looking for its end. Past it the stream cannot be
// trusted to resynchronise and the connection should be closed.
const skipLimit = 1 << 20

// ErrCannotResync is returned by SkipCommand when the end of a broken
// command could not be found within the skip limit.
var ErrCannotResync = errorString("imap: cannot find the end of the command")

type errorString string

func (e errorString) Error() string { return string(e) }

// SkipCommand drops the rest of the current command: the rest of the line
// and, when that line announces a non-synchronizing literal ({n+}), the
// literal and the line after it, and so on. A line that ends in a
// synchronizing literal ends the command, since the client waits for a
// continuation it will not get (RFC 3501 §7.5, RFC 7888 §4).
func (r *Reader) SkipCommand() error {
	for {
		n, nonSync, err := r.skipLine()
		if err != nil {
			return err
		}
		if n < 0 || !nonSync {
			return nil
		}
		if err := r.Discard(n); err != nil {
			return err
		}
	}
}

// skipLine reads up to and including the next LF. It returns the size of
// the literal announced at the end of the line (or -1) and whether it was
// non-synchronizing.
func (r *Reader) skipLine() (int64, bool, error) {
	var tail [32]byte
	nt := 0
	dropped := 0
	for {
		if r.r == r.w {
			if err := r.fill(); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return -1, false, err
			}
		}
		b := r.buf[r.r]
		r.r++
		dropped++
		if b == '\n' {
			r.StartCommand()
			n, nonSync := literalAtEnd(tail[:nt])
			return n, nonSync, nil
		}
		if dropped > skipLimit {
			return -1, false, ErrCannotResync
		}
		if nt == len(tail) {
			copy(tail[:], tail[1:])
			nt--
		}
		tail[nt] = b
		nt++
	}
}

// literalAtEnd parses "{123}" or "{123+}" (optionally followed by CR) at
// the end of s.
func literalAtEnd(s []byte) (int64, bool) {
	if len(s) > 0 && s[len(s)-1] == '\r' {
		s = s[:len(s)-1]
	}
	if len(s) < 3 || s[len(s)-1] != '}' {
		return -1, false
	}
	s = s[:len(s)-1]
	nonSync := false
	if s[len(s)-1] == '+' {
		nonSync = true
		s = s[:len(s)-1]
	}
	i := len(s) - 1
	for i >= 0 && s[i] >= '0' && s[i] <= '9' {
		i--
	}
	if i < 0 || s[i] != '{' || i == len(s)-1 || len(s)-1-i > 18 {
		return -1, false
	}
	var n int64
	for _, c := range s[i+1:] {
		n = n*10 + int64(c-'0')
	}
	if n < 0 {
		return -1, false
	}
	return n, nonSync
}

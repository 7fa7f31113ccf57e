package pop3d

import "strconv"

// message resolves a message-number argument (RFC 1939 §5) to an index
// into the maildrop, or writes the error reply and returns -1. Messages
// marked deleted may not be referred to.
func (s *session) message(arg string) int {
	n, ok := parseNumber(arg)
	if !ok {
		s.protocolError("invalid message number " + strconv.Quote(arg))
		return -1
	}
	if n < 1 || n > len(s.drop.msgs) {
		s.errf("no such message %d (the maildrop has %d)", n, len(s.drop.msgs))
		return -1
	}
	if s.drop.msgs[n-1].deleted {
		s.errf("message %d already deleted", n)
		return -1
	}
	return n - 1
}

// cmdSTAT: RFC 1939 §5 STAT, the drop listing "+OK nn mm".
func (s *session) cmdSTAT(cmd Command) error {
	if len(cmd.Args) != 0 {
		return s.protocolError("usage: STAT")
	}
	n, octets := s.drop.stat()
	s.w.WriteString("+OK ")
	s.writeNumbers(n, octets)
	return nil
}

// cmdNOOP: RFC 1939 §5 NOOP.
func (s *session) cmdNOOP(cmd Command) error {
	if len(cmd.Args) != 0 {
		return s.protocolError("usage: NOOP")
	}
	s.ok("")
	return nil
}

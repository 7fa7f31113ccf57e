package pop3d

import (
	"strconv"
)

// cmdDELE: RFC 1939 §5 DELE msg. The message is only marked; QUIT commits.
func (s *session) cmdDELE(cmd Command) error {
	if len(cmd.Args) != 1 {
		return s.protocolError("usage: DELE msg")
	}
	i := s.message(cmd.Args[0])
	if i < 0 {
		return nil
	}
	s.drop.msgs[i].deleted = true
	s.ok("message " + strconv.Itoa(i+1) + " deleted")
	return nil
}

// cmdRSET: RFC 1939 §5 RSET unmarks every message marked deleted.
func (s *session) cmdRSET(cmd Command) error {
	if len(cmd.Args) != 0 {
		return s.protocolError("usage: RSET")
	}
	for i := range s.drop.msgs {
		s.drop.msgs[i].deleted = false
	}
	n, octets := s.drop.stat()
	s.ok("maildrop has " + strconv.Itoa(n) + " messages (" + strconv.FormatInt(octets, 10) + " octets)")
	return nil
}

package pop3d

import "strconv"

// cmdLIST: RFC 1939 §5 LIST [msg], the scan listing "n size" of one or
// every message not marked deleted.
func (s *session) cmdLIST(cmd Command) error {
	switch len(cmd.Args) {
	case 0:
		n, octets := s.drop.stat()
		s.ok(strconv.Itoa(n) + " messages (" + strconv.FormatInt(octets, 10) + " octets)")
		for i := range s.drop.msgs {
			if m := &s.drop.msgs[i]; !m.deleted {
				s.writeNumbers(i+1, m.size)
			}
		}
		s.w.WriteString(".\r\n")
	case 1:
		i := s.message(cmd.Args[0])
		if i < 0 {
			return nil
		}
		s.w.WriteString("+OK ")
		s.writeNumbers(i+1, s.drop.msgs[i].size)
	default:
		return s.protocolError("usage: LIST [msg]")
	}
	return nil
}

package pop3d

import "strconv"

// cmdUIDL: RFC 1939 §7 UIDL [msg], the unique-id listing. The id is the
// mailbox's UIDVALIDITY and the message's UID in hex, so it is the same in
// every session for as long as the message exists, and never reused.
func (s *session) cmdUIDL(cmd Command) error {
	switch len(cmd.Args) {
	case 0:
		s.ok("unique-id listing follows")
		for i := range s.drop.msgs {
			if m := &s.drop.msgs[i]; !m.deleted {
				s.writeUID(i+1, m.uid)
			}
		}
		s.w.WriteString(".\r\n")
	case 1:
		i := s.message(cmd.Args[0])
		if i < 0 {
			return nil
		}
		s.w.WriteString("+OK ")
		s.writeUID(i+1, s.drop.msgs[i].uid)
	default:
		return s.protocolError("usage: UIDL [msg]")
	}
	return nil
}

// writeUID writes "n uniqueid\r\n".
func (s *session) writeUID(n int, uid uint32) {
	buf := strconv.AppendInt(s.scratch[:0], int64(n), 10)
	buf = append(buf, ' ')
	buf = AppendUniqueID(buf, s.drop.box.UIDValidity, uid)
	buf = append(buf, '\r', '\n')
	s.w.Write(buf)
}

// AppendUniqueID appends the UIDL unique-id of a message: UIDVALIDITY and
// UID as eight hex digits each, e.g. "65f1a2b300000007". RFC 1939 §7 allows
// 1 to 70 characters in 0x21..0x7E.
func AppendUniqueID(dst []byte, uidValidity, uid uint32) []byte {
	const hex = "0123456789abcdef"
	for _, v := range [2]uint32{uidValidity, uid} {
		for shift := 28; shift >= 0; shift -= 4 {
			dst = append(dst, hex[(v>>uint(shift))&0xf])
		}
	}
	return dst
}

package pop3d

import (
	"bytes"
	"fmt"
	"io"

	"postern/storage"
)

// cmdTOP: RFC 1939 §7 TOP msg n, the header, a blank line and the first n
// lines of the body. TOP changes no flag (DESIGN: POP3 TOP changes nothing).
func (s *session) cmdTOP(cmd Command) error {
	if len(cmd.Args) != 2 {
		return s.protocolError("usage: TOP msg n")
	}
	i := s.message(cmd.Args[0])
	if i < 0 {
		return nil
	}
	lines, ok := parseNumber(cmd.Args[1])
	if !ok {
		return s.protocolError("invalid line count")
	}
	m := &s.drop.msgs[i]
	if m.gone {
		s.errf("message %d was deleted by another session", i+1)
		return nil
	}
	rows, err := s.srv.cfg.Store.FetchMessages(s.ctx, s.drop.box.ID, []uint32{m.uid}, storage.FetchWant{Header: true})
	if err != nil {
		s.sysError("reading message header", err)
		return nil
	}
	if len(rows) == 0 {
		m.gone = true
		s.errf("message %d was deleted by another session", i+1)
		return nil
	}
	header := rows[0].Header
	var (
		body  storage.BodyReader
		first []byte
	)
	if lines > 0 && m.headerLen < m.size {
		if body, first, ok = s.openBody(i, m.headerLen); !ok {
			return nil
		}
		defer body.Close()
	}
	s.ok("top of message follows")
	dw := dotWriter{w: s.w, bol: true}
	dw.write(header)
	if !dw.bol {
		dw.write([]byte("\r\n"))
	}
	if !bytes.HasSuffix(header, []byte("\r\n\r\n")) && !bytes.Equal(header, []byte("\r\n")) {
		dw.write([]byte("\r\n")) // the blank line that ends the header
	}
	if body != nil {
		chunk := first
		for lines > 0 {
			// Write whole lines while the count lasts.
			for lines > 0 && len(chunk) > 0 {
				j := bytes.IndexByte(chunk, '\n')
				if j < 0 {
					dw.write(chunk)
					chunk = nil
					break
				}
				dw.write(chunk[:j+1])
				chunk = chunk[j+1:]
				lines--
			}
			if lines == 0 {
				break
			}
			n, err := body.Read(s.copyBuf)
			chunk = s.copyBuf[:n]
			if n == 0 && err == io.EOF {
				break
			}
			if err != nil && err != io.EOF {
				return fmt.Errorf("TOP %d: %w", i+1, err)
			}
		}
	}
	dw.end()
	return nil
}

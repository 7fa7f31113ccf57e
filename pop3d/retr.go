package pop3d

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"postern/storage"
)

// cmdRETR: RFC 1939 §5 RETR msg. The message streams from the store in
// chunks through the connection's writer, dot-stuffed; nothing holds the
// whole message. A retrieved message gets \Seen (DESIGN: POP3 RETR sets
// \Seen), committed before the reply is flushed.
func (s *session) cmdRETR(cmd Command) error {
	if len(cmd.Args) != 1 {
		return s.protocolError("usage: RETR msg")
	}
	i := s.message(cmd.Args[0])
	if i < 0 {
		return nil
	}
	body, first, ok := s.openBody(i, 0)
	if !ok {
		return nil
	}
	defer body.Close()
	s.w.WriteString("+OK ")
	s.w.Write(strconv.AppendInt(s.scratch[:0], body.Size(), 10))
	s.w.WriteString(" octets\r\n")
	dw := dotWriter{w: s.w, bol: true}
	dw.write(first)
	for {
		// At shutdown the message still goes out in full (errInterrupted).
		if err := s.keepAlive(); err != nil && !errors.Is(err, errInterrupted) {
			return err
		}
		n, err := body.Read(s.copyBuf)
		dw.write(s.copyBuf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			// The +OK is out: the only honest way left is to drop the
			// connection, so the client does not take a truncated message.
			return fmt.Errorf("RETR %d: %w", i+1, err)
		}
	}
	dw.end()
	s.drop.markSeen(i)
	s.retrs++
	return nil
}

// openBody opens message i's body and reads its first chunk from offset
// off, so that a message expunged meanwhile gets -ERR rather than a +OK
// followed by nothing. On failure it writes the reply and ok is false.
func (s *session) openBody(i int, off int64) (body storage.BodyReader, first []byte, ok bool) {
	m := &s.drop.msgs[i]
	if m.gone {
		s.errf("message %d was deleted by another session", i+1)
		return nil, nil, false
	}
	if s.copyBuf == nil {
		s.copyBuf = make([]byte, copyBufSize)
	}
	// By (INBOX, UID), never by a body id from the listing: the body is the
	// one this message has now, in this account, or nothing.
	body, err := s.srv.cfg.Store.OpenMessage(s.ctx, s.drop.box.ID, m.uid)
	if err == nil && off > 0 {
		_, err = body.Seek(off, io.SeekStart)
	}
	var n int
	if err == nil {
		n, err = body.Read(s.copyBuf)
		if err == io.EOF {
			err = nil
		}
	}
	if errors.Is(err, storage.ErrNotFound) {
		m.gone = true
		s.errf("message %d was deleted by another session", i+1)
		return nil, nil, false
	}
	if err != nil {
		s.sysError("reading message "+strconv.Itoa(i+1), err)
		return nil, nil, false
	}
	return body, s.copyBuf[:n], true
}

// dotWriter writes a multi-line response body (RFC 1939 §3): a line that
// starts with "." gets one more ".", and end writes the terminating ".".
type dotWriter struct {
	w   *bufio.Writer
	bol bool // the next byte starts a line
}

var nlDot = []byte("\n.")

func (d *dotWriter) write(p []byte) {
	for len(p) > 0 {
		if d.bol && p[0] == '.' {
			d.w.WriteByte('.')
		}
		i := bytes.Index(p, nlDot)
		if i < 0 {
			d.w.Write(p)
			d.bol = p[len(p)-1] == '\n'
			return
		}
		d.w.Write(p[:i+1])
		p = p[i+1:]
		d.bol = true
	}
}

// end finishes the last line if it lacks a CRLF and writes ".\r\n".
func (d *dotWriter) end() {
	if !d.bol {
		d.w.WriteString("\r\n")
	}
	d.w.WriteString(".\r\n")
}

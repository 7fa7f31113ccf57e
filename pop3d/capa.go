package pop3d

import (
	"context"
	"crypto/tls"
	"strings"
	"time"

	"postern/auth"
)

// cmdCAPA: RFC 2449 §5. What is offered depends on the state and on the
// connection: STLS only before TLS, USER and SASL only where a password may
// be sent.
func (s *session) cmdCAPA(cmd Command) error {
	if len(cmd.Args) != 0 {
		return s.protocolError("usage: CAPA")
	}
	s.ok("capability list follows")
	s.w.WriteString("TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n")
	if s.state == stateAuthorization {
		if s.plaintextAllowed() {
			s.w.WriteString("USER\r\nSASL " + strings.Join(auth.Mechanisms, " ") + "\r\n")
		}
		if !s.tls && s.srv.cfg.TLS != nil {
			s.w.WriteString("STLS\r\n")
		}
	}
	// RFC 2449 §6.7: messages are kept until the client deletes them.
	s.w.WriteString("EXPIRE NEVER\r\nIMPLEMENTATION Postern\r\n.\r\n")
	return nil
}

// cmdSTLS: RFC 2595 §4. After the +OK the TLS handshake starts; anything
// the client pipelined behind STLS is discarded, since it was sent in the
// clear and could have been injected (RFC 2595 §4, last paragraph).
func (s *session) cmdSTLS(cmd Command) error {
	switch {
	case len(cmd.Args) != 0:
		return s.protocolError("usage: STLS")
	case s.tls:
		return s.protocolError("TLS is already active")
	case s.srv.cfg.TLS == nil:
		return s.protocolError("STLS is not offered by this server")
	}
	s.ok("begin TLS negotiation")
	if err := s.w.Flush(); err != nil {
		return err
	}
	s.r.Discard(s.r.Buffered())
	s.mu.Lock()
	tc := tls.Server(s.conn, s.srv.cfg.TLS)
	s.conn = tc
	s.mu.Unlock()
	if err := s.handshake(tc); err != nil {
		return err
	}
	s.r.Reset(tc)
	s.w.Reset(tc)
	s.tls = true
	s.user = ""
	return nil
}

// handshake runs a TLS handshake with a time limit.
func (s *session) handshake(tc *tls.Conn) error {
	ctx, cancel := context.WithTimeout(s.ctx, handshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	// Clear the deadline the handshake may have left behind.
	return tc.SetDeadline(time.Time{})
}

package smtpd

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/emersion/go-smtp"

	"postern/delivery"
	"postern/storage"
)

// deliverTimeout bounds storing one message once it has been read.
const deliverTimeout = 2 * time.Minute

// Data implements smtp.Session for DATA and BDAT. It returns only
// *smtp.SMTPError values: go-smtp turns any other error into a permanent 554
// that carries the error's text to the client.
//
// The success reply is a 250 SMTPError as well, so that it can name the
// transaction id; go-smtp writes an error's code as is.
func (s *session) Data(r io.Reader) error {
	if s.tc != nil {
		s.tc.setBusy(true)
		defer s.tc.setBusy(false)
	}
	s.mu.Lock()
	if !s.haveFrom || len(s.rcpts) == 0 {
		s.mu.Unlock()
		return reply(503, 5, 5, 1, "Need MAIL and RCPT before message data")
	}
	env := &delivery.Envelope{
		From:       s.from,
		Recipients: append([]string(nil), s.rcpts...),
		Local:      append([]storage.Account(nil), s.local...),
		Remote:     append([]delivery.Recipient(nil), s.remoteTo...),
		Return:     string(s.mailOpts.Return),
		EnvelopeID: s.mailOpts.EnvelopeID,
		UTF8:       s.mailOpts.UTF8,
		RequireTLS: s.mailOpts.RequireTLS,
		Trace: delivery.Trace{
			Helo:     s.conn.Hostname(),
			RemoteIP: s.remote,
			By:       s.srv.cfg.Hostname,
			TLS:      s.tls,
			Time:     time.Now(),
		},
	}
	if s.account != nil {
		env.Trace.AuthUser = s.account.Address
	}
	if s.srv.submission && s.account != nil {
		acct := *s.account
		env.Check = func(ctx context.Context, msg *storage.Body) error { return s.checkAuthor(ctx, acct, msg) }
	}
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), deliverTimeout)
	defer cancel()
	start := time.Now()
	// The size limit counts the octets the client sends, as RFC 1870 §5
	// defines a message's size: after dot-unstuffing, without the final
	// dot, with every CRLF. The Return-Path and Received fields added here
	// are not the client's to count (Deliver leaves them out), and nothing
	// else changes the size on the way to the store: strictLines refuses
	// the bare CR or LF that storing would normalise to CRLF. So a message
	// of exactly the limit is taken, one octet more is not.
	d, err := s.srv.router.Deliver(ctx, &strictLines{r: r}, env, s.srv.cfg.MaxMessageBytes)
	if err != nil {
		return s.dataError(d.ID, env, err)
	}
	if s.tc != nil {
		s.tc.delivered()
	}
	s.srv.log.Info("message accepted",
		"id", d.ID,
		"remote", s.remote.String(),
		"user", env.Trace.AuthUser,
		"from", env.From,
		"rcpts", len(env.Recipients),
		"local", len(d.Results),
		"outbound", len(env.Remote),
		"size", d.Size,
		"took", time.Since(start).Round(time.Microsecond))
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK: message accepted as " + d.ID}
}

// dataError maps a delivery failure to the reply. Nothing was stored in any
// of these cases (see delivery.Deliver).
func (s *session) dataError(id string, env *delivery.Envelope, err error) error {
	var (
		readErr    *delivery.ReadError
		queueErr   *delivery.QueueError
		refusedErr *delivery.RefusedError
		se         *smtp.SMTPError
	)
	switch {
	case errors.As(err, &refusedErr):
		if errors.As(err, &se) {
			return se
		}
		s.srv.log.Error("message check failed", "id", id, "err", err)
		return errTempLookup
	case errors.Is(err, errBareNewline):
		s.srv.log.Info("message refused: bare CR or LF", "id", id, "remote", s.remote.String(), "from", env.From)
		return errBareNewline
	case errors.Is(err, smtp.ErrDataTooLarge), errors.Is(err, storage.ErrTooBig):
		s.srv.log.Info("message refused: too big", "id", id, "remote", s.remote.String(), "from", env.From)
		return errSizeExceeded(s.srv.cfg.MaxMessageBytes)
	case errors.Is(err, smtp.ErrTooLongLine):
		// go-smtp cannot resynchronise after an over-long line: the rest
		// of the line would be read as commands.
		s.srv.log.Info("message refused: line too long, closing connection", "id", id, "remote", s.remote.String())
		s.closeAfterReply()
		return errLongLine
	case errors.Is(err, smtp.ErrDataReset):
		// BDAT transfer abandoned by RSET or a closed connection; no
		// one reads this reply.
		return errReadFailed
	case errors.As(err, &readErr):
		// go-smtp would go on reading the rest of the body as commands
		// (its read deadline covers the whole DATA); end the connection.
		s.srv.log.Warn("message read failed, closing connection", "id", id, "remote", s.remote.String(), "err", readErr.Err)
		s.closeAfterReply()
		if errors.As(err, &se) && se.Code/100 == 4 {
			return se
		}
		return errReadFailed
	case errors.Is(err, storage.ErrNoSpace):
		s.srv.log.Warn("message refused: disk full", "id", id, "from", env.From, "err", err)
		return errNoSpace
	case errors.As(err, &queueErr):
		s.srv.log.Warn("message refused: outbound queue", "id", id, "err", queueErr.Err)
		if errors.Is(err, delivery.ErrOutboundDisabled) {
			return errNoOutbound
		}
		if errors.As(err, &se) {
			return se
		}
		return errQueueFailed
	default:
		s.srv.log.Error("message not stored", "id", id, "from", env.From, "rcpts", len(env.Recipients), "err", err)
		return errStoreFailed
	}
}

// closeAfterReply ends the connection once the pending reply is written:
// the next read is EOF, so go-smtp cannot read anything more as a command.
func (s *session) closeAfterReply() {
	if s.tc != nil {
		s.tc.stopReading()
		return
	}
	s.conn.Close()
}

// strictLines passes a message through and fails with errBareNewline at the
// first CR not followed by LF or LF not preceded by CR (RFC 5321 §2.3.8).
// go-smtp already ends DATA only on CRLF.CRLF, so "\n.\r\n" cannot smuggle
// a second message; refusing bare line ends also keeps such sequences out of
// the store and of any later relay, like Postfix's
// smtpd_forbid_bare_newline.
type strictLines struct {
	r      io.Reader
	prevCR bool
	err    error
}

func (s *strictLines) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	for i := 0; i < n; i++ {
		c := p[i]
		if (c == '\n') != s.prevCR {
			s.err = errBareNewline
			return 0, s.err
		}
		s.prevCR = c == '\r'
	}
	if err == io.EOF && s.prevCR {
		s.err = errBareNewline
		return 0, s.err
	}
	return n, err
}

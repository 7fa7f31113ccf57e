package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-smtp"

	"postern/auth"
	"postern/delivery"
	"postern/mailaddr"
	"postern/storage"
)

// lookupTimeout bounds the store reads behind one MAIL or RCPT.
const lookupTimeout = 30 * time.Second

// session is one SMTP session: go-smtp makes one at EHLO, and a new one after
// STARTTLS. The MX listener uses it as is; submission wraps it in
// authSession, which adds AUTH.
type session struct {
	srv    *Server
	conn   *smtp.Conn
	tc     *trackedConn // nil only if the listener was not ours
	remote netip.Addr
	tls    *tls.ConnectionState

	// mu guards everything below: with BDAT, go-smtp runs Data in its own
	// goroutine and may call Reset from the connection's goroutine meanwhile.
	mu       sync.Mutex
	account  *storage.Account
	errors   int
	from     string
	haveFrom bool
	mailOpts smtp.MailOptions
	rcpts    []string
	local    []storage.Account
	remoteTo []delivery.Recipient
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	sess := &session{srv: s, conn: c, tc: trackedOf(c.Conn())}
	if ap, err := netip.ParseAddrPort(c.Conn().RemoteAddr().String()); err == nil {
		sess.remote = ap.Addr().Unmap()
	}
	if sess.tc != nil {
		// go-smtp makes a session at EHLO, so any TLS handshake on this
		// connection is complete: its replies go through c.Conn().
		sess.tc.setTop(c.Conn())
	}
	if st, ok := c.TLSConnectionState(); ok {
		sess.tls = &st
		if sess.tc != nil {
			sess.tc.setTLS(tls.VersionName(st.Version))
		}
	}
	if s.submission {
		return &authSession{session: sess}, nil
	}
	return sess, nil
}

// refuse counts a refused command; past Config.MaxErrors the reply becomes
// 421 and the connection ends after it. mu must be held.
func (s *session) refuse(err *smtp.SMTPError) error {
	s.errors++
	if s.errors >= s.srv.cfg.MaxErrors {
		if s.tc != nil {
			s.tc.stopReading()
		}
		s.srv.log.Warn("too many errors, closing", "remote", s.remote.String(), "errors", s.errors)
		return errTooManyErrs
	}
	return err
}

// Reset implements smtp.Session: it forgets the transaction, not the login.
func (s *session) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *session) resetLocked() {
	s.from, s.haveFrom = "", false
	s.mailOpts = smtp.MailOptions{}
	s.rcpts, s.local, s.remoteTo = nil, nil, nil
}

// Logout implements smtp.Session. The connection's close is logged by the
// trackedConn.
func (s *session) Logout() error { return nil }

// Mail implements smtp.Session.
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv.draining() {
		return errShuttingDown
	}
	if s.haveFrom {
		// RFC 5321 §4.1.4: a transaction, once begun, ends with DATA, RSET,
		// EHLO or QUIT; a second MAIL is out of sequence (§4.3.2: 503).
		// go-smtp would let it through and keep counting the old
		// transaction's recipients against MaxRecipients.
		return s.refuse(errNestedMail)
	}
	s.resetLocked()
	if badPath(from) {
		return s.refuse(errBadSender)
	}
	if s.srv.submission {
		if s.account == nil {
			return s.refuse(errAuthRequired)
		}
		// RFC 6409 §3.2: the null reverse-path MUST NOT in itself be
		// cause for refusal; mail clients send disposition notifications
		// (RFC 8098 §2.1) with it. It names no one, so there is no owner
		// to check.
		if from != "" {
			if err := s.checkOwner(from); err != nil {
				return err
			}
		}
	}
	if lim := s.srv.cfg.MaxMessageBytes; lim > 0 && opts != nil && opts.Size > lim {
		// RFC 1870 §6.1: a declared size over the fixed maximum.
		return errSizeExceeded(lim)
	}
	s.from, s.haveFrom = from, true
	if opts != nil {
		s.mailOpts = *opts
	}
	return nil
}

// checkOwner refuses a submission sender that is not the authenticated
// account's own. mu must be held.
func (s *session) checkOwner(from string) error {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	ok, err := s.srv.router.Owns(ctx, *s.account, from)
	if err != nil {
		s.srv.log.Error("sender lookup failed", "from", from, "err", err)
		return errTempLookup
	}
	if !ok {
		s.srv.log.Info("sender refused", "user", s.account.Address, "from", from, "remote", s.remote.String())
		return s.refuse(errNotYours)
	}
	return nil
}

// Rcpt implements smtp.Session. Every recipient is decided here, at RCPT
// time, never after DATA.
func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.account == nil {
		if err := s.srv.cfg.Auth.Limiter().Check(s.srv.ctx, s.remote, ""); err != nil {
			// A locked-out source learns nothing more, not even which
			// recipients exist (see unknownRecipient).
			return s.lockedOut(to, err)
		}
	}
	if badPath(to) || !validDomain(to) {
		return s.refuse(errBadRcpt)
	}
	rcpt := delivery.Recipient{Address: to}
	if opts != nil {
		for _, n := range opts.Notify {
			rcpt.Notify = append(rcpt.Notify, string(n))
		}
		if opts.OriginalRecipient != "" {
			rcpt.ORCPT = string(opts.OriginalRecipientType) + ";" + opts.OriginalRecipient
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	r := s.srv.router
	if !r.IsLocal(to) {
		// The MX never relays, whatever the sender claims (RFC 5321 §3.6.2).
		if !s.srv.submission {
			s.srv.log.Info("relay refused", "remote", s.remote.String(), "from", s.from, "to", to)
			return s.refuse(errRelayDenied)
		}
		if err := r.Queue().Accept(ctx, s.from, rcpt); err != nil {
			return s.queueRefusal(err)
		}
		s.addRecipient(to, nil, []delivery.Recipient{rcpt})
		return nil
	}
	res, err := r.Resolve(ctx, to)
	switch {
	case errors.Is(err, delivery.ErrUnknownUser):
		return s.unknownRecipient(to)
	case errors.Is(err, delivery.ErrDisabled):
		return s.refuse(errDisabled)
	case errors.Is(err, delivery.ErrAliasDangling):
		s.srv.log.Warn("alias leads to no mailbox: its targets are gone", "rcpt", to, "fix", "postern alias list")
		return s.refuse(errAliasDangling)
	case errors.Is(err, delivery.ErrAliasLoop):
		s.srv.log.Warn("alias loop", "rcpt", to)
		return s.refuse(errAliasLoop)
	case errors.Is(err, delivery.ErrBadAddress):
		return s.refuse(errBadRcpt)
	case err != nil:
		s.srv.log.Error("recipient lookup failed", "rcpt", to, "err", err)
		return errTempLookup
	}
	if len(res.Dangling) > 0 {
		s.srv.log.Warn("alias targets lead nowhere", "rcpt", to, "targets", res.Dangling)
	}
	// An alias that forwards to remote addresses needs the outbound queue.
	var remote []delivery.Recipient
	for _, addr := range res.Remote {
		fwd := delivery.Recipient{Address: addr, Notify: rcpt.Notify, ORCPT: rcpt.ORCPT}
		if fwd.ORCPT == "" {
			fwd.ORCPT = "rfc822;" + to
		}
		if err := r.Queue().Accept(ctx, s.from, fwd); err != nil {
			return s.queueRefusal(err)
		}
		remote = append(remote, fwd)
	}
	s.addRecipient(to, res.Accounts, remote)
	return nil
}

// unknownRecipient answers a recipient that names no one here. Trying
// addresses to learn which exist is guessing, like trying passwords: an
// unauthenticated client's unknown recipient counts toward its source's
// lockout in the shared Limiter, is answered only after the source's
// growing delay (slept in this session only), and once the source is
// locked out the connection ends with 421 4.7.0. A logged-in user who
// mistypes an address is answered at once: the account is known, and its
// typos must not lock its address out of logging in. mu must be held.
func (s *session) unknownRecipient(to string) error {
	if s.account != nil {
		return s.refuse(errUnknownUser)
	}
	if err := s.srv.cfg.Auth.Probe(s.srv.ctx, s.remote, to); errors.Is(err, auth.ErrLockedOut) {
		return s.lockedOut(to, err)
	}
	return s.refuse(errUnknownUser)
}

// lockedOut ends the connection of a locked-out source after a 421. mu must
// be held.
func (s *session) lockedOut(to string, err error) error {
	s.srv.log.Warn("recipient refused: source locked out, closing", "remote", s.remote.String(), "rcpt", to, "err", err)
	s.closeAfterReply()
	return errProbing
}

// addRecipient adds what one RCPT leads to. A recipient named twice, or
// reached twice through aliases, gets one copy: local accounts are
// deduplicated at delivery, remote addresses and the recipient list here
// (RFC 5321 §3.3 leaves duplicates to the server; Postfix drops them too).
func (s *session) addRecipient(to string, local []storage.Account, remote []delivery.Recipient) {
	if !containsAddress(s.rcpts, to) {
		s.rcpts = append(s.rcpts, to)
	}
	s.local = append(s.local, local...)
	for _, r := range remote {
		dup := false
		for _, have := range s.remoteTo {
			if sameAddress(have.Address, r.Address) {
				dup = true
				break
			}
		}
		if !dup {
			s.remoteTo = append(s.remoteTo, r)
		}
	}
}

func containsAddress(list []string, addr string) bool {
	for _, have := range list {
		if sameAddress(have, addr) {
			return true
		}
	}
	return false
}

// sameAddress compares two mailboxes: the local part exactly, as a remote
// server may (RFC 5321 §2.4), the domain without regard to case.
func sameAddress(a, b string) bool {
	la, da, okA := mailaddr.Split(a)
	lb, db, okB := mailaddr.Split(b)
	if !okA || !okB {
		return a == b
	}
	return la == lb && mailaddr.NormalizeDomain(da) == mailaddr.NormalizeDomain(db)
}

// queueRefusal maps a Queue error to a reply. An *smtp.SMTPError from the
// queue is passed on as is.
func (s *session) queueRefusal(err error) error {
	var se *smtp.SMTPError
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, delivery.ErrOutboundDisabled):
		return errNoOutbound
	}
	s.srv.log.Error("outbound queue refused recipient", "err", err)
	return errQueueFailed
}

func (s *Server) draining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

// maxPath is the longest reverse- or forward-path, angle brackets included
// (RFC 5321 §4.5.3.1.3).
const maxPath = 256

// badPath reports an address that cannot be a path, nor be written into the
// Return-Path and Received fields: control characters, invalid UTF-8 (RFC
// 6531 §3.3 allows UTF-8, not arbitrary octets), or longer than maxPath.
func badPath(addr string) bool {
	return len(addr)+2 > maxPath || !utf8.ValidString(addr) ||
		strings.IndexFunc(addr, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0
}

// validDomain reports whether addr's domain is a Domain or an
// address-literal (RFC 5321 §4.1.2). go-smtp takes everything after the "@"
// up to a space or ">" as the domain; without this check a malformed one
// would be refused as a relay attempt (MX) or queued only to bounce
// (submission), where Postfix answers 501 5.1.3 at once. Labels may carry
// UTF-8 (RFC 6531 §3.3).
func validDomain(addr string) bool {
	_, d, ok := mailaddr.Split(addr)
	return ok && mailaddr.ValidDomain(d)
}

package smtpd

import (
	"context"
	"errors"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"postern/auth"
	"postern/internal/netlimit"
	"postern/storage"
)

// authTimeout bounds one password check, throttling delay included.
const authTimeout = 30 * time.Second

// authSession is a submission session: a session with AUTH (RFC 4954).
type authSession struct {
	*session
	watch   *storage.Subscription // the account's end, once logged in
	unwatch func() bool
}

// Logout implements smtp.Session.
func (s *authSession) Logout() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watch != nil {
		s.unwatch()
		s.watch.Close()
		s.watch = nil
	}
	return nil
}

// authAllowed: passwords travel only inside TLS, or in the clear from
// loopback when the config allows it (DESIGN: plaintext_on_loopback).
func (s *authSession) authAllowed() bool {
	return s.srv.cfg.Auth.PlaintextAllowed(s.tls != nil, s.remote)
}

// AuthMechanisms implements smtp.AuthSession. An empty list hides AUTH from
// the EHLO reply.
func (s *authSession) AuthMechanisms() []string {
	if !s.authAllowed() {
		return nil
	}
	return auth.Mechanisms
}

// Auth implements smtp.AuthSession.
func (s *authSession) Auth(mech string) (sasl.Server, error) {
	if !s.authAllowed() {
		s.srv.cfg.Auth.RefusePlaintext("smtp", s.remote, "")
		return nil, errTLSRequired
	}
	s.mu.Lock()
	authed := s.account != nil
	s.mu.Unlock()
	if authed {
		return nil, errAuthTwice
	}
	m, err := auth.NewMechanism(mech, s.authenticate)
	if err != nil {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return saslErrors{m}, nil
}

// authenticate checks one password through the shared login path, which
// throttles, locks out and logs.
func (s *authSession) authenticate(user, pass string) error {
	ctx, cancel := context.WithTimeout(s.srv.ctx, authTimeout)
	defer cancel()
	acct, err := s.srv.cfg.Auth.Login(ctx, auth.Attempt{Protocol: "smtp", Remote: s.remote, Username: user, Password: pass})
	switch {
	case errors.Is(err, auth.ErrLockedOut):
		s.countError()
		return errAuthLocked
	case errors.Is(err, auth.ErrDisabled):
		s.countError()
		return errAuthDisabled
	case errors.Is(err, auth.ErrFailed):
		s.countError()
		return smtp.ErrAuthFailed
	case err != nil:
		s.srv.log.Error("login failed: store error", "user", user, "err", err)
		return errAuthTemp
	}
	if err := netlimit.LoggedIn(s.conn.Conn(), acct.Address); err != nil {
		// Over [limits] connections_per_account_ip.
		s.mu.Lock()
		s.closeAfterReply()
		s.mu.Unlock()
		return reply(421, 4, 7, 0, err.Error())
	}
	s.mu.Lock()
	s.account = &acct
	// The session ends at once when the account is deleted or disabled.
	if s.tc != nil {
		s.watch = s.srv.cfg.Store.WatchAccount(acct.ID)
		tc := s.tc
		s.unwatch = s.watch.AfterEnd(func() { tc.end(errAccountEnded) })
	}
	s.mu.Unlock()
	if s.tc != nil {
		s.tc.setUser(acct.Address)
	}
	s.srv.log.Info("login", "remote", s.remote.String(), "user", acct.Address)
	return nil
}

// countError counts a failed login toward the connection's error cap. The
// reply stays the login reply; a connection over the cap ends after it.
func (s *authSession) countError() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse(nil)
}

// saslErrors turns the mechanism's refusals of malformed input (package
// auth) into SMTP replies; go-smtp would answer a plain error with a
// temporary 454 carrying its text.
type saslErrors struct{ sasl.Server }

func (w saslErrors) Next(response []byte) ([]byte, bool, error) {
	challenge, done, err := w.Server.Next(response)
	if err == nil {
		return challenge, done, nil
	}
	var se *smtp.SMTPError
	switch {
	case errors.As(err, &se):
	case errors.Is(err, auth.ErrAuthzid):
		err = errAuthzid
	default:
		err = errAuthBadResp
	}
	return challenge, done, err
}

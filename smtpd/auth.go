package smtpd

import (
	"context"
	"errors"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"postern/authlimit"
	"postern/saslsrv"
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
	return s.tls != nil || (s.srv.cfg.PlaintextOnLoopback && s.loopback)
}

// AuthMechanisms implements smtp.AuthSession. An empty list hides AUTH from
// the EHLO reply.
func (s *authSession) AuthMechanisms() []string {
	if !s.authAllowed() {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth implements smtp.AuthSession.
func (s *authSession) Auth(mech string) (sasl.Server, error) {
	if !s.authAllowed() {
		return nil, errTLSRequired
	}
	s.mu.Lock()
	authed := s.account != nil
	s.mu.Unlock()
	if authed {
		return nil, errAuthTwice
	}
	switch mech {
	case sasl.Plain:
		return saslErrors{saslsrv.NewPlain(s.authenticate)}, nil
	case sasl.Login:
		return saslErrors{saslsrv.NewLogin(s.authenticate)}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// authenticate checks one password, throttled per source address by the
// shared Limiter (package authlimit).
func (s *authSession) authenticate(user, pass string) error {
	lim := s.srv.cfg.Limiter
	if _, err := lim.Check(s.remote); err != nil {
		s.srv.log.Warn("login refused: source locked out", "remote", s.remote.String(), "user", user)
		s.countError()
		return errAuthLocked
	}
	ctx, cancel := context.WithTimeout(context.Background(), authTimeout)
	defer cancel()
	acct, err := s.srv.cfg.Store.Authenticate(ctx, user, pass)
	if err != nil {
		if !errors.Is(err, storage.ErrAuthFailed) {
			s.srv.log.Error("login failed: store error", "user", user, "err", err)
			return errAuthTemp
		}
		lim.Failure(s.remote, user)
		s.srv.log.Info("login failed", "remote", s.remote.String(), "user", user)
		// Answer only after the delay, so that guessing is slow; a lockout
		// this failure triggered shows on the next attempt.
		if werr := lim.Wait(ctx, s.remote); werr != nil && !errors.Is(werr, authlimit.ErrLockedOut) {
			return errAuthTemp
		}
		s.countError()
		return smtp.ErrAuthFailed
	}
	lim.Success(s.remote)
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
// saslsrv) into SMTP replies; go-smtp would answer a plain error with a
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
	case errors.Is(err, saslsrv.ErrAuthzid):
		err = errAuthzid
	default:
		err = errAuthBadResp
	}
	return challenge, done, err
}

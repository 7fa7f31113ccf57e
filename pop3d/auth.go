package pop3d

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"postern/auth"
	"postern/internal/netlimit"
	"postern/storage"
)

const plaintextRefused = "[AUTH] plaintext authentication is not allowed on an unencrypted connection; use STLS first"

// plaintextAllowed: passwords travel only over TLS, or from loopback when
// the configuration allows it (DESIGN: plaintext only from loopback).
func (s *session) plaintextAllowed() bool {
	return s.srv.cfg.Auth.PlaintextAllowed(s.tls, s.ip)
}

// refusePlaintext answers a password offered without TLS, and logs it as a
// failed login.
func (s *session) refusePlaintext(user string) {
	s.srv.cfg.Auth.RefusePlaintext("pop3", s.ip, user)
	s.errors++
	s.errf(plaintextRefused)
}

// cmdUSER: RFC 1939 §7 USER name. The name is accepted without checking,
// so that USER does not tell which accounts exist.
func (s *session) cmdUSER(cmd Command) error {
	if !s.plaintextAllowed() {
		user := ""
		if len(cmd.Args) == 1 {
			user = cmd.Args[0]
		}
		s.refusePlaintext(user)
		return nil
	}
	if len(cmd.Args) != 1 {
		return s.protocolError("usage: USER name")
	}
	s.user = cmd.Args[0]
	s.ok("send PASS")
	return nil
}

// cmdPASS: RFC 1939 §7 PASS string. The whole rest of the line is the
// password, spaces included.
func (s *session) cmdPASS(cmd Command) error {
	user := s.user
	s.user = ""
	switch {
	case !s.plaintextAllowed():
		s.refusePlaintext(user)
		return nil
	case user == "":
		return s.protocolError("PASS needs a USER first")
	case cmd.Rest == "":
		return s.protocolError("usage: PASS password")
	}
	return s.login(user, cmd.Rest)
}

// loginResult tells how a password check went, for the reply.
type loginResult int

const (
	loginOK loginResult = iota
	loginBad
	loginDisabled
	loginLockedOut
	loginSysError
	loginCapped // over [limits] connections_per_account_ip: the session ends
)

// checkPassword runs one password check through the shared login path
// (which throttles, locks out and logs) and remembers the account on
// success.
func (s *session) checkPassword(user, pass string) (loginResult, error) {
	acct, err := s.srv.cfg.Auth.Login(s.ctx, auth.Attempt{Protocol: "pop3", Remote: s.ip, Username: user, Password: pass})
	switch {
	case errors.Is(err, auth.ErrLockedOut):
		return loginLockedOut, err
	case errors.Is(err, auth.ErrDisabled):
		return loginDisabled, err
	case errors.Is(err, auth.ErrFailed):
		return loginBad, err
	case err != nil:
		return loginSysError, err
	}
	if err := netlimit.LoggedIn(s.conn, acct.Address); err != nil {
		return loginCapped, err
	}
	s.account = acct
	// From here on the store answers only for this account's mailboxes and
	// bodies, whatever ids the session holds.
	s.ctx = storage.WithAccount(s.ctx, acct.ID)
	return loginOK, nil
}

// login checks a password and opens the maildrop, writing the reply. Its
// error (errClose) ends the session.
func (s *session) login(user, pass string) error {
	res, err := s.checkPassword(user, pass)
	return s.answerLogin(res, err)
}

func (s *session) answerLogin(res loginResult, err error) error {
	switch res {
	case loginCapped:
		// RFC 3206 §4: SYS/TEMP, a condition of the server that passes.
		s.errf("[SYS/TEMP] %v", err)
		return errClose
	case loginBad:
		s.errf("[AUTH] invalid user name or password")
	case loginDisabled:
		// RFC 3206 §4: [AUTH] is a problem with the credentials' use, which
		// only the administrator can fix.
		s.errf("[AUTH] your account is disabled; ask the administrator")
	case loginLockedOut:
		s.errf("[SYS/TEMP] %v", err)
	case loginSysError:
		s.sysError("login", err)
	default:
		s.openMaildrop()
	}
	return nil
}

// openMaildrop takes the maildrop lock and snapshots INBOX: the move from
// AUTHORIZATION to TRANSACTION (RFC 1939 §4).
func (s *session) openMaildrop() {
	acct := s.account
	release, ok := s.srv.locks.acquire(s.ctx, acct.ID, s.remote.String(), s.srv.cfg.LockWait)
	if !ok {
		s.srv.log.Info("pop3 maildrop in use", "remote", s.remote.String(), "user", acct.Address,
			"holder", s.srv.locks.holder(acct.ID))
		s.account = storage.Account{}
		// RFC 2449 §8.1.1: [IN-USE] says another session holds the lock.
		s.errf("[IN-USE] maildrop is locked by another POP3 session; try again when it has ended")
		return
	}
	d, err := openMaildrop(s.ctx, s.srv.cfg.Store, acct.ID)
	if err != nil {
		release()
		s.sysError("opening the maildrop", err)
		s.account = storage.Account{}
		return
	}
	s.release, s.drop, s.state = release, d, stateTransaction
	sub := d.sub
	s.stopEnd = sub.AfterEnd(func() { s.accountEnded(sub.Err()) })
	n, octets := d.stat()
	s.ok("maildrop has " + strconv.Itoa(n) + " messages (" + strconv.FormatInt(octets, 10) + " octets)")
}

// cmdAUTH: RFC 5034 AUTH mechanism [initial-response]. Without arguments
// it lists the mechanisms, as many clients expect (RFC 1734 practice).
func (s *session) cmdAUTH(cmd Command) error {
	if len(cmd.Args) == 0 {
		s.ok("SASL mechanisms follow")
		if s.plaintextAllowed() {
			for _, m := range auth.Mechanisms {
				s.w.WriteString(m + "\r\n")
			}
		}
		s.w.WriteString(".\r\n")
		return nil
	}
	if len(cmd.Args) > 2 {
		return s.protocolError("usage: AUTH mechanism [initial-response]")
	}
	if !s.plaintextAllowed() {
		s.refusePlaintext("")
		return nil
	}
	var (
		checked bool // the mechanism got as far as a password check
		res     loginResult
		resErr  error
	)
	authenticate := func(user, pass string) error {
		checked = true
		res, resErr = s.checkPassword(user, pass)
		return resErr
	}
	srv, err := auth.NewMechanism(cmd.Args[0], authenticate)
	if err != nil {
		return s.protocolError("unsupported SASL mechanism; CAPA lists the supported ones")
	}
	var resp []byte
	if len(cmd.Args) == 2 {
		// RFC 5034 §4: "=" is an empty initial response.
		if cmd.Args[1] != "=" {
			b, err := base64.StdEncoding.DecodeString(cmd.Args[1])
			if err != nil {
				return s.protocolError("[AUTH] initial response is not valid base64")
			}
			resp = b
		} else {
			resp = []byte{}
		}
	}
	for {
		challenge, done, err := srv.Next(resp)
		if err != nil {
			if checked {
				return s.answerLogin(res, resErr)
			}
			// Refused by the mechanism before a password check.
			s.errors++
			s.errf("[AUTH] %s", strings.TrimPrefix(err.Error(), "sasl: "))
			return nil
		}
		if done {
			return s.answerLogin(loginOK, nil)
		}
		s.w.WriteString("+ ")
		s.w.WriteString(base64.StdEncoding.EncodeToString(challenge))
		s.w.WriteString("\r\n")
		line, err := s.readLine()
		if errors.Is(err, errLineTooLong) {
			return s.protocolError("[AUTH] response line too long")
		}
		if err != nil {
			return err
		}
		line = trimEOL(line)
		if len(line) > maxAuthLine {
			return s.protocolError("[AUTH] response line too long")
		}
		// RFC 5034 §4: "*" cancels the exchange.
		if string(line) == "*" {
			return s.protocolError("AUTH cancelled")
		}
		resp = make([]byte, base64.StdEncoding.DecodedLen(len(line)))
		n, err := base64.StdEncoding.Decode(resp, line)
		if err != nil {
			return s.protocolError("[AUTH] response is not valid base64")
		}
		resp = resp[:n]
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

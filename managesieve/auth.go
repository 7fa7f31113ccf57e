package managesieve

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"postern/auth"
	"postern/sieve"
	"postern/tlsutil"
)

// plaintextAllowed: passwords travel only over TLS, or from loopback when
// the configuration allows it.
func (s *session) plaintextAllowed() bool {
	return s.tls || s.srv.cfg.PlaintextOnLoopback && tlsutil.IsLoopback(s.remote)
}

func (s *session) startTLSOffered() bool {
	return s.srv.cfg.TLS != nil && !s.tls && s.account == ""
}

// capabilities writes the capability lines (RFC 5804 §1.7).
func (s *session) capabilities() {
	line := func(name string, value ...string) {
		s.writeString(name)
		if len(value) > 0 {
			s.w.WriteByte(' ')
			s.writeString(value[0])
		}
		s.w.WriteString("\r\n")
	}
	line("IMPLEMENTATION", "Postern")
	mechs := ""
	if s.plaintextAllowed() {
		mechs = strings.Join(auth.Mechanisms, " ")
	}
	line("SASL", mechs)
	line("SIEVE", strings.Join(s.srv.cfg.Sieve.Capabilities(), " "))
	max := s.srv.cfg.Sieve.MaxRedirects
	if max <= 0 {
		max = sieve.DefaultMaxRedirects
	}
	line("MAXREDIRECTS", strconv.Itoa(max))
	if s.startTLSOffered() {
		line("STARTTLS")
	}
	if s.account != "" {
		line("OWNER", s.account)
	}
	line("UNAUTHENTICATE")
	line("VERSION", "1.0")
}

// cmdStarttls: RFC 5804 §2.2.
func (s *session) cmdStarttls(cmd Command) error {
	if !s.args(cmd, 0, 0) {
		return nil
	}
	if !s.startTLSOffered() {
		return s.refuse("STARTTLS is not available here")
	}
	s.ok("", "Begin TLS negotiation now")
	if err := s.w.Flush(); err != nil {
		return err
	}
	tc := tls.Server(s.conn, s.srv.cfg.TLS)
	if err := s.handshake(tc); err != nil {
		return err
	}
	s.setConn(tc)
	s.tls = true
	s.capabilities()
	s.ok("", "TLS negotiation successful")
	return nil
}

// cmdAuthenticate: RFC 5804 §2.1, with PLAIN (RFC 4616) and LOGIN.
func (s *session) cmdAuthenticate(cmd Command) error {
	if !s.args(cmd, 1, 2) {
		return nil
	}
	if !s.plaintextAllowed() {
		s.errors++
		s.no("ENCRYPT-NEEDED", "passwords are only accepted over TLS: use STARTTLS first")
		return nil
	}
	var account string
	check := func(username, password string) error {
		acct, err := s.srv.cfg.Auth.Authenticate(s.ctx, s.remote, username, password)
		if err != nil {
			return err
		}
		account = acct
		return nil
	}
	srv, err := auth.NewMechanism(cmd.Args[0].Str, check)
	if err != nil {
		return s.refuse("unsupported SASL mechanism " + quote(cmd.Args[0].Str) + "; use PLAIN or LOGIN")
	}
	var resp []byte
	if len(cmd.Args) == 2 {
		var err error
		if resp, err = base64.StdEncoding.DecodeString(cmd.Args[1].Str); err != nil {
			return s.refuse("the initial response is not base64")
		}
	}
	for {
		challenge, done, err := srv.Next(resp)
		if err != nil {
			return s.authFailed(err)
		}
		if done {
			break
		}
		s.writeString(base64.StdEncoding.EncodeToString(challenge))
		s.w.WriteString("\r\n")
		if err := s.w.Flush(); err != nil {
			return err
		}
		line, err := s.rd.ReadString()
		var se *errSyntax
		if errors.As(err, &se) {
			return s.refuse("authentication exchange: " + se.msg)
		} else if err != nil {
			return err
		}
		if line == "*" {
			s.no("", "authentication cancelled")
			return nil
		}
		if resp, err = base64.StdEncoding.DecodeString(line); err != nil {
			return s.refuse("the SASL response is not base64")
		}
	}
	s.account = account
	s.srv.log.Info("managesieve login", "remote", s.remote.String(), "user", account, "tls", s.tls)
	s.ok("", "Logged in")
	return nil
}

// authFailed answers a failed login; after MaxAuthFailures the session
// ends with BYE (RFC 5804 §2.1 example).
func (s *session) authFailed(err error) error {
	s.failures++
	s.srv.log.Warn("managesieve login failed", "remote", s.remote.String(), "err", err)
	text := "Authentication failed"
	if auth.Malformed(err) {
		text = err.Error()
	}
	if s.failures >= s.srv.cfg.MaxAuthFailures {
		s.bye("", "Too many failed authentication attempts")
		return errClose
	}
	s.no("", text)
	return nil
}

// cmdUnauthenticate: RFC 5804 §2.14.1.
func (s *session) cmdUnauthenticate(cmd Command) error {
	if !s.args(cmd, 0, 0) {
		return nil
	}
	s.srv.log.Info("managesieve logout", "remote", s.remote.String(), "user", s.account)
	s.account = ""
	s.ok("", "Unauthenticate completed")
	return nil
}

package imapd

import (
	"errors"

	"postern/auth"
	"postern/internal/netlimit"
	"postern/storage"
)

var errPrivacy = &statusResp{kind: "NO", code: "PRIVACYREQUIRED",
	text: "Passwords are refused on an unencrypted connection; use STARTTLS or port 993"}

// refusePlaintext answers a password offered without TLS (RFC 3501 §6.2.3,
// §7.2.1 LOGINDISABLED), and logs it as a failed login.
func (c *conn) refusePlaintext(user string) error {
	c.srv.cfg.Auth.RefusePlaintext("imap", c.remote, user)
	return errPrivacy
}

// authenticate checks a password through the shared login path, which
// throttles, locks out and logs, and starts the session on success.
func (c *conn) authenticate(user, pass string) error {
	acct, err := c.srv.cfg.Auth.Login(c.ctx, auth.Attempt{Protocol: "imap", Remote: c.remote, Username: user, Password: pass})
	switch {
	case errors.Is(err, auth.ErrLockedOut):
		// RFC 5530 §3: the client should come back later, not ask the
		// user for another password.
		return noCode("UNAVAILABLE", "%s", err.Error())
	case errors.Is(err, auth.ErrDisabled):
		return noCode("AUTHENTICATIONFAILED", "Your account is disabled; ask the administrator")
	case errors.Is(err, auth.ErrFailed):
		return noCode("AUTHENTICATIONFAILED", "Invalid credentials")
	case err != nil:
		return err
	}
	if err := netlimit.LoggedIn(c.raw, acct.Address); err != nil {
		// Over [limits] connections_per_account_ip: the connection ends
		// without a tagged reply, as a server may end one at any time
		// (RFC 3501 §7.1.5).
		c.bye("[UNAVAILABLE] " + err.Error())
		return errHandled
	}
	c.acct = acct
	// From here on the store answers only for this account's mailboxes and
	// bodies, whatever ids the session holds.
	c.ctx = storage.WithAccount(c.ctx, acct.ID)
	c.state = stateAuth
	c.sub = c.srv.cfg.Store.Subscribe(acct.ID)
	c.stopEnd = c.sub.AfterEnd(c.accountEnded)
	c.srv.log.Info("imap login", "remote", c.nc.RemoteAddr().String(), "user", acct.Address)
	return nil
}

// loggedIn is the OK a successful login ends with: it carries the new
// capabilities so clients need not ask again (RFC 3501 §6.2.3).
func (c *conn) loggedIn(name string) error {
	return okCode("CAPABILITY "+c.capabilities(), name+" completed")
}

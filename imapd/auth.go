package imapd

import (
	"errors"
	"time"

	"postern/authlimit"
	"postern/storage"
)

var errPrivacy = &statusResp{kind: "NO", code: "PRIVACYREQUIRED",
	text: "Passwords are refused on an unencrypted connection; use STARTTLS or port 993"}

// authenticate checks a password with the shared throttling: a locked-out
// source is refused before the password is even checked, and a failure
// is answered only after the limiter's delay (DESIGN: repeated failed
// logins slow down and then lock out that source).
func (c *conn) authenticate(user, pass string) error {
	lim := c.srv.cfg.Limiter
	if lim != nil {
		if _, err := lim.Check(c.remote); err != nil {
			return noCode("UNAVAILABLE", "%s", err.Error())
		}
	}
	acct, err := c.srv.cfg.Store.Authenticate(c.ctx, user, pass)
	if err != nil {
		if !errors.Is(err, storage.ErrAuthFailed) {
			return err
		}
		if lim != nil {
			lim.Failure(c.remote, user)
			if werr := lim.Wait(c.ctx, c.remote); errors.Is(werr, authlimit.ErrLockedOut) {
				return noCode("UNAVAILABLE", "%s", werr.Error())
			}
		} else {
			time.Sleep(250 * time.Millisecond)
		}
		return noCode("AUTHENTICATIONFAILED", "Invalid credentials")
	}
	if lim != nil {
		lim.Success(c.remote)
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

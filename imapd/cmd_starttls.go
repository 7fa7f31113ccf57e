package imapd

import (
	"crypto/tls"
	"time"
)

func init() {
	register(&command{name: "STARTTLS", states: stateNotAuth, handle: func(c *conn, r *request) error {
		if err := r.end(); err != nil {
			return err
		}
		if c.srv.cfg.TLS == nil {
			return bad("STARTTLS is not available")
		}
		if c.tls {
			return bad("TLS is already active")
		}
		c.enc.Raw(r.tag).Raw(" OK Begin TLS negotiation now").CRLF()
		if err := c.enc.Flush(); err != nil {
			return err
		}
		// Anything the client sent after STARTTLS and before the
		// handshake is dropped unread (RFC 2595 §3.1), so no command can
		// be smuggled in front of TLS.
		c.r.Reset(c.nc)
		c.r.Release()
		tc := tls.Server(c.nc, c.srv.cfg.TLS)
		c.nc.SetDeadline(time.Now().Add(c.srv.cfg.PreAuthTimeout))
		if err := tc.Handshake(); err != nil {
			c.srv.log.Info("imap STARTTLS handshake failed", "remote", c.nc.RemoteAddr().String(), "err", err)
			c.closing = true
			return errHandled
		}
		c.nc = tc
		c.tls = true
		c.r.Reset(tc)
		c.enc.Reset(tc)
		return errHandled
	}})
}

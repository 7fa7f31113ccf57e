package imapd

// SUBSCRIBE and UNSUBSCRIBE edit the LSUB list (RFC 3501 §6.3.6, §6.3.7).
func init() {
	for _, on := range []bool{true, false} {
		name := "SUBSCRIBE"
		if !on {
			name = "UNSUBSCRIBE"
		}
		register(&command{name: name, states: authOrSel, handle: func(c *conn, r *request) error {
			if err := r.p.SP(); err != nil {
				return err
			}
			mbox, err := r.p.Mailbox()
			if err != nil {
				return err
			}
			if err := r.end(); err != nil {
				return err
			}
			if on {
				// Subscribing to a name that does not exist is allowed,
				// but most servers refuse it; so do we (§6.3.6 "MAY").
				if _, err := c.srv.cfg.Store.Mailbox(c.ctx, c.acct.ID, mbox); err != nil {
					return mailboxError(mbox, err)
				}
			}
			if err := c.srv.cfg.Store.SetSubscribed(c.ctx, c.acct.ID, mbox, on); err != nil {
				return mailboxError(mbox, err)
			}
			return nil
		}})
	}
}

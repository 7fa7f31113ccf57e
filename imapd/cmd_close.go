package imapd

// CLOSE expunges \Deleted messages silently (unless the mailbox is
// read-only) and leaves the selected state (RFC 3501 §6.4.2).
func init() {
	register(&command{name: "CLOSE", states: onlySelected, handle: func(c *conn, r *request) error {
		if err := r.end(); err != nil {
			return err
		}
		s := c.sel
		c.deselect()
		if !s.readOnly {
			if _, err := c.srv.cfg.Store.Expunge(c.ctx, s.id, nil); err != nil {
				return err
			}
			// Our own expunge events must not reach the next mailbox.
			c.sub.Drain()
		}
		return nil
	}})
}

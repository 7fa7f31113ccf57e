package imapd

import (
	"postern/storage"
)

// DELETE removes a mailbox and its messages (RFC 3501 §6.3.4). INBOX
// cannot be deleted; children stay, their parent then shows \Noselect.
// A session that deletes its own selected mailbox is left authenticated.
func init() {
	register(&command{name: "DELETE", states: authOrSel, handle: func(c *conn, r *request) error {
		if err := r.p.SP(); err != nil {
			return err
		}
		name, err := r.p.Mailbox()
		if err != nil {
			return err
		}
		if err := r.end(); err != nil {
			return err
		}
		if storage.CanonicalName(name) == "INBOX" {
			return noCode("CANNOT", "INBOX cannot be deleted")
		}
		if err := c.srv.cfg.Store.DeleteMailbox(c.ctx, c.acct.ID, name); err != nil {
			return mailboxError(name, err)
		}
		if c.sel != nil && c.sel.name == storage.CanonicalName(name) {
			// Deleting the mailbox this session has selected leaves the
			// selected state, as CLOSE would, instead of ending the
			// session as a deletion by another session must.
			c.deselect()
		}
		return nil
	}})
}

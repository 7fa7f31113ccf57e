package imapd

import (
	"errors"

	"postern/storage"
)

// RENAME renames a mailbox and its children; renaming INBOX moves its
// messages to the new mailbox and leaves INBOX empty (RFC 3501 §6.3.5).
func init() {
	register(&command{name: "RENAME", states: authOrSel, handle: func(c *conn, r *request) error {
		p := r.p
		if err := p.SP(); err != nil {
			return err
		}
		from, err := p.Mailbox()
		if err != nil {
			return err
		}
		if err := p.SP(); err != nil {
			return err
		}
		to, err := p.Mailbox()
		if err != nil {
			return err
		}
		if err := r.end(); err != nil {
			return err
		}
		to = storage.CanonicalName(to)
		if err := storage.ValidateName(to); err != nil {
			return mailboxError(to, err)
		}
		st := c.srv.cfg.Store
		if _, err := st.Mailbox(c.ctx, c.acct.ID, from); err != nil {
			return mailboxError(from, err)
		}
		for _, parent := range parents(to) {
			if _, err := st.CreateMailbox(c.ctx, c.acct.ID, parent, ""); err != nil && !errors.Is(err, storage.ErrExists) {
				return mailboxError(parent, err)
			}
		}
		if err := st.RenameMailbox(c.ctx, c.acct.ID, from, to); err != nil {
			return mailboxError(to, err)
		}
		return nil
	}})
}

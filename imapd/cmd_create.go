package imapd

import (
	"errors"
	"strings"

	"postern/storage"
)

// CREATE makes a mailbox and any missing superior levels
// (RFC 3501 §6.3.3). A trailing delimiter only declares the intent to
// create children under the name.
func init() {
	register(&command{name: "CREATE", states: authOrSel, handle: func(c *conn, r *request) error {
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
		name = storage.CanonicalName(strings.TrimSuffix(name, storage.Delimiter))
		if name == "INBOX" {
			return noCode("ALREADYEXISTS", "INBOX always exists")
		}
		if err := storage.ValidateName(name); err != nil {
			return mailboxError(name, err)
		}
		st := c.srv.cfg.Store
		for _, parent := range parents(name) {
			if _, err := st.CreateMailbox(c.ctx, c.acct.ID, parent, ""); err != nil && !errors.Is(err, storage.ErrExists) {
				return mailboxError(parent, err)
			}
		}
		if _, err := st.CreateMailbox(c.ctx, c.acct.ID, name, ""); err != nil {
			return mailboxError(name, err)
		}
		return nil
	}})
}

package imapd

import (
	"errors"
	"strings"

	"postern/storage"
)

// CREATE makes a mailbox and any missing superior levels
// (RFC 3501 §6.3.3). A trailing delimiter only declares the intent to
// create children under the name. CREATE-SPECIAL-USE (RFC 6154 §3) gives
// the new mailbox a special use.
func init() {
	addCap("CREATE-SPECIAL-USE", false)
	register(&command{name: "CREATE", states: authOrSel, handle: func(c *conn, r *request) error {
		if err := r.p.SP(); err != nil {
			return err
		}
		name, err := r.p.Mailbox()
		if err != nil {
			return err
		}
		use, err := r.p.CreateParams()
		if err != nil {
			return err
		}
		if err := r.end(); err != nil {
			return err
		}
		special, err := specialUse(use)
		if err != nil {
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
		if _, err := st.CreateMailbox(c.ctx, c.acct.ID, name, special); err != nil {
			return mailboxError(name, err)
		}
		return nil
	}})
}

// specialUse checks the USE attributes of a CREATE. A mailbox holds what
// is put in it: \All and \Flagged name virtual mailboxes Postern does not
// make, and one mailbox has one use. What cannot be done is refused with
// USEATTR (RFC 6154 §3).
func specialUse(use []string) (string, error) {
	if len(use) == 0 {
		return "", nil
	}
	if len(use) > 1 {
		return "", noCode("USEATTR", "A mailbox can have one special use")
	}
	for _, a := range []string{`\Archive`, `\Drafts`, `\Junk`, `\Sent`, `\Trash`} {
		if strings.EqualFold(use[0], a) {
			return a, nil
		}
	}
	return "", noCode("USEATTR", "Special use %s is not supported (\\Archive, \\Drafts, \\Junk, \\Sent or \\Trash)", wireSafe(use[0]))
}

package imapd

import (
	"strings"
)

// STATUS reports counters of a mailbox without selecting it
// (RFC 3501 §6.3.10).
func init() {
	register(&command{name: "STATUS", states: authOrSel, handle: func(c *conn, r *request) error {
		p := r.p
		if err := p.SP(); err != nil {
			return err
		}
		name, err := p.Mailbox()
		if err != nil {
			return err
		}
		if err := p.SP(); err != nil {
			return err
		}
		var items []string
		if err := p.List(false, func() error {
			a, err := p.Atom()
			if err != nil {
				return err
			}
			a = strings.ToUpper(a)
			switch a {
			case "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN":
			default:
				return bad("Unknown STATUS item %s", wireSafe(a))
			}
			if len(items) < 16 {
				items = append(items, a)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := r.end(); err != nil {
			return err
		}
		st := c.srv.cfg.Store
		mb, err := st.Mailbox(c.ctx, c.acct.ID, name)
		if err != nil {
			return mailboxError(name, err)
		}
		ms, err := st.MailboxStatus(c.ctx, mb.ID)
		if err != nil {
			return err
		}
		c.enc.Raw("* STATUS ").Mailbox(mb.Name).Raw(" (")
		for i, it := range items {
			if i > 0 {
				c.enc.SP()
			}
			c.enc.Raw(it).SP()
			switch it {
			case "MESSAGES":
				c.enc.Number(ms.Messages)
			case "RECENT":
				recent := ms.Recent
				if c.sel != nil && c.sel.id == mb.ID && !c.sel.readOnly {
					// This session holds the \Recent of what it
					// claimed; the store counts only what nobody has.
					recent += c.sel.recentCount()
				}
				c.enc.Number(recent)
			case "UIDNEXT":
				c.enc.Number(ms.UIDNext)
			case "UIDVALIDITY":
				c.enc.Number(ms.UIDValidity)
			case "UNSEEN":
				c.enc.Number(ms.Unseen)
			}
		}
		c.enc.Raw(")").CRLF()
		return nil
	}})
}

package imapd

import (
	"postern/storage"
)

// STATUS reports counters of a mailbox without selecting it
// (RFC 3501 §6.3.10), with DELETED (RFC 9051 §6.3.11) and SIZE
// (RFC 8438). LIST-STATUS (RFC 5819) writes the same response per listed
// mailbox.
func init() {
	addCap("STATUS=SIZE", false)
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
		items, err := p.StatusAtts()
		if err != nil {
			return err
		}
		if err := r.end(); err != nil {
			return err
		}
		mb, err := c.srv.cfg.Store.Mailbox(c.ctx, c.acct.ID, name)
		if err != nil {
			return mailboxError(name, err)
		}
		return c.writeStatus(mb, items)
	}})
}

// writeStatus writes "* STATUS name (items)" for mb.
func (c *conn) writeStatus(mb storage.Mailbox, items []string) error {
	ms, err := c.srv.cfg.Store.MailboxStatus(c.ctx, mb.ID)
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
				// This session holds the \Recent of what it claimed;
				// the store counts only what nobody has.
				recent += c.sel.recentCount()
			}
			c.enc.Number(recent)
		case "UIDNEXT":
			c.enc.Number(ms.UIDNext)
		case "UIDVALIDITY":
			c.enc.Number(ms.UIDValidity)
		case "UNSEEN":
			c.enc.Number(ms.Unseen)
		case "DELETED":
			c.enc.Number(ms.Deleted)
		case "APPENDLIMIT":
			// RFC 7889 §4: the same limit for every mailbox.
			c.enc.Number64(uint64(c.srv.cfg.MaxMessageBytes))
		case "SIZE":
			// RFC 8438 §2: the total of the RFC822.SIZE of its messages.
			c.enc.Number64(uint64(ms.Size))
		}
	}
	c.enc.Raw(")").CRLF()
	return nil
}

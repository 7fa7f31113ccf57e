package imapd

import "strings"

// RESETKEY [mailbox [mechanism ...]] replaces the URLAUTH access key of a
// mailbox, or of every mailbox of the user, so that every URL made with it
// stops working (RFC 4467 §6.2).
func init() {
	register(&command{name: "RESETKEY", states: authOrSel, handle: func(c *conn, r *request) error {
		p := r.p
		var name string
		has := false
		if !p.AtEOL() {
			if err := p.SP(); err != nil {
				return err
			}
			var err error
			if name, err = p.Mailbox(); err != nil {
				return err
			}
			has = true
			for !p.AtEOL() {
				if err := p.SP(); err != nil {
					return err
				}
				mech, err := p.Atom()
				if err != nil {
					return err
				}
				if !strings.EqualFold(mech, "INTERNAL") {
					return no("Unknown URLAUTH mechanism %s (INTERNAL is supported)", wireSafe(mech))
				}
			}
		}
		if err := r.end(); err != nil {
			return err
		}
		st := c.srv.cfg.Store
		var ids []int64
		if has {
			mb, err := st.Mailbox(c.ctx, c.acct.ID, name)
			if err != nil {
				return mailboxError(name, err)
			}
			ids = append(ids, mb.ID)
		} else {
			mbs, err := st.Mailboxes(c.ctx, c.acct.ID)
			if err != nil {
				return err
			}
			for _, mb := range mbs {
				ids = append(ids, mb.ID)
			}
		}
		return c.srv.cfg.URLAuthKeys.Reset(c.ctx, ids)
	}})
}

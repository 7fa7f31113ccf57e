package imapd

import (
	"postern/storage"
)

func init() {
	register(&command{name: "SELECT", states: authOrSel, noExpunge: true, handle: func(c *conn, r *request) error { return selectMailbox(c, r, false) }})
	register(&command{name: "EXAMINE", states: authOrSel, noExpunge: true, handle: func(c *conn, r *request) error { return selectMailbox(c, r, true) }})
}

// selectMailbox is SELECT and EXAMINE (RFC 3501 §6.3.1, §6.3.2). EXAMINE
// is read-only: no flag changes, no expunges, and \Recent is left for a
// read-write session to claim.
func selectMailbox(c *conn, r *request, readOnly bool) error {
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
	// A failed SELECT leaves no mailbox selected (§6.3.1).
	if c.sel != nil {
		c.deselect()
		if c.rev2 {
			// RFC 9051 §6.3.2: the client learns where the old
			// mailbox's responses end.
			c.enc.Raw("* OK [CLOSED] Previous mailbox is now closed").CRLF()
		}
	}
	st := c.srv.cfg.Store
	mb, err := st.Mailbox(c.ctx, c.acct.ID, name)
	if err != nil {
		return mailboxError(name, err)
	}
	// Events queued before the view is read describe changes the view
	// will already contain.
	c.sub.Drain()
	msgs, err := st.MessageUIDs(c.ctx, mb.ID)
	if err != nil {
		return err
	}
	s := &selected{id: mb.ID, name: mb.Name, readOnly: readOnly, uidValidity: mb.UIDValidity,
		uids: make([]uint32, len(msgs))}
	var firstUnseen uint32
	for i, m := range msgs {
		s.uids[i] = m.UID
		s.addKeywords(m.Flags.Keywords)
		if firstUnseen == 0 && !m.Flags.Has(storage.FlagSeen) {
			firstUnseen = uint32(i + 1)
		}
		if readOnly && m.Recent && !c.rev2 {
			s.recent = append(s.recent, m.UID)
		}
	}
	// IMAP4rev2 has no \Recent (RFC 9051 Appendix E item 12): such a
	// session claims none and reports none.
	if !readOnly && !c.rev2 {
		if s.recent, err = st.ClaimRecent(c.ctx, mb.ID, nil); err != nil {
			return err
		}
	}
	uidNext := mb.UIDNext
	if n := len(s.uids); n > 0 && s.uids[n-1] >= uidNext {
		uidNext = s.uids[n-1] + 1
	}
	c.sel = s
	c.state = stateSelected
	e := c.enc
	c.writeFlagsResponse()
	e.Raw("* ").Number(uint32(len(s.uids))).Raw(" EXISTS").CRLF()
	if !c.rev2 {
		e.Raw("* ").Number(s.recentCount()).Raw(" RECENT").CRLF()
	} else {
		// RFC 9051 §6.3.2: SELECT answers with the mailbox's LIST, which
		// gives its name as the server spells it.
		e.Raw(`* LIST () "/" `).Mailbox(s.name).CRLF()
		// and without the deprecated UNSEEN code (Appendix E item 11).
		firstUnseen = 0
	}
	if firstUnseen != 0 {
		e.Raw("* OK [UNSEEN ").Number(firstUnseen).Raw("] First unseen").CRLF()
	}
	if readOnly {
		e.Raw(`* OK [PERMANENTFLAGS ()] Read-only mailbox`).CRLF()
	} else {
		e.Raw(`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft`)
		for _, k := range s.keywords {
			e.SP().Raw(k)
		}
		e.Raw(` \*)] Flags permitted`).CRLF()
	}
	e.Raw("* OK [UIDVALIDITY ").Number(s.uidValidity).Raw("] UIDs valid").CRLF()
	e.Raw("* OK [UIDNEXT ").Number(uidNext).Raw("] Predicted next UID").CRLF()
	// RFC 4467 §6: the URLAUTH mechanisms the mailbox's URLs may use.
	e.Raw("* OK [URLMECH INTERNAL] URLAUTH mechanisms").CRLF()
	if readOnly {
		return okCode("READ-ONLY", "EXAMINE completed")
	}
	return okCode("READ-WRITE", "SELECT completed")
}

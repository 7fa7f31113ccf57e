package imapd

import (
	"slices"

	"postern/storage"
)

// poll turns the store's events into untagged responses for this session
// (RFC 3501 §7: EXISTS, RECENT, EXPUNGE, FETCH FLAGS), keeping the view in
// step with what the client has been told. With allowExpunge false (during
// FETCH, STORE and SEARCH, §7.4.1) it stops at the first expunge of a
// message in the view and keeps that event and every later one for the
// next poll, so the client never sees a sequence number it cannot map.
func (c *conn) poll(allowExpunge bool) {
	if c.sub == nil {
		return
	}
	if c.sub.Lost() && c.sel != nil {
		// The view can no longer be kept in step with the mailbox.
		c.bye("Too many changes while this session was not reading; please reconnect")
		return
	}
	if ev := c.sub.Drain(); len(ev) > 0 {
		n := len(c.pending)
		c.pending = append(c.pending, ev...)
		expungeFirst(c.pending[max(n-1, 0):])
	}
	if len(c.pending) > storage.MaxQueuedEvents && c.sel != nil {
		// Held back by commands that may not report an EXPUNGE (§7.4.1)
		// for longer than the store would have queued them.
		c.pending = nil
		c.bye("Too many changes while this session was not reading; please reconnect")
		return
	}
	if len(c.pending) == 0 {
		return
	}
	var claim []uint32
	i := 0
loop:
	for ; i < len(c.pending); i++ {
		e := &c.pending[i]
		s := c.sel
		if s == nil || e.MailboxID != s.id {
			continue
		}
		switch e.Kind {
		case storage.EventAppend:
			var added []uint32
			for _, u := range e.UIDs {
				if n := len(s.uids); n == 0 || u > s.uids[n-1] {
					s.uids = append(s.uids, u)
				} else if j, ok := slices.BinarySearch(s.uids, u); !ok {
					s.uids = slices.Insert(s.uids, j, u)
				} else {
					continue
				}
				added = append(added, u)
				// IMAP4rev2 has no \Recent (RFC 9051 Appendix E item
				// 12): such a session leaves it to others.
				if !s.readOnly && !c.rev2 {
					claim = append(claim, u)
				}
			}
			if len(added) > 0 {
				c.enc.Raw("* ").Number(uint32(len(s.uids))).Raw(" EXISTS").CRLF()
				if len(s.contexts) > 0 {
					slices.Sort(added)
					c.contextsAdded(added)
				}
			}
		case storage.EventExpunge:
			if !allowExpunge {
				for _, u := range e.UIDs {
					if s.seqOf(u) != 0 {
						break loop
					}
				}
			}
			if len(s.contexts) > 0 {
				c.contextsRemoved(e.UIDs)
			}
			// Sequence numbers shift down after each EXPUNGE, so
			// each is reported against the view as it is then.
			for _, u := range e.UIDs {
				if j, ok := slices.BinarySearch(s.uids, u); ok {
					c.enc.Raw("* ").Number(uint32(j + 1)).Raw(" EXPUNGE").CRLF()
					s.uids = slices.Delete(s.uids, j, j+1)
				}
				if j, ok := slices.BinarySearch(s.recent, u); ok {
					s.recent = slices.Delete(s.recent, j, j+1)
				}
			}
		case storage.EventFlags:
			if e.Origin != c.origin {
				// Our own STORE or \Seen was reported with the command.
				for k, u := range e.UIDs {
					if seq := s.seqOf(u); seq != 0 && k < len(e.Flags) {
						c.announceKeywords(e.Flags[k])
						c.enc.Raw("* ").Number(seq).Raw(" FETCH (UID ").Number(u).Raw(" FLAGS ")
						c.writeFlags(e.Flags[k], s.isRecent(u))
						c.enc.Raw(")").CRLF()
					}
				}
			}
			if len(s.contexts) > 0 {
				// Any STORE, ours too, can change the kept results.
				var in []uint32
				for _, u := range e.UIDs {
					if s.seqOf(u) != 0 {
						in = append(in, u)
					}
				}
				slices.Sort(in)
				c.contextsChanged(in, true)
			}
		case storage.EventMailboxRename:
			s.name = e.NewName
		case storage.EventMailboxDelete:
			// Nothing in RFC 3501 lets a server un-select a mailbox; end
			// the session rather than serve a mailbox that is gone.
			c.bye("The selected mailbox was deleted")
			c.sel = nil
			i = len(c.pending)
			break loop
		}
	}
	if i >= len(c.pending) {
		c.pending = nil
	} else {
		c.pending = slices.Clone(c.pending[i:])
	}
	if len(claim) > 0 && c.sel != nil {
		// New messages become \Recent for the first session told of
		// them (RFC 3501 §2.3.2); the store decides which one that is.
		c.enc.Flush()
		if uids, err := c.srv.cfg.Store.ClaimRecent(c.ctx, c.sel.id, claim); err == nil && len(uids) > 0 {
			c.sel.addRecent(uids)
			c.enc.Raw("* ").Number(c.sel.recentCount()).Raw(" RECENT").CRLF()
		}
	}
}

// expungeFirst puts the expunge of a MOVE within one mailbox before the
// append of the copies: the store publishes the copy first, but a client
// must see the source messages go before the new ones arrive, or the
// sequence numbers of the EXISTS and the EXPUNGEs overlap (RFC 6851 §3.3:
// the EXPUNGEs are those of the source). The two events are adjacent,
// from the same writer, of the same mailbox, and name different UIDs.
func expungeFirst(ev []storage.Event) {
	for i := 0; i+1 < len(ev); i++ {
		a, x := &ev[i], &ev[i+1]
		if a.Kind != storage.EventAppend || x.Kind != storage.EventExpunge || a.MailboxID != x.MailboxID ||
			a.Origin != x.Origin || a.Origin == 0 || len(x.UIDs) == 0 || len(a.UIDs) == 0 ||
			slices.Min(a.UIDs) <= slices.Max(x.UIDs) {
			continue
		}
		ev[i], ev[i+1] = ev[i+1], ev[i]
		i++
	}
}

// writeFlags writes a parenthesised flag list, with \Recent when the
// session holds the message as recent.
func (c *conn) writeFlags(fs storage.FlagSet, recent bool) {
	c.enc.Byte('(')
	first := true
	for _, n := range fs.Names() {
		if !first {
			c.enc.SP()
		}
		first = false
		c.enc.Raw(n)
	}
	if recent {
		if !first {
			c.enc.SP()
		}
		c.enc.Raw(`\Recent`)
	}
	c.enc.Byte(')')
}

// deselect leaves the selected state; events still queued for the old
// mailbox are dropped with it.
func (c *conn) deselect() {
	c.sel = nil
	c.pending = nil
	if c.sub != nil {
		c.sub.Drain()
	}
	c.state = stateAuth
}

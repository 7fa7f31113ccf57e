package imapd

import (
	"slices"

	"github.com/emersion/go-imap/v2"
)

// maxContexts bounds the searches one session keeps up to date. RFC 5267
// §4.3.1 has a server provide at least one and refuse more with NOUPDATE.
const maxContexts = 8

// A searchContext is a search the client asked to keep up to date with
// RETURN (UPDATE) (RFC 5267 §4.3): its criteria and its current result,
// which the session corrects as the mailbox changes and reports with
// ADDTO and REMOVEFROM.
//
// A SEARCH context keeps its result in mailbox order and reports changes
// at position 0 (§4.3.3, §4.3.4). A SORT context has an order of its own:
// it sets position, and the same code reports each change at its place.
type searchContext struct {
	tag  string
	uid  bool
	crit *imap.SearchCriteria // sequence numbers and "$" already turned into UIDs
	// result holds the matching UIDs in the context's order.
	result []uint32
	// position returns the 1-based place uid takes in result; nil means
	// mailbox order.
	position func(c *conn, result []uint32, uid uint32) int
}

func (s *selected) context(tag string) *searchContext {
	for _, x := range s.contexts {
		if x.tag == tag {
			return x
		}
	}
	return nil
}

// keepUpdated makes a context of a SEARCH that asked for UPDATE, or
// refuses with NOUPDATE when the session has too many (§4.3.1): the
// command itself still succeeds.
func (c *conn) keepUpdated(tag string, uid bool, crit *imap.SearchCriteria, found []member) error {
	s := c.sel
	if len(s.contexts) >= maxContexts {
		c.enc.Raw("* NO [NOUPDATE ").String(tag).Raw("] Too many searches kept up to date; cancel one with CANCELUPDATE").CRLF()
		return nil
	}
	// Sequence numbers in the criteria are evaluated when the command
	// is received (§4.3): they become the UIDs they named then.
	s.contexts = append(s.contexts, &searchContext{tag: tag, uid: uid, crit: freezeCriteria(crit, s), result: uidsOf(found)})
	return nil
}

// freezeCriteria returns a copy of crit whose sequence sets and "$" are
// the UIDs they name in the view now.
func freezeCriteria(crit *imap.SearchCriteria, s *selected) *imap.SearchCriteria {
	out := *crit
	out.SeqNum, out.UID = nil, nil
	n := uint32(len(s.uids))
	for _, set := range crit.SeqNum {
		var uids imap.UIDSet
		for _, r := range compileSet(set, n) {
			for q := max(r.Start, 1); q <= min(r.Stop, n); q++ {
				uids.AddNum(imap.UID(s.uids[q-1]))
			}
		}
		if uids == nil {
			uids = imap.UIDSet{} // matches nothing
		}
		out.UID = append(out.UID, uids)
	}
	for _, set := range crit.UID {
		if isSaved(set) {
			var uids imap.UIDSet = imap.UIDSet{}
			for _, u := range s.saved {
				uids.AddNum(imap.UID(u))
			}
			set = uids
		}
		out.UID = append(out.UID, set)
	}
	out.Not = make([]imap.SearchCriteria, len(crit.Not))
	for i := range crit.Not {
		out.Not[i] = *freezeCriteria(&crit.Not[i], s)
	}
	out.Or = make([][2]imap.SearchCriteria, len(crit.Or))
	for i := range crit.Or {
		out.Or[i] = [2]imap.SearchCriteria{*freezeCriteria(&crit.Or[i][0], s), *freezeCriteria(&crit.Or[i][1], s)}
	}
	return &out
}

// contextsAdded reports new messages that match a context; it runs after
// their EXISTS, so that their sequence numbers are valid (§4.3.3).
func (c *conn) contextsAdded(uids []uint32) {
	c.contextsChanged(uids, false)
}

// contextsChanged evaluates the contexts again for messages whose flags
// changed (or that are new) and reports what joined or left each result.
func (c *conn) contextsChanged(uids []uint32, flags bool) {
	if len(uids) == 0 {
		return
	}
	for _, x := range c.sel.contexts {
		matched, err := c.matching(x.crit, uids)
		if err != nil {
			c.srv.log.Warn("imap search context update failed", "user", c.acct.Address, "tag", x.tag, "err", err)
			continue
		}
		var add, gone []uint32
		for _, u := range uids {
			_, in := slices.BinarySearch(matched, u)
			was := slices.Contains(x.result, u)
			switch {
			case in && !was:
				add = append(add, u)
			case !in && was && flags:
				gone = append(gone, u)
			}
		}
		c.contextRemove(x, gone)
		c.contextAdd(x, add)
	}
}

// contextsRemoved reports expunged messages that were in a result; it runs
// before their EXPUNGE, while their sequence numbers are valid (§4.3.4).
func (c *conn) contextsRemoved(uids []uint32) {
	for _, x := range c.sel.contexts {
		var gone []uint32
		for _, u := range uids {
			if slices.Contains(x.result, u) {
				gone = append(gone, u)
			}
		}
		c.contextRemove(x, gone)
	}
}

func (c *conn) contextAdd(x *searchContext, uids []uint32) {
	if len(uids) == 0 {
		return
	}
	c.enc.Raw("* ESEARCH (TAG ").String(x.tag).Byte(')')
	if x.uid {
		c.enc.Raw(" UID")
	}
	if x.position == nil {
		for _, u := range uids {
			i, _ := slices.BinarySearch(x.result, u)
			x.result = slices.Insert(x.result, i, u)
		}
		c.enc.Raw(" ADDTO (0 ").Raw(c.contextSet(x, uids)).Raw(")").CRLF()
		return
	}
	c.enc.Raw(" ADDTO (")
	for i, u := range uids {
		pos := x.position(c, x.result, u)
		x.result = slices.Insert(x.result, pos-1, u)
		if i > 0 {
			c.enc.SP()
		}
		c.enc.Number(uint32(pos)).SP().Raw(c.contextSet(x, []uint32{u}))
	}
	c.enc.Raw(")").CRLF()
}

func (c *conn) contextRemove(x *searchContext, uids []uint32) {
	if len(uids) == 0 {
		return
	}
	c.enc.Raw("* ESEARCH (TAG ").String(x.tag).Byte(')')
	if x.uid {
		c.enc.Raw(" UID")
	}
	if x.position == nil {
		c.enc.Raw(" REMOVEFROM (0 ").Raw(c.contextSet(x, uids)).Raw(")").CRLF()
	} else {
		c.enc.Raw(" REMOVEFROM (")
		for i, u := range uids {
			if i > 0 {
				c.enc.SP()
			}
			c.enc.Number(uint32(slices.Index(x.result, u) + 1)).SP().Raw(c.contextSet(x, []uint32{u}))
			x.result = slices.DeleteFunc(x.result, func(v uint32) bool { return v == u })
		}
		c.enc.Raw(")").CRLF()
		return
	}
	x.result = slices.DeleteFunc(x.result, func(v uint32) bool { return slices.Contains(uids, v) })
}

// contextSet writes ascending UIDs as the context reports them: UIDs, or
// their sequence numbers in the view.
func (c *conn) contextSet(x *searchContext, uids []uint32) string {
	if x.uid {
		return uidListString(uids)
	}
	seqs := make([]uint32, 0, len(uids))
	for _, u := range uids {
		if q := c.sel.seqOf(u); q != 0 {
			seqs = append(seqs, q)
		}
	}
	slices.Sort(seqs)
	return uidListString(seqs)
}

// matching returns which of uids (ascending) meet crit now.
func (c *conn) matching(crit *imap.SearchCriteria, uids []uint32) ([]uint32, error) {
	only := *crit
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	only.UID = append(slices.Clone(crit.UID), set)
	found, err := c.search(&only)
	if err != nil {
		return nil, err
	}
	return uidsOf(found), nil
}

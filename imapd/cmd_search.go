package imapd

import (
	"github.com/emersion/go-imap/v2"

	"postern/imapd/internal/wire"
)

// SEARCH and UID SEARCH (RFC 3501 §6.4.4, §6.4.8) with the extended
// form: RETURN options and the ESEARCH response (RFC 4731), SAVE and "$"
// (RFC 5182), PARTIAL, UPDATE and CONTEXT (RFC 5267). After ENABLE
// IMAP4rev2 every SEARCH answers with ESEARCH (RFC 9051 §6.4.4). The
// evaluator is in search.go, the kept results in search_context.go.
func init() {
	addCap("ESEARCH", false)
	addCap("SEARCHRES", false)
	addCap("CONTEXT=SEARCH", false)
	register(&command{name: "SEARCH", states: onlySelected, noExpunge: true, handle: searchCommand})
	register(&command{name: "UID SEARCH", states: onlySelected, handle: searchCommand})
}

func searchCommand(c *conn, r *request) (err error) {
	if err := r.p.SP(); err != nil {
		return err
	}
	ret, err := r.p.SearchReturnOpts()
	if err != nil {
		return err
	}
	if ret != nil && ret.Save {
		// RFC 5182 §2.1: a SEARCH with SAVE that fails leaves "$"
		// empty, so that a pipelined command using it acts on nothing.
		defer func() {
			if err != nil {
				c.sel.saved = nil
			}
		}()
	}
	crit, err := r.p.SearchCriteria(r.uid)
	if err != nil {
		return err
	}
	if err := r.end(); err != nil {
		return err
	}
	if ret != nil && ret.Update && c.sel.context(r.tag) != nil {
		// RFC 5267 §4.3: the tag names the context; one in use is refused.
		return bad("Tag %s already names a search kept up to date", wireSafe(r.tag))
	}
	found, err := c.search(crit)
	if err != nil {
		return err
	}
	if ret == nil {
		if c.rev2 {
			ret = &wire.SearchReturn{All: true}
		} else {
			c.writeSearch(found, r.uid)
			return nil
		}
	}
	if ret.Save {
		c.sel.saved = savedResult(ret, found)
	}
	if ret.Update {
		if err := c.keepUpdated(r.tag, r.uid, crit, found); err != nil {
			return err
		}
	}
	// RFC 5182 §2.4: SAVE alone asks for no ESEARCH response.
	if ret.Min || ret.Max || ret.All || ret.Count || ret.Partial != nil || !ret.Save {
		c.writeESearch(r.tag, r.uid, ret, found)
	}
	return nil
}

// writeSearch is the SEARCH response of RFC 3501 §7.2.5.
func (c *conn) writeSearch(found []member, uid bool) {
	c.enc.Raw("* SEARCH")
	for _, m := range found {
		c.enc.SP()
		if uid {
			c.enc.Number(m.uid)
		} else {
			c.enc.Number(m.seq)
		}
	}
	c.enc.CRLF()
}

// writeESearch is the ESEARCH response (RFC 4731 §3.1): MIN, MAX and ALL
// only when something matched, COUNT always; PARTIAL with the range asked
// for and NIL for positions past the results (RFC 5267 §4.4).
func (c *conn) writeESearch(tag string, uid bool, ret *wire.SearchReturn, found []member) {
	e := c.enc
	e.Raw("* ESEARCH (TAG ").String(tag).Byte(')')
	if uid {
		e.Raw(" UID")
	}
	num := func(m member) uint32 {
		if uid {
			return m.uid
		}
		return m.seq
	}
	if len(found) > 0 {
		if ret.Min {
			e.Raw(" MIN ").Number(num(found[0]))
		}
		if ret.Max {
			e.Raw(" MAX ").Number(num(found[len(found)-1]))
		}
	}
	if ret.Count {
		e.Raw(" COUNT ").Number(uint32(len(found)))
	}
	if ret.All && len(found) > 0 {
		e.Raw(" ALL ").Raw(setString(found, num))
	}
	if pr := ret.Partial; pr != nil {
		e.Raw(" PARTIAL (").Number(pr[0]).Byte(':').Number(pr[1]).SP()
		lo, hi := int64(pr[0])-1, min(int64(pr[1]), int64(len(found)))
		if lo >= hi {
			e.Raw("NIL")
		} else {
			e.Raw(setString(found[lo:hi], num))
		}
		e.Byte(')')
	}
	e.CRLF()
}

// setString writes ascending numbers as a sequence set with ranges.
func setString(ms []member, num func(member) uint32) string {
	ns := make([]uint32, len(ms))
	for i, m := range ms {
		ns[i] = num(m)
	}
	return uidListString(ns)
}

// savedResult is what SAVE keeps as "$" (RFC 5182 §2.4): with MIN or MAX
// alone (or both) only those messages, else the whole result. It is kept
// as UIDs, so that expunges do not shift it.
func savedResult(ret *wire.SearchReturn, found []member) []uint32 {
	if len(found) == 0 {
		return nil
	}
	if (ret.Min || ret.Max) && !ret.All && !ret.Count && ret.Partial == nil {
		var out []uint32
		if ret.Min {
			out = append(out, found[0].uid)
		}
		if ret.Max && (!ret.Min || len(found) > 1) {
			out = append(out, found[len(found)-1].uid)
		}
		return out
	}
	return uidsOf(found)
}

// isSaved reports whether a set is "$", the saved search result.
func isSaved(set imap.NumSet) bool { return imap.IsSearchRes(set) }

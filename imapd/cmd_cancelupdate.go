package imapd

import "slices"

// CANCELUPDATE "tag" ... stops the updates of searches made with
// RETURN (UPDATE) (RFC 5267 §4.3.5). A tag that names no such search is
// no error: the client wants no updates for it, and gets none.
func init() {
	register(&command{name: "CANCELUPDATE", states: onlySelected, handle: func(c *conn, r *request) error {
		tags, err := r.p.QuotedList(maxContexts * 4)
		if err != nil {
			return err
		}
		if err := r.end(); err != nil {
			return err
		}
		s := c.sel
		s.contexts = slices.DeleteFunc(s.contexts, func(x *searchContext) bool { return slices.Contains(tags, x.tag) })
		return nil
	}})
}

package imapd

import (
	"slices"
	"strings"

	"postern/storage"
)

// Keywords in the FLAGS response: RFC 3501 §7.2.6 has the server list the
// flags that apply in the mailbox, and clients (Thunderbird's tags) offer
// what it lists. The list starts with the keywords in use at SELECT and
// grows, with a new untagged FLAGS, when a message gets a keyword the
// session has not announced yet (§7.2.6: the client records the update).

// addKeywords adds kws to the announced set and reports whether any was new.
func (s *selected) addKeywords(kws []string) bool {
	added := false
	for _, k := range kws {
		if !slices.ContainsFunc(s.keywords, func(have string) bool { return strings.EqualFold(have, k) }) {
			s.keywords = append(s.keywords, k)
			added = true
		}
	}
	if added {
		slices.Sort(s.keywords)
	}
	return added
}

// writeFlagsResponse writes "* FLAGS (...)" with the announced keywords.
func (c *conn) writeFlagsResponse() {
	e := c.enc
	e.Raw(`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft`)
	for _, k := range c.sel.keywords {
		e.SP().Raw(k)
	}
	e.Raw(")").CRLF()
}

// announceKeywords writes a new FLAGS response before a FETCH that would
// show a keyword the client has not been told of.
func (c *conn) announceKeywords(fs storage.FlagSet) {
	if c.sel != nil && len(fs.Keywords) > 0 && c.sel.addKeywords(fs.Keywords) {
		c.writeFlagsResponse()
	}
}

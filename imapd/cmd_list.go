package imapd

import (
	"sort"
	"strings"

	"postern/imapd/internal/mailboxmatch"
	"postern/imapd/internal/wire"
	"postern/mutf7"
	"postern/storage"
)

func init() {
	addCap("CHILDREN", false)
	addCap("SPECIAL-USE", false)
	addCap("LIST-EXTENDED", false)
	addCap("LIST-STATUS", false)
	register(&command{name: "LIST", states: authOrSel, handle: func(c *conn, r *request) error { return list(c, r, false) }})
	register(&command{name: "LSUB", states: authOrSel, handle: func(c *conn, r *request) error { return list(c, r, true) }})
}

// list is LIST and LSUB (RFC 3501 §6.3.8, §6.3.9) with the CHILDREN
// (RFC 3348) and SPECIAL-USE (RFC 6154) attributes, and LIST's extended
// form (RFC 5258): selection options, several patterns, return options,
// CHILDINFO, and STATUS per mailbox (RFC 5819). Only the account's own
// mailboxes are ever named.
func list(c *conn, r *request, lsub bool) error {
	p := r.p
	var o wire.ListOptions
	if err := p.SP(); err != nil {
		return err
	}
	if !lsub {
		if err := p.ListSelectOpts(&o); err != nil {
			return err
		}
	}
	ref, err := p.Mailbox()
	if err != nil {
		return err
	}
	if err := p.SP(); err != nil {
		return err
	}
	var pats []string
	if lsub {
		var pat string
		pat, err = p.ListMailbox()
		pats = []string{pat}
	} else {
		pats, err = p.ListPatterns(&o)
	}
	if err != nil {
		return err
	}
	if !lsub {
		if err := p.ListReturnOpts(&o); err != nil {
			return err
		}
	}
	if err := r.end(); err != nil {
		return err
	}
	verb := "LIST"
	if lsub {
		verb = "LSUB"
	}
	var ms []listMatcher
	for _, raw := range pats {
		if raw == "" {
			continue
		}
		m, err := c.listMatcher(ref, raw)
		if err != nil {
			return err
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		// RFC 3501 §6.3.8: the delimiter and the root of the reference.
		c.enc.Raw("* ").Raw(verb).Raw(` (\Noselect) "/" ""`).CRLF()
		return nil
	}
	match := func(n string) bool {
		for _, m := range ms {
			if m.match(n) {
				return true
			}
		}
		return false
	}
	all, err := c.listEntries(lsub || o.ReturnSubscribed)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	if lsub {
		c.writeLSub(names, all, match, strings.HasSuffix(pats[0], "%"))
		return nil
	}
	// What the selection options ask for (RFC 5258 §3.1); with none,
	// every mailbox and every level implied by one.
	selects := o.SelectSubscribed || o.SelectSpecialUse
	meets := func(e *listEntry) bool {
		if !selects {
			return e.exists || e.children
		}
		return (!o.SelectSubscribed || e.subscribed) && (!o.SelectSpecialUse || e.special != "")
	}
	if o.SelectRecursive {
		// RFC 5258 §3.5: a name whose descendant meets the criteria
		// but is not listed itself gets CHILDINFO.
		for _, n := range names {
			if e := all[n]; meets(e) && !match(n) {
				for _, par := range parents(n) {
					all[par].childInfo = true
				}
			}
		}
	}
	extended := o.Extended || c.rev2
	for _, n := range names {
		e := all[n]
		if !match(n) || (!meets(e) && !e.childInfo) {
			continue
		}
		var attrs []string
		if !e.exists {
			if extended {
				// RFC 5258 §3.4: \NonExistent implies \Noselect.
				attrs = append(attrs, `\NonExistent`)
			} else {
				attrs = append(attrs, `\Noselect`)
			}
		}
		if e.children {
			attrs = append(attrs, `\HasChildren`)
		} else {
			attrs = append(attrs, `\HasNoChildren`)
		}
		if e.special != "" {
			attrs = append(attrs, e.special)
		}
		if o.ReturnSubscribed && e.subscribed {
			attrs = append(attrs, `\Subscribed`)
		}
		c.enc.Raw("* LIST (").Raw(strings.Join(attrs, " ")).Raw(`) "/" `).Mailbox(n)
		if e.childInfo {
			c.enc.Raw(` ("CHILDINFO" (`)
			if o.SelectSubscribed {
				c.enc.Raw(`"SUBSCRIBED"`)
			}
			if o.SelectSpecialUse {
				if o.SelectSubscribed {
					c.enc.SP()
				}
				c.enc.Raw(`"SPECIAL-USE"`)
			}
			c.enc.Raw("))")
		}
		c.enc.CRLF()
		if o.ReturnStatus != nil && e.exists {
			// RFC 5819 §2: STATUS follows the LIST of each selectable
			// mailbox.
			if err := c.writeStatus(e.mb, o.ReturnStatus); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeLSub writes LSUB responses: the subscribed names that match, and
// with "%", the unsubscribed parents of subscribed names as \Noselect
// (RFC 3501 §6.3.9).
func (c *conn) writeLSub(names []string, all map[string]*listEntry, match func(string) bool, pct bool) {
	for _, n := range names {
		e := all[n]
		if !match(n) {
			continue
		}
		if !e.subscribed {
			if pct && e.subChild {
				c.enc.Raw("* LSUB (\\Noselect) \"/\" ").Mailbox(n).CRLF()
			}
			continue
		}
		c.enc.Raw(`* LSUB () "/" `).Mailbox(n).CRLF()
	}
}

type listEntry struct {
	mb         storage.Mailbox
	exists     bool   // a mailbox (else only implied by a child's name, or subscribed)
	special    string // SPECIAL-USE attribute
	children   bool   // an existing mailbox is below it
	subscribed bool
	subChild   bool // a subscribed name is below it
	childInfo  bool // a name below it meets the selection but is not listed
}

// listEntries gathers the account's mailboxes, the levels their names
// imply and, when subs is set, the subscriptions.
func (c *conn) listEntries(subs bool) (map[string]*listEntry, error) {
	st := c.srv.cfg.Store
	mboxes, err := st.Mailboxes(c.ctx, c.acct.ID)
	if err != nil {
		return nil, err
	}
	all := map[string]*listEntry{}
	get := func(n string) *listEntry {
		e := all[n]
		if e == nil {
			e = &listEntry{}
			all[n] = e
		}
		return e
	}
	for _, mb := range mboxes {
		e := get(mb.Name)
		e.mb, e.exists, e.special = mb, true, mb.SpecialUse
		for _, par := range parents(mb.Name) {
			get(par).children = true
		}
	}
	if subs {
		names, err := st.Subscriptions(c.ctx, c.acct.ID)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			get(n).subscribed = true
			for _, par := range parents(n) {
				get(par).subChild = true
			}
		}
	}
	return all, nil
}

// A listMatcher matches names against one pattern joined to the reference.
type listMatcher struct {
	m, inbox *mailboxmatch.Pattern
}

func (c *conn) listMatcher(ref, raw string) (listMatcher, error) {
	pattern := c.decodePattern(raw)
	if ref != "" && !strings.HasSuffix(ref, storage.Delimiter) && !strings.HasPrefix(pattern, storage.Delimiter) {
		ref += storage.Delimiter
	}
	pattern = canonicalPattern(ref + pattern)
	m, err := mailboxmatch.Compile(pattern, storage.Delimiter[0])
	if err != nil {
		return listMatcher{}, bad("%s", err.Error())
	}
	// INBOX and the names under it also match a pattern that spells
	// INBOX in another case before its first wildcard ("inbox*", "In%").
	mi, _ := mailboxmatch.Compile(inboxPattern(pattern), storage.Delimiter[0])
	return listMatcher{m, mi}, nil
}

func (l listMatcher) match(n string) bool {
	if l.m.Match(n) {
		return true
	}
	return (n == "INBOX" || strings.HasPrefix(n, "INBOX"+storage.Delimiter)) && l.inbox.Match(n)
}

// decodePattern decodes modified UTF-7 in a pattern; the wildcards are
// plain ASCII and survive it. A pattern that is not valid modified UTF-7
// is matched as it is, as Dovecot does: it is a search, and a BAD would
// make strict clients drop the connection. Once UTF-8 is enabled the
// pattern is UTF-8 already (RFC 6855 §3).
func (c *conn) decodePattern(p string) string {
	if c.p.UTF8 {
		return p
	}
	s, err := mutf7.Decode(p)
	if err != nil {
		return p
	}
	return s
}

// canonicalPattern makes "inbox" match INBOX in any case (RFC 3501 §5.1).
func canonicalPattern(p string) string {
	if len(p) >= 5 && strings.EqualFold(p[:5], "INBOX") && (len(p) == 5 || p[5] == '/') {
		return "INBOX" + p[5:]
	}
	return p
}

// inboxPattern spells the leading characters of a pattern that stand for
// the start of "INBOX" (up to its first wildcard) in upper case, since
// INBOX is case-insensitive (RFC 3501 §5.1): "inb*" becomes "INB*".
func inboxPattern(p string) string {
	const inbox = "INBOX"
	b := []byte(p)
	for i := 0; i < len(b) && i < len(inbox); i++ {
		c := b[i]
		if c == '*' || c == '%' || (c != inbox[i] && c != inbox[i]+'a'-'A') {
			break
		}
		b[i] = inbox[i]
	}
	return string(b)
}

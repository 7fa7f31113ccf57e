package imapd

import (
	"sort"
	"strings"

	"postern/imapd/internal/mailboxmatch"
	"postern/mutf7"
	"postern/storage"
)

func init() {
	addCap("CHILDREN", false)
	addCap("SPECIAL-USE", false)
	register(&command{name: "LIST", states: authOrSel, handle: func(c *conn, r *request) error { return list(c, r, false) }})
	register(&command{name: "LSUB", states: authOrSel, handle: func(c *conn, r *request) error { return list(c, r, true) }})
}

// list is LIST and LSUB (RFC 3501 §6.3.8, §6.3.9) with the CHILDREN
// (RFC 3348) and SPECIAL-USE (RFC 6154) attributes. Only the account's
// own mailboxes are ever named.
func list(c *conn, r *request, lsub bool) error {
	p := r.p
	if err := p.SP(); err != nil {
		return err
	}
	ref, err := p.Mailbox()
	if err != nil {
		return err
	}
	if err := p.SP(); err != nil {
		return err
	}
	rawPattern, err := p.ListMailbox()
	if err != nil {
		return err
	}
	if err := r.end(); err != nil {
		return err
	}
	verb := "LIST"
	if lsub {
		verb = "LSUB"
	}
	if rawPattern == "" {
		// RFC 3501 §6.3.8: the delimiter and the root of the reference.
		c.enc.Raw("* ").Raw(verb).Raw(` (\Noselect) "/" ""`).CRLF()
		return nil
	}
	pattern := c.decodePattern(rawPattern)
	if ref != "" && !strings.HasSuffix(ref, storage.Delimiter) && !strings.HasPrefix(pattern, storage.Delimiter) {
		ref += storage.Delimiter
	}
	pattern = canonicalPattern(ref + pattern)
	m, err := mailboxmatch.Compile(pattern, storage.Delimiter[0])
	if err != nil {
		return bad("%s", err.Error())
	}
	// INBOX and the names under it also match a pattern that spells
	// INBOX in another case before its first wildcard ("inbox*", "In%").
	mi, _ := mailboxmatch.Compile(inboxPattern(pattern), storage.Delimiter[0])
	match := func(n string) bool {
		if m.Match(n) {
			return true
		}
		return (n == "INBOX" || strings.HasPrefix(n, "INBOX"+storage.Delimiter)) && mi.Match(n)
	}

	st := c.srv.cfg.Store
	mboxes, err := st.Mailboxes(c.ctx, c.acct.ID)
	if err != nil {
		return err
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
		e.exists, e.special = true, mb.SpecialUse
		for _, par := range parents(mb.Name) {
			get(par).children = true
		}
	}
	if lsub {
		subs, err := st.Subscriptions(c.ctx, c.acct.ID)
		if err != nil {
			return err
		}
		for _, n := range subs {
			get(n).listed = true
			for _, par := range parents(n) {
				get(par).subChild = true
			}
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := all[n]
		if lsub && !e.listed {
			// RFC 3501 §6.3.9: with "%", a subscribed child makes its
			// unsubscribed parent show up as \Noselect.
			if !strings.HasSuffix(pattern, "%") || !e.subChild || !match(n) {
				continue
			}
			c.enc.Raw("* LSUB (\\Noselect) \"/\" ").Mailbox(n).CRLF()
			continue
		}
		if !match(n) {
			continue
		}
		var attrs []string
		if !e.exists {
			attrs = append(attrs, `\Noselect`)
		}
		if !lsub {
			if e.children {
				attrs = append(attrs, `\HasChildren`)
			} else {
				attrs = append(attrs, `\HasNoChildren`)
			}
			if e.special != "" {
				attrs = append(attrs, e.special)
			}
		}
		c.enc.Raw("* ").Raw(verb).Raw(" (").Raw(strings.Join(attrs, " ")).Raw(`) "/" `).Mailbox(n).CRLF()
	}
	return nil
}

type listEntry struct {
	exists   bool   // a mailbox (else only implied by a child's name)
	special  string // SPECIAL-USE attribute
	children bool
	listed   bool // LSUB: subscribed
	subChild bool // LSUB: a child is subscribed
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

package imapd

import (
	"strings"

	"postern/imapd/internal/imapurl"
)

// GENURLAUTH makes URLAUTH URLs (RFC 4467 §6.1): for each rump URL of one
// of this user's mailboxes, the URL with ":INTERNAL:" and a token made
// with the mailbox's access key, which it creates if need be. The host of
// the URL is not checked: the token covers it, and clients name the server
// as they reach it.
func init() {
	addCap("URLAUTH", false)
	addCap("URLAUTH=BINARY", false)
	register(&command{name: "GENURLAUTH", states: authOrSel, handle: func(c *conn, r *request) error {
		p := r.p
		type pair struct{ url, mech string }
		var pairs []pair
		for !p.AtEOL() || len(pairs) == 0 {
			if err := p.SP(); err != nil {
				return err
			}
			u, err := p.AString()
			if err != nil {
				return err
			}
			if err := p.SP(); err != nil {
				return err
			}
			mech, err := p.Atom()
			if err != nil {
				return err
			}
			if len(pairs) >= maxURLs {
				return bad("Too many URLs (at most %d)", maxURLs)
			}
			pairs = append(pairs, pair{u, mech})
		}
		if err := r.end(); err != nil {
			return err
		}
		var out []string
		for _, x := range pairs {
			if !strings.EqualFold(x.mech, "INTERNAL") {
				return no("Unknown URLAUTH mechanism %s (INTERNAL is supported)", wireSafe(x.mech))
			}
			u, err := imapurl.Parse(x.url)
			if err != nil {
				return badURL(x.url, err.Error())
			}
			// §6.1: an absolute URL of this user's, with an access
			// identifier and no token yet.
			if !u.Absolute || u.Access == "" || u.Mechanism != "" || !strings.EqualFold(u.User, c.acct.Address) {
				return badURL(x.url, "GENURLAUTH takes an imap:// URL of your own with ;URLAUTH= and no token")
			}
			mb, err := c.srv.cfg.Store.Mailbox(c.ctx, c.acct.ID, u.Mailbox)
			if err != nil {
				return badURL(x.url, "No such mailbox")
			}
			key, err := c.srv.cfg.URLAuthKeys.Key(c.ctx, mb.ID, true)
			if err != nil {
				return err
			}
			out = append(out, u.Rump+":INTERNAL:"+urlToken(key, u.Rump))
		}
		c.enc.Raw("* GENURLAUTH")
		for _, s := range out {
			c.enc.SP().String(s)
		}
		c.enc.CRLF()
		return nil
	}})
}

// maxURLs bounds the URLs of one GENURLAUTH or URLFETCH.
const maxURLs = 100

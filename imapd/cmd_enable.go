package imapd

import "strings"

// ENABLE (RFC 5161) turns on, for this connection, what changes the
// server's responses: IMAP4rev2 (RFC 9051 §6.3.1) and UTF8=ACCEPT
// (RFC 6855 §3). The answer names what this command enabled; unknown
// names are ignored (RFC 5161 §3.1).
func init() {
	addCap("UTF8=ACCEPT", false)
	register(&command{name: "ENABLE", states: stateAuth, handle: func(c *conn, r *request) error {
		p := r.p
		var names []string
		for {
			if err := p.SP(); err != nil {
				return err
			}
			a, err := p.Atom()
			if err != nil {
				return err
			}
			if len(names) < 32 {
				names = append(names, a)
			}
			if p.AtEOL() {
				break
			}
		}
		if err := r.end(); err != nil {
			return err
		}
		c.enc.Raw("* ENABLED")
		for _, n := range names {
			switch strings.ToUpper(n) {
			case "IMAP4REV2":
				if c.rev2 {
					continue
				}
				c.rev2 = true
				c.enc.Raw(" IMAP4rev2")
			case "UTF8=ACCEPT":
				if c.utf8Accept {
					continue
				}
				c.utf8Accept = true
				c.p.NoCharset = true
				c.enc.Raw(" UTF8=ACCEPT")
			default:
				continue
			}
			// Both make mailbox names and quoted strings UTF-8 (RFC 9051
			// §5.1, RFC 6855 §3).
			c.p.UTF8, c.enc.UTF8 = true, true
		}
		c.enc.CRLF()
		return nil
	}})
}

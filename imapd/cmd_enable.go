package imapd

// ENABLE (RFC 5161). No extension Postern offers needs enabling yet, so
// the answer names none; unknown names are ignored as §3.1 requires.
func init() {
	register(&command{name: "ENABLE", states: stateAuth, handle: func(c *conn, r *request) error {
		p := r.p
		for {
			if err := p.SP(); err != nil {
				return err
			}
			if _, err := p.Atom(); err != nil {
				return err
			}
			if p.AtEOL() {
				break
			}
		}
		if err := r.end(); err != nil {
			return err
		}
		c.enc.Raw("* ENABLED").CRLF()
		return nil
	}})
}

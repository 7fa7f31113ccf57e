package imapd

func init() {
	register(&command{name: "LOGIN", states: stateNotAuth, handle: func(c *conn, r *request) error {
		p := r.p
		if err := p.SP(); err != nil {
			return err
		}
		user, err := p.AString()
		if err != nil {
			return err
		}
		if err := p.SP(); err != nil {
			return err
		}
		pass, err := p.AString()
		if err != nil {
			return err
		}
		if err := r.end(); err != nil {
			return err
		}
		// RFC 3501 §6.2.3, §7.2.1 LOGINDISABLED.
		if !c.plaintextAllowed() {
			return c.refusePlaintext(user)
		}
		if err := c.authenticate(user, pass); err != nil {
			return err
		}
		return c.loggedIn("LOGIN")
	}})
}

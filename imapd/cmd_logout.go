package imapd

func init() {
	register(&command{name: "LOGOUT", states: anyState, handle: func(c *conn, r *request) error {
		if err := r.end(); err != nil {
			return err
		}
		// RFC 3501 §6.1.3: BYE before the tagged OK.
		c.enc.Raw("* BYE Logging out").CRLF()
		c.state = stateLogout
		return nil
	}})
}

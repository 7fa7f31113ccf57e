package imapd

func init() {
	register(&command{name: "CAPABILITY", states: anyState, handle: func(c *conn, r *request) error {
		if err := r.end(); err != nil {
			return err
		}
		c.enc.Raw("* CAPABILITY ").Raw(c.capabilities()).CRLF()
		return nil
	}})
}

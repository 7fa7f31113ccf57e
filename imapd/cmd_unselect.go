package imapd

// UNSELECT leaves the selected state without expunging (RFC 3691).
func init() {
	addCap("UNSELECT", false)
	register(&command{name: "UNSELECT", states: onlySelected, handle: func(c *conn, r *request) error {
		if err := r.end(); err != nil {
			return err
		}
		c.deselect()
		return nil
	}})
}

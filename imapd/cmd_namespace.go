package imapd

// NAMESPACE: one personal namespace, no others (RFC 2342).
func init() {
	addCap("NAMESPACE", false)
	register(&command{name: "NAMESPACE", states: authOrSel, handle: func(c *conn, r *request) error {
		if err := r.end(); err != nil {
			return err
		}
		c.enc.Raw(`* NAMESPACE (("" "/")) NIL NIL`).CRLF()
		return nil
	}})
}

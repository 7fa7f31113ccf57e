package imapd

// MOVE and UID MOVE (RFC 6851): copy, then expunge the originals, in one
// store transaction.
func init() {
	addCap("MOVE", false)
	register(&command{name: "MOVE", states: onlySelected, handle: func(c *conn, r *request) error { return copyOrMove(c, r, true) }})
	register(&command{name: "UID MOVE", states: onlySelected, handle: func(c *conn, r *request) error { return copyOrMove(c, r, true) }})
}

package imapd

// NOOP does nothing; the poll after every command sends pending updates
// (RFC 3501 §6.1.2).
func init() {
	register(&command{name: "NOOP", states: anyState, handle: func(c *conn, r *request) error {
		return r.end()
	}})
}

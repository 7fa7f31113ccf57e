package imapd

// CHECK asks for a checkpoint (RFC 3501 §6.4.1); every change is already
// durable when its command completes, so it is a NOOP.
func init() {
	register(&command{name: "CHECK", states: onlySelected, handle: func(c *conn, r *request) error {
		return r.end()
	}})
}

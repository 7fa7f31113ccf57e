package imapd

// FETCH and UID FETCH (RFC 3501 §6.4.5, §6.4.8). The work is in fetch.go.
func init() {
	register(&command{name: "FETCH", states: onlySelected, noExpunge: true, handle: fetchCommand})
	register(&command{name: "UID FETCH", states: onlySelected, handle: fetchCommand})
}

func fetchCommand(c *conn, r *request) error {
	set, err := r.numSetArg()
	if err != nil {
		return err
	}
	p := r.p
	items, err := p.FetchItems()
	if err != nil {
		return err
	}
	if err := r.end(); err != nil {
		return err
	}
	return c.fetch(set, items, r.uid)
}

package imapd

// SEARCH and UID SEARCH (RFC 3501 §6.4.4, §6.4.8). The evaluator is in
// search.go.
func init() {
	register(&command{name: "SEARCH", states: onlySelected, noExpunge: true, handle: searchCommand})
	register(&command{name: "UID SEARCH", states: onlySelected, handle: searchCommand})
}

func searchCommand(c *conn, r *request) error {
	if err := r.p.SP(); err != nil {
		return err
	}
	crit, err := r.p.SearchCriteria(r.uid)
	if err != nil {
		return err
	}
	if err := r.end(); err != nil {
		return err
	}
	found, err := c.search(crit)
	if err != nil {
		return err
	}
	c.enc.Raw("* SEARCH")
	for _, m := range found {
		c.enc.SP()
		if r.uid {
			c.enc.Number(m.uid)
		} else {
			c.enc.Number(m.seq)
		}
	}
	c.enc.CRLF()
	return nil
}

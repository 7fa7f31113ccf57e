package imapd

// ID exchanges implementation names (RFC 2971). What the client says is
// logged; the server names itself but not its version.
func init() {
	register(&command{name: "ID", states: anyState, handle: func(c *conn, r *request) error {
		p := r.p
		if err := p.SP(); err != nil {
			return err
		}
		var fields []string
		b, err := p.Peek()
		if err != nil {
			return err
		}
		if b == '(' {
			if err := p.List(false, func() error {
				k, err := p.String()
				if err != nil {
					return err
				}
				if err := p.SP(); err != nil {
					return err
				}
				v, _, err := p.NString()
				if len(fields) < 60 {
					fields = append(fields, wireSafe(k), wireSafe(v))
				}
				return err
			}); err != nil {
				return err
			}
		} else if _, ok, err := p.NString(); err != nil || ok {
			if err == nil {
				err = bad("ID takes a list or NIL")
			}
			return err
		}
		if err := r.end(); err != nil {
			return err
		}
		if len(fields) > 0 {
			c.srv.log.Info("imap client id", "remote", c.nc.RemoteAddr().String(), "id", fields)
		}
		c.enc.Raw(`* ID ("name" "Postern")`).CRLF()
		return nil
	}})
}

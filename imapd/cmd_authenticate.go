package imapd

import (
	"encoding/base64"
	"strings"

	"postern/auth"
)

// maxSASLLine caps one line of a SASL exchange.
const maxSASLLine = 8 << 10

func init() {
	register(&command{name: "AUTHENTICATE", states: stateNotAuth, handle: func(c *conn, r *request) error {
		p := r.p
		if err := p.SP(); err != nil {
			return err
		}
		mech, err := p.Atom()
		if err != nil {
			return err
		}
		var initial []byte
		hasInitial := false
		if ok, err := p.MaybeSP(); err != nil {
			return err
		} else if ok {
			// SASL-IR (RFC 4959): "=" is an empty initial response.
			s, err := p.Atom()
			if err != nil {
				// Base64 may contain '+' and '/', which are atom chars,
				// and '=' padding; anything else is a syntax error.
				return err
			}
			hasInitial = true
			if s == "=" {
				// A zero-length response, not an absent one: the
				// mechanism gets it and no challenge goes out.
				initial = []byte{}
			} else if initial, err = base64.StdEncoding.DecodeString(s); err != nil {
				return bad("Initial response is not valid base64")
			}
		}
		if err := r.end(); err != nil {
			return err
		}
		if !c.plaintextAllowed() {
			return c.refusePlaintext("")
		}
		var authErr error
		check := func(user, pass string) error {
			authErr = c.authenticate(user, pass)
			return authErr
		}
		srv, err := auth.NewMechanism(mech, check)
		if err != nil {
			return no("Unsupported mechanism %s; use PLAIN or LOGIN", wireSafe(mech))
		}
		var resp []byte // nil: no initial response, the server speaks first
		if hasInitial {
			resp = initial
		}
		for {
			challenge, done, err := srv.Next(resp)
			if err != nil {
				if authErr != nil {
					return authErr
				}
				if auth.Malformed(err) {
					return no("%s", err.Error())
				}
				return no("Authentication failed")
			}
			if done {
				break
			}
			c.enc.Raw("+ ").Raw(base64.StdEncoding.EncodeToString(challenge)).CRLF()
			if err := c.enc.Flush(); err != nil {
				return err
			}
			line, err := c.readSASLLine()
			if err != nil {
				return err
			}
			if line == "*" {
				return bad("Authentication cancelled")
			}
			if resp, err = base64.StdEncoding.DecodeString(line); err != nil {
				return bad("Response is not valid base64")
			}
		}
		if c.state != stateAuth {
			return no("Authentication failed")
		}
		return c.loggedIn("AUTHENTICATE")
	}})
}

// readSASLLine reads one client line of a SASL exchange (RFC 3501 §6.2.2).
func (c *conn) readSASLLine() (string, error) {
	var sb strings.Builder
	c.r.StartCommand()
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			return "", err
		}
		if b == '\n' {
			c.r.StartCommand()
			return strings.TrimSuffix(sb.String(), "\r"), nil
		}
		if sb.Len() >= maxSASLLine {
			if err := c.r.SkipCommand(); err != nil {
				return "", err
			}
			return "", bad("SASL response too long")
		}
		sb.WriteByte(b)
	}
}

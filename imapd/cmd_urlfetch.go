package imapd

import (
	"bytes"
	"errors"
	"strings"

	"postern/imapd/internal/imapurl"
	"postern/mimeinfo"
)

// URLFETCH url ... reads URLAUTH URLs (RFC 4467 §6.3): a URL that is
// invalid, expired, made with a key since reset, or whose access this
// session does not meet gives NIL, not an error. URLAUTH=BINARY (RFC 5524
// §3) adds the form (url param ...) with BODYPARTSTRUCTURE, BINARY and
// BODY.
func init() {
	register(&command{name: "URLFETCH", states: authOrSel, handle: func(c *conn, r *request) error {
		p := r.p
		type fetch struct {
			url                     string
			extended                bool
			structure, binary, body bool
		}
		var fs []fetch
		for !p.AtEOL() || len(fs) == 0 {
			if err := p.SP(); err != nil {
				return err
			}
			if len(fs) >= maxURLs {
				return bad("Too many URLs (at most %d)", maxURLs)
			}
			b, err := p.Peek()
			if err != nil {
				return err
			}
			if b != '(' {
				u, err := p.AString()
				if err != nil {
					return err
				}
				fs = append(fs, fetch{url: u})
				continue
			}
			p.R.ReadByte()
			f := fetch{extended: true}
			if f.url, err = p.AString(); err != nil {
				return err
			}
			for {
				if b, err := p.Peek(); err != nil {
					return err
				} else if b == ')' {
					p.R.ReadByte()
					break
				}
				if err := p.SP(); err != nil {
					return err
				}
				param, err := p.Atom()
				if err != nil {
					return err
				}
				switch strings.ToUpper(param) {
				case "BODYPARTSTRUCTURE":
					f.structure = true
				case "BINARY":
					f.binary = true
				case "BODY":
					f.body = true
				default:
					return bad("Unknown URLFETCH parameter %s", wireSafe(param))
				}
			}
			if f.binary && f.body {
				return bad("BINARY and BODY cannot both be asked for (RFC 5524 §3)")
			}
			fs = append(fs, f)
		}
		if err := r.end(); err != nil {
			return err
		}
		for _, f := range fs {
			var t *urlTarget
			if u, err := imapurl.Parse(f.url); err == nil {
				t, err = c.authorizedURL(u)
				if err != nil && !errors.Is(err, errBadURL) {
					return err
				}
			}
			e := c.enc
			e.Raw("* URLFETCH ").String(f.url).SP()
			var data []byte
			ok := t != nil
			if ok {
				data, ok = t.section()
			}
			if !f.extended {
				if ok {
					e.Literal(data)
				} else {
					e.NIL()
				}
				e.CRLF()
				continue
			}
			if !ok {
				e.NIL().CRLF()
				continue
			}
			c.writeURLFetchItems(t, f.structure, f.binary, f.body, data)
		}
		return nil
	}})
}

// writeURLFetchItems writes the data items of an extended URLFETCH
// (RFC 5524 §3): the part's structure, its decoded content (NIL when its
// encoding cannot be undone) or its content as it is.
func (c *conn) writeURLFetchItems(t *urlTarget, structure, binary, body bool, data []byte) {
	e := c.enc
	u := t.url
	first := true
	item := func(s string) {
		if !first {
			e.SP()
		}
		first = false
		e.Raw(s)
	}
	whole := u.Spec == "" // a part or the message, not a header or text
	if structure {
		item("(BODYPARTSTRUCTURE ")
		if bs, ok := t.tree.Structure(u.Part); ok && whole {
			e.Bytes(bs)
		} else {
			e.NIL()
		}
		e.Byte(')')
	}
	if binary {
		item("(BINARY ")
		dec, _, err := t.tree.Binary(u.Part)
		switch {
		case !whole || errors.Is(err, mimeinfo.ErrUnknownCTE):
			e.NIL()
		case bytes.IndexByte(clip(dec, u), 0) >= 0:
			e.Literal8(clip(dec, u))
		default:
			e.Literal(clip(dec, u))
		}
		e.Byte(')')
	}
	if body {
		item("(BODY ")
		e.Literal(data)
		e.Byte(')')
	}
	e.CRLF()
}

package imapd

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"postern/imapd/internal/imapurl"
	"postern/storage"
)

// maxCatenateParts bounds the parts of one CATENATE.
const maxCatenateParts = 256

func init() { addCap("CATENATE", false) }

// catenate reads CATENATE ( cat-part *(SP cat-part) ) (RFC 4469 §5) and
// builds the message from its parts: TEXT literals, UTF8 (literal8)
// (RFC 6855 §4) and URLs of messages or parts this session may read. A
// URL that names nothing gets NO [BADURL] at once, before the client sends
// more; the message may grow to limit, past which it is NO [TOOBIG].
func (c *conn) catenate(max, limit int64) (*storage.Body, int64, error) {
	p := &c.p
	var buf bytes.Buffer
	utf8Seen := false
	parts := 0
	err := p.List(false, func() error {
		if parts++; parts > maxCatenateParts {
			return bad("Too many CATENATE parts (at most %d)", maxCatenateParts)
		}
		kind, err := p.Atom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(kind) {
		case "TEXT":
			if err := p.SP(); err != nil {
				return err
			}
			return c.catenateText(&buf, max)
		case "UTF8":
			if !c.utf8Accept {
				return bad("UTF8 message data needs ENABLE UTF8=ACCEPT first (RFC 6855 §4)")
			}
			if err := p.SP(); err != nil {
				return err
			}
			if err := p.Expect('(', "'(' after UTF8"); err != nil {
				return err
			}
			if err := c.catenateText(&buf, max); err != nil {
				return err
			}
			utf8Seen = true
			return p.Expect(')', "')' after the UTF8 text")
		case "URL":
			if err := p.SP(); err != nil {
				return err
			}
			s, err := p.AString()
			if err != nil {
				return err
			}
			u, err := imapurl.Parse(s)
			if err != nil {
				return badURL(s, err.Error())
			}
			t, err := c.ownURL(u)
			if errors.Is(err, errBadURL) {
				return badURL(s, "The URL names no message this session may read")
			}
			if err != nil {
				return err
			}
			data, ok := t.section()
			if !ok {
				return badURL(s, "The message has no such section")
			}
			if int64(buf.Len()+len(data)) > max {
				return noCode("TOOBIG", "Message is larger than the limit of %d bytes", limit)
			}
			buf.Write(data)
			return nil
		}
		return bad("Unknown CATENATE part %s (TEXT, URL or UTF8)", wireSafe(kind))
	})
	if err != nil {
		return nil, 0, err
	}
	size := int64(buf.Len())
	body, err := c.srv.cfg.Store.SpoolBody(c.ctx, &buf, limit)
	if err != nil {
		if errors.Is(err, storage.ErrTooBig) {
			return nil, 0, noCode("TOOBIG", "Message is larger than the limit of %d bytes", limit)
		}
		return nil, 0, err
	}
	if err := c.checkAppended(body, size, utf8Seen); err != nil {
		body.Close()
		return nil, 0, err
	}
	return body, size, nil
}

// catenateText appends a TEXT literal (or literal8) to buf, bounded so
// that the message stays within max.
func (c *conn) catenateText(buf *bytes.Buffer, max int64) error {
	p := &c.p
	lr, _, err := p.MessageLiteral(max - int64(buf.Len()))
	if err != nil {
		return err
	}
	_, err = io.Copy(buf, lr)
	p.R.StartCommand()
	return err
}

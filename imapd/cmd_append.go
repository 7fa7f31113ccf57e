package imapd

import (
	"bytes"
	"errors"
	"io"
	"time"

	"postern/storage"
)

// maxMultiAppend caps the messages of one MULTIAPPEND.
const maxMultiAppend = 1000

// APPEND with MULTIAPPEND (RFC 3502): every message of the command is
// committed in one transaction, or none is. A message comes as a literal,
// a literal8 (RFC 3516 §4.4), UTF8 (literal8) (RFC 6855 §4), or CATENATE
// of text and URLs (RFC 4469, append_catenate.go). The answer carries APPENDUID
// (RFC 4315). A message over APPENDLIMIT is refused with TOOBIG (RFC 7889)
// and its literal, if already on its way, is read and dropped.
func init() {
	addCap("MULTIAPPEND", false)
	register(&command{name: "APPEND", states: authOrSel, handle: appendCommand})
}

func appendCommand(c *conn, r *request) error {
	p := r.p
	if err := p.SP(); err != nil {
		return err
	}
	name, err := p.Mailbox()
	if err != nil {
		return err
	}
	st := c.srv.cfg.Store
	// Check the mailbox before any literal is accepted, so a client does
	// not upload a message only to be told to CREATE first.
	mb, err := st.Mailbox(c.ctx, c.acct.ID, name)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return noCode("TRYCREATE", "Mailbox %q does not exist", name)
		}
		return mailboxError(name, err)
	}
	limit := c.srv.cfg.MaxMessageBytes
	budget := 4 * limit // all messages of one MULTIAPPEND
	var items []storage.AppendItem
	defer func() {
		for _, it := range items {
			it.Body.Close()
		}
	}()
	for {
		if err := p.SP(); err != nil {
			return err
		}
		var it storage.AppendItem
		it.AccountID, it.Mailbox = c.acct.ID, mb.Name
		b, err := p.Peek()
		if err != nil {
			return err
		}
		if b == '(' {
			flags, err := p.FlagList()
			if err != nil {
				return err
			}
			names := make([]string, len(flags))
			for i, f := range flags {
				names[i] = string(f)
			}
			it.Flags = storage.ParseFlags(names)
			if err := p.SP(); err != nil {
				return err
			}
			if b, err = p.Peek(); err != nil {
				return err
			}
		}
		if b == '"' {
			if it.InternalDate, err = p.DateTime(); err != nil {
				return err
			}
			if err := p.SP(); err != nil {
				return err
			}
		}
		body, size, err := c.appendMessage(min(limit, budget), limit)
		if err != nil {
			return err
		}
		budget -= size
		items = append(items, it)
		items[len(items)-1].Body = body
		if p.AtEOL() {
			break
		}
		if len(items) >= maxMultiAppend {
			return bad("Too many messages in one APPEND (at most %d)", maxMultiAppend)
		}
	}
	if err := r.end(); err != nil {
		return err
	}
	for i := range items {
		if items[i].InternalDate.IsZero() {
			items[i].InternalDate = time.Now()
		}
	}
	res, err := st.Append(c.ctx, items)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return noCode("TRYCREATE", "Mailbox %q does not exist", name)
		}
		return err
	}
	uids := make([]uint32, len(res))
	for i, x := range res {
		uids[i] = x.UID
	}
	return okCode("APPENDUID "+itoa(int64(res[0].UIDValidity))+" "+uidListString(uids), "APPEND completed")
}

// appendMessage reads the message of one APPEND item. A literal8 is kept
// byte for byte (it may hold binary parts); a literal has its line endings
// made CRLF. max bounds the literal, limit the stored message.
func (c *conn) appendMessage(max, limit int64) (*storage.Body, int64, error) {
	p := &c.p
	if cat, err := p.Keyword("CATENATE "); err != nil {
		return nil, 0, err
	} else if cat {
		return c.catenate(max, limit)
	}
	utf8Item, err := p.Keyword("UTF8 ")
	if err != nil {
		return nil, 0, err
	}
	if utf8Item {
		if !c.utf8Accept {
			return nil, 0, bad("UTF8 message data needs ENABLE UTF8=ACCEPT first (RFC 6855 §4)")
		}
		if err := p.Expect('(', "'(' after UTF8"); err != nil {
			return nil, 0, err
		}
	}
	lr, literal8, err := p.MessageLiteral(max)
	if err != nil {
		return nil, 0, err
	}
	size := lr.Size()
	var body *storage.Body
	if literal8 {
		// Kept byte for byte, binary parts and all; it is bounded by
		// the literal's limit.
		var data []byte
		if data, err = io.ReadAll(lr); err == nil {
			body = storage.NewBody(data)
		}
	} else {
		// Spooled: a large message goes to data_dir as it arrives.
		body, err = c.srv.cfg.Store.SpoolBody(c.ctx, lr, limit)
	}
	if err != nil {
		if derr := lr.Drain(); derr != nil {
			return nil, 0, derr
		}
		p.R.StartCommand()
		if errors.Is(err, storage.ErrTooBig) {
			return nil, 0, noCode("TOOBIG", "Message is larger than the limit of %d bytes", limit)
		}
		return nil, 0, err
	}
	p.R.StartCommand()
	if err := c.checkAppended(body, size, utf8Item); err != nil {
		body.Close()
		return nil, 0, err
	}
	if utf8Item {
		if err := p.Expect(')', "')' after the UTF8 message"); err != nil {
			body.Close()
			return nil, 0, err
		}
	}
	return body, size, nil
}

// checkAppended refuses what APPEND cannot store.
func (c *conn) checkAppended(body *storage.Body, size int64, utf8Item bool) error {
	if size == 0 {
		// A message has at least a header; an empty literal is a client
		// error, refused as other servers do.
		return no("Cannot save a zero-length message")
	}
	// RFC 6855 §4: a client that has not enabled UTF-8 sends no 8-bit
	// header; IMAP4rev2 allows UTF-8 headers (RFC 9051 §2.1).
	if utf8Item || c.utf8Accept || c.rev2 {
		return nil
	}
	eightBit := false
	if err := body.WithHeader(c.ctx, func(h []byte) error {
		eightBit = bytes.ContainsFunc(h, func(r rune) bool { return r >= 0x80 })
		return nil
	}); err != nil {
		return err
	}
	if eightBit {
		return noCode("CANNOT", "The message header has 8-bit characters; ENABLE UTF8=ACCEPT and send it as UTF8 data")
	}
	return nil
}

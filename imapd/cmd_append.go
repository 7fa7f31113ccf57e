package imapd

import (
	"errors"
	"time"

	"postern/storage"
)

// maxMultiAppend caps the messages of one MULTIAPPEND.
const maxMultiAppend = 1000

// APPEND with MULTIAPPEND (RFC 3502): every message of the command is
// committed in one transaction, or none is. The answer carries APPENDUID
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
		lr, err := p.LiteralStream(min(limit, budget))
		if err != nil {
			return err
		}
		size := lr.Size()
		// Spooled: a large message goes to data_dir as it arrives.
		body, err := st.SpoolBody(c.ctx, lr, limit)
		if err != nil {
			if derr := lr.Drain(); derr != nil {
				return derr
			}
			p.R.StartCommand()
			if errors.Is(err, storage.ErrTooBig) {
				return noCode("TOOBIG", "Message is larger than the limit of %d bytes", limit)
			}
			return err
		}
		p.R.StartCommand()
		if size == 0 {
			// A message has at least a header; an empty literal is a
			// client error, refused as other servers do.
			body.Close()
			return no("Cannot save a zero-length message")
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

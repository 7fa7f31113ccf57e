package imapd

import (
	"errors"

	"postern/storage"
)

// COPY and UID COPY (RFC 3501 §6.4.7) with COPYUID (RFC 4315).
func init() {
	register(&command{name: "COPY", states: onlySelected, handle: func(c *conn, r *request) error { return copyOrMove(c, r, false) }})
	register(&command{name: "UID COPY", states: onlySelected, handle: func(c *conn, r *request) error { return copyOrMove(c, r, false) }})
}

// copyOrMove is COPY and MOVE. MOVE (RFC 6851) reports COPYUID in an
// untagged OK before the EXPUNGEs, which come from the store's event.
func copyOrMove(c *conn, r *request, move bool) error {
	set, err := r.numSetArg()
	if err != nil {
		return err
	}
	p := r.p
	dest, err := p.Mailbox()
	if err != nil {
		return err
	}
	if err := r.end(); err != nil {
		return err
	}
	s := c.sel
	if move && s.readOnly {
		return errReadOnly
	}
	ms, ok := s.resolve(set)
	if !ok {
		return bad("Invalid message sequence number (the mailbox has %d messages)", len(s.uids))
	}
	st := c.srv.cfg.Store
	dst, err := st.Mailbox(c.ctx, c.acct.ID, dest)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			// RFC 3501 §6.4.7: TRYCREATE tells the client to CREATE it.
			return noCode("TRYCREATE", "Mailbox %q does not exist", dest)
		}
		return mailboxError(dest, err)
	}
	if len(ms) == 0 {
		return nil
	}
	var res storage.CopyResult
	if move {
		res, err = st.Move(c.ctx, s.id, uidsOf(ms), dst.ID)
	} else {
		res, err = st.Copy(c.ctx, s.id, uidsOf(ms), dst.ID)
	}
	if err != nil {
		return err
	}
	if len(res.SrcUIDs) == 0 {
		return nil
	}
	code := "COPYUID " + itoa(int64(res.UIDValidity)) + " " + uidListString(res.SrcUIDs) + " " + uidListString(res.DstUIDs)
	name := "COPY"
	if move {
		name = "MOVE"
	}
	if r.uid {
		name = "UID " + name
	}
	if move {
		c.enc.Raw("* OK [").Raw(code).Raw("] Moved").CRLF()
		return nil
	}
	return okCode(code, name+" completed")
}

// uidListString keeps the order of uids (COPYUID pairs source and
// destination UIDs by position, RFC 4315 §3), compressing runs.
func uidListString(uids []uint32) string {
	var b []byte
	for i := 0; i < len(uids); {
		j := i
		for j+1 < len(uids) && uids[j+1] == uids[j]+1 {
			j++
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, itoa(int64(uids[i]))...)
		if j > i {
			b = append(b, ':')
			b = append(b, itoa(int64(uids[j]))...)
		}
		i = j + 1
	}
	return string(b)
}

package imapd

import (
	"strings"

	"postern/storage"
)

// STORE and UID STORE (RFC 3501 §6.4.6).
func init() {
	register(&command{name: "STORE", states: onlySelected, noExpunge: true, handle: storeCommand})
	register(&command{name: "UID STORE", states: onlySelected, handle: storeCommand})
}

func storeCommand(c *conn, r *request) error {
	set, err := r.numSetArg()
	if err != nil {
		return err
	}
	p := r.p
	att, err := p.Atom()
	if err != nil {
		return err
	}
	att = strings.ToUpper(att)
	silent := strings.HasSuffix(att, ".SILENT")
	att = strings.TrimSuffix(att, ".SILENT")
	var op storage.FlagOp
	switch att {
	case "FLAGS":
		op = storage.FlagsReplace
	case "+FLAGS":
		op = storage.FlagsAdd
	case "-FLAGS":
		op = storage.FlagsRemove
	default:
		return bad("Expected FLAGS, +FLAGS or -FLAGS")
	}
	if err := p.SP(); err != nil {
		return err
	}
	flags, err := p.Flags()
	if err != nil {
		return err
	}
	if err := r.end(); err != nil {
		return err
	}
	s := c.sel
	if s.readOnly {
		return errReadOnly
	}
	ms, ok := s.resolve(set)
	if !ok {
		return bad("Invalid message sequence number (the mailbox has %d messages)", len(s.uids))
	}
	if len(ms) == 0 {
		return nil
	}
	names := make([]string, len(flags))
	for i, f := range flags {
		names[i] = string(f)
	}
	st := c.srv.cfg.Store
	uids := uidsOf(ms)
	changes, err := st.StoreFlags(c.ctx, s.id, uids, op, storage.ParseFlags(names))
	if err != nil {
		return err
	}
	if silent {
		return nil
	}
	// Every message named gets its flags back, changed or not. The
	// changed ones are in hand; the others are read.
	changed := make(map[uint32]storage.FlagSet, len(changes))
	for _, ch := range changes {
		changed[ch.UID] = ch.Flags
	}
	var rest []uint32
	for _, u := range uids {
		if _, ok := changed[u]; !ok {
			rest = append(rest, u)
		}
	}
	for start := 0; start < len(rest); start += fetchBatch {
		rows, err := st.FetchMessages(c.ctx, s.id, rest[start:min(start+fetchBatch, len(rest))], storage.FetchWant{})
		if err != nil {
			return err
		}
		for _, m := range rows {
			changed[m.UID] = m.Flags
		}
	}
	for _, m := range ms {
		fs, ok := changed[m.uid]
		if !ok {
			continue // expunged meanwhile
		}
		c.announceKeywords(fs)
		c.enc.Raw("* ").Number(m.seq).Raw(" FETCH (")
		if r.uid {
			c.enc.Raw("UID ").Number(m.uid).SP()
		}
		c.enc.Raw("FLAGS ")
		c.writeFlags(fs, s.isRecent(m.uid))
		c.enc.Raw(")").CRLF()
	}
	return c.enc.Err()
}

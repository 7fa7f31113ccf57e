package imapd

import (
	"postern/storage"
)

func init() {
	addCap("UIDPLUS", false)
	register(&command{name: "EXPUNGE", states: onlySelected, handle: func(c *conn, r *request) error {
		if err := r.end(); err != nil {
			return err
		}
		return expunge(c, nil)
	}})
	// UID EXPUNGE removes only the given messages, and only if they are
	// \Deleted (RFC 4315 §2.1).
	register(&command{name: "UID EXPUNGE", states: onlySelected, handle: func(c *conn, r *request) error {
		if err := r.p.SP(); err != nil {
			return err
		}
		set, err := r.p.NumSet(true)
		if err != nil {
			return err
		}
		if err := r.end(); err != nil {
			return err
		}
		if c.sel.readOnly {
			return errReadOnly
		}
		ms, _ := c.sel.resolve(set)
		if len(ms) == 0 {
			return nil
		}
		var deleted []uint32
		uids := uidsOf(ms)
		for start := 0; start < len(uids); start += fetchBatch {
			rows, err := c.srv.cfg.Store.FetchMessages(c.ctx, c.sel.id, uids[start:min(start+fetchBatch, len(uids))], storage.FetchWant{})
			if err != nil {
				return err
			}
			for _, m := range rows {
				if m.Flags.Has(storage.FlagDeleted) {
					deleted = append(deleted, m.UID)
				}
			}
		}
		if len(deleted) == 0 {
			return nil
		}
		return expunge(c, deleted)
	}})
}

// expunge removes messages; the untagged EXPUNGE responses come from the
// store's event, through the same poll as everyone else's, so each is
// reported exactly once.
func expunge(c *conn, uids []uint32) error {
	if c.sel.readOnly {
		return errReadOnly
	}
	_, err := c.srv.cfg.Store.Expunge(c.ctx, c.sel.id, uids)
	return err
}

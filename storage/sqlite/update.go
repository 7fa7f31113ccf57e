package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"postern/storage"
)

func sortUIDs(u []uint32) { slices.Sort(u) }

// uidSel selects messages of a mailbox: the listed UIDs, every \Deleted one, or all.
type uidSel struct {
	uids    []uint32
	deleted bool
	all     bool
}

var allUIDs = uidSel{all: true}

func (s uidSel) where() (string, []any) {
	switch {
	case s.all:
		return "", nil
	case s.deleted:
		return fmt.Sprintf(" AND (flags & %d) != 0", storage.FlagDeleted), nil
	default:
		list, _ := json.Marshal(s.uids)
		return " AND uid IN (SELECT value FROM json_each(?))", []any{string(list)}
	}
}

// StoreFlags changes the flags of the given messages. Only messages whose flags
// really change get a new MODSEQ and appear in the result and in the event.
func (s *Store) StoreFlags(ctx context.Context, mailboxID int64, uids []uint32, op storage.FlagOp, flags storage.FlagSet) ([]storage.FlagChange, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	var changes []storage.FlagChange
	err := s.writeFreeing(ctx, func(t *tx) error {
		changes = changes[:0]
		mb, err := mailboxByIDTx(t, mailboxID)
		if err != nil {
			return err
		}
		where, args := uidSel{uids: uids}.where()
		rows, err := t.Query(`SELECT uid, flags, keywords FROM messages WHERE mailbox_id=?`+where+` ORDER BY uid`,
			append([]any{mailboxID}, args...)...)
		if err != nil {
			return err
		}
		modseq := mb.HighestModSeq + 1
		for rows.Next() {
			var uid uint32
			var cur storage.FlagSet
			var kw string
			if err := rows.Scan(&uid, &cur.System, &kw); err != nil {
				rows.Close()
				return err
			}
			cur.Keywords = decodeKeywords(kw)
			next := cur.Apply(op, flags)
			if !next.Equal(cur) {
				changes = append(changes, storage.FlagChange{UID: uid, Flags: next, ModSeq: modseq})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		stmt, err := t.Prepare(`UPDATE messages SET flags=?, keywords=?, modseq=? WHERE mailbox_id=? AND uid=?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		ev := storage.Event{Kind: storage.EventFlags, AccountID: mb.AccountID, MailboxID: mb.ID, Mailbox: mb.Name, ModSeq: modseq,
			UIDs: make([]uint32, len(changes)), Flags: make([]storage.FlagSet, len(changes)), ModSeqs: make([]uint64, len(changes))}
		for i, c := range changes {
			if _, err := stmt.Exec(int(c.Flags.System), encodeKeywords(c.Flags.Keywords), modseq, mailboxID, c.UID); err != nil {
				return err
			}
			ev.UIDs[i], ev.Flags[i], ev.ModSeqs[i] = c.UID, c.Flags, modseq
		}
		if _, err := t.Exec(`UPDATE mailboxes SET highestmodseq=? WHERE id=?`, modseq, mailboxID); err != nil {
			return err
		}
		t.publish(ev)
		return nil
	})
	return changes, err
}

// Copy copies messages to another mailbox of the same account. The body is not
// copied: the new rows point at it. Flags are kept; the copies are \Recent.
func (s *Store) Copy(ctx context.Context, srcMailboxID int64, uids []uint32, dstMailboxID int64) (storage.CopyResult, error) {
	var res storage.CopyResult
	err := s.write(ctx, func(t *tx) error {
		src, dst, err := copyPair(t, srcMailboxID, dstMailboxID)
		if err != nil {
			return err
		}
		res, err = copyTx(t, src, uidSel{uids: uids}, dst)
		return err
	})
	return res, err
}

// Move copies messages and expunges them from the source, in one transaction
// (RFC 6851).
func (s *Store) Move(ctx context.Context, srcMailboxID int64, uids []uint32, dstMailboxID int64) (storage.CopyResult, error) {
	var res storage.CopyResult
	err := s.writeFreeing(ctx, func(t *tx) error {
		src, dst, err := copyPair(t, srcMailboxID, dstMailboxID)
		if err != nil {
			return err
		}
		res, err = moveTx(t, src, uidSel{uids: uids}, dst)
		return err
	})
	return res, err
}

func copyPair(t *tx, srcID, dstID int64) (storage.Mailbox, storage.Mailbox, error) {
	src, err := mailboxByIDTx(t, srcID)
	if err != nil {
		return src, storage.Mailbox{}, err
	}
	dst, err := mailboxByIDTx(t, dstID)
	if err != nil {
		return src, dst, err
	}
	if src.AccountID != dst.AccountID {
		return src, dst, fmt.Errorf("copy between accounts: %w", storage.ErrNotFound)
	}
	return src, dst, nil
}

func moveTx(t *tx, src storage.Mailbox, sel uidSel, dst storage.Mailbox) (storage.CopyResult, error) {
	res, err := copyTx(t, src, sel, dst)
	if err != nil || len(res.SrcUIDs) == 0 {
		return res, err
	}
	_, err = expungeTx(t, src, uidSel{uids: res.SrcUIDs}, true)
	return res, err
}

func copyTx(t *tx, src storage.Mailbox, sel uidSel, dst storage.Mailbox) (storage.CopyResult, error) {
	res := storage.CopyResult{UIDValidity: dst.UIDValidity}
	where, args := sel.where()
	rows, err := t.Query(`SELECT uid, flags, keywords, internal_date, size, body_id FROM messages WHERE mailbox_id=?`+where+` ORDER BY uid`,
		append([]any{src.ID}, args...)...)
	if err != nil {
		return res, err
	}
	type row struct {
		uid        uint32
		flags      int
		kw         string
		date, size int64
		bodyID     int64
	}
	var list []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.uid, &r.flags, &r.kw, &r.date, &r.size, &r.bodyID); err != nil {
			rows.Close()
			return res, err
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(list) == 0 {
		return res, err
	}
	ins, err := t.Prepare(`INSERT INTO messages(mailbox_id, uid, modseq, flags, keywords, recent, internal_date, size, body_id) VALUES(?,?,?,?,?,1,?,?,?)`)
	if err != nil {
		return res, err
	}
	defer ins.Close()
	ref, err := t.Prepare(`UPDATE bodies SET refs=refs+1 WHERE id=?`)
	if err != nil {
		return res, err
	}
	defer ref.Close()
	modseq := dst.HighestModSeq + 1
	uid := dst.UIDNext
	for _, r := range list {
		if _, err := ins.Exec(dst.ID, uid, modseq, r.flags, r.kw, r.date, r.size, r.bodyID); err != nil {
			return res, err
		}
		if _, err := ref.Exec(r.bodyID); err != nil {
			return res, err
		}
		res.SrcUIDs = append(res.SrcUIDs, r.uid)
		res.DstUIDs = append(res.DstUIDs, uid)
		uid++
	}
	if _, err := t.Exec(`UPDATE mailboxes SET uidnext=?, highestmodseq=? WHERE id=?`, uid, modseq, dst.ID); err != nil {
		return res, err
	}
	t.publish(storage.Event{Kind: storage.EventAppend, AccountID: dst.AccountID, MailboxID: dst.ID, Mailbox: dst.Name, UIDs: res.DstUIDs, ModSeq: modseq})
	return res, nil
}

// Expunge removes messages from a mailbox: the given UIDs, or with uids == nil
// every message flagged \Deleted. It returns the UIDs removed.
func (s *Store) Expunge(ctx context.Context, mailboxID int64, uids []uint32) ([]uint32, error) {
	sel := uidSel{uids: uids}
	if uids == nil {
		sel = uidSel{deleted: true}
	} else if len(uids) == 0 {
		return nil, nil
	}
	var out []uint32
	err := s.writeFreeing(ctx, func(t *tx) error {
		mb, err := mailboxByIDTx(t, mailboxID)
		if err != nil {
			return err
		}
		out, err = expungeTx(t, mb, sel, true)
		return err
	})
	return out, err
}

// expungeTx removes the selected messages and, with record, keeps their
// UIDs in the expunge history (not for a mailbox about to be deleted).
func expungeTx(t *tx, mb storage.Mailbox, sel uidSel, record bool) ([]uint32, error) {
	where, args := sel.where()
	rows, err := t.Query(`DELETE FROM messages WHERE mailbox_id=?`+where+` RETURNING uid, body_id`, append([]any{mb.ID}, args...)...)
	if err != nil {
		return nil, err
	}
	var uids []uint32
	bodies := map[int64]int{}
	for rows.Next() {
		var uid uint32
		var bid int64
		if err := rows.Scan(&uid, &bid); err != nil {
			rows.Close()
			return nil, err
		}
		uids = append(uids, uid)
		bodies[bid]++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(uids) == 0 {
		return nil, nil
	}
	for bid, n := range bodies {
		if err := releaseBodyTx(t, bid, n); err != nil {
			return nil, err
		}
	}
	sortUIDs(uids)
	// RFC 7162 §3.1.1: an expunge raises HIGHESTMODSEQ too.
	var modseq uint64
	if err := t.QueryRow(`UPDATE mailboxes SET highestmodseq=highestmodseq+1 WHERE id=? RETURNING highestmodseq`, mb.ID).Scan(&modseq); err != nil {
		return nil, err
	}
	if record {
		if err := recordExpunge(t, mb.ID, modseq, uids); err != nil {
			return nil, err
		}
	}
	t.publish(storage.Event{Kind: storage.EventExpunge, AccountID: mb.AccountID, MailboxID: mb.ID, Mailbox: mb.Name, UIDs: uids, ModSeq: modseq})
	return uids, nil
}

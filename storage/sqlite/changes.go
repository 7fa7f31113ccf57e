package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"postern/storage"
)

// logEvents writes a request's events to the change log, in its
// transaction, and gives each its position. The node id and origin are
// 64-bit values stored as SQLite's signed integers, bit for bit.
func (s *Store) logEvents(t *sql.Tx, events []storage.Event) error {
	at := time.Now().UnixMilli()
	for i := range events {
		e := &events[i]
		res, err := t.Exec(`INSERT INTO changes(node, at, origin, account_id, mailbox_id, kind, modseq, data) VALUES(?,?,?,?,?,?,?,?)`,
			int64(s.node), at, int64(e.Origin), e.AccountID, e.MailboxID, int(e.Kind), int64(e.ModSeq), storage.EncodeChange(e))
		if err != nil {
			return fmt.Errorf("storage: writing the change log: %w", err)
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("storage: writing the change log: %w", err)
		}
		e.Seq = uint64(seq)
	}
	return nil
}

// ChangesAfter implements storage.ChangeLog. The entries are read before
// the pruning mark: a prune that lands in between is then seen, and the
// reader resyncs rather than miss what it removed.
func (s *Store) ChangesAfter(ctx context.Context, pos uint64, limit int) ([]storage.Change, error) {
	ctx = ctxOrBackground(ctx)
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, node, at, origin, account_id, mailbox_id, kind, modseq, data
		FROM changes WHERE seq > ? ORDER BY seq LIMIT ?`, int64(pos), limit)
	if err != nil {
		return nil, err
	}
	var out []storage.Change
	for rows.Next() {
		var c storage.Change
		var seq, node, at, origin, modseq int64
		var kind int
		var data []byte
		if err := rows.Scan(&seq, &node, &at, &origin, &c.AccountID, &c.MailboxID, &kind, &modseq, &data); err != nil {
			rows.Close()
			return nil, err
		}
		c.Seq, c.Node, c.Origin, c.ModSeq = uint64(seq), uint64(node), uint64(origin), uint64(modseq)
		c.Kind = storage.EventKind(kind)
		c.Time = time.UnixMilli(at)
		if err := storage.DecodeChange(&c.Event, data); err != nil {
			// A damaged entry must not stop the reader for good: it
			// is handed on as unreadable (kind 0), and the reader
			// resyncs past it.
			c.Event = storage.Event{Seq: c.Seq, AccountID: c.AccountID, MailboxID: c.MailboxID}
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var pruned int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT value FROM meta WHERE key='changes_pruned'`).Scan(&pruned); err != nil {
		return nil, err
	}
	if uint64(pruned) > pos {
		return nil, fmt.Errorf("position %d, pruned up to %d: %w", pos, pruned, storage.ErrChangesPruned)
	}
	return out, nil
}

// LastChange implements storage.ChangeLog.
func (s *Store) LastChange(ctx context.Context) (uint64, error) {
	var last int64
	err := s.rdb.QueryRowContext(ctxOrBackground(ctx), `SELECT max(coalesce((SELECT max(seq) FROM changes), 0),
		(SELECT value FROM meta WHERE key='changes_pruned'))`).Scan(&last)
	return uint64(last), err
}

// PruneChanges implements storage.ChangeLog.
func (s *Store) PruneChanges(ctx context.Context, through uint64) error {
	return s.writeFreeing(ctx, func(t *tx) error {
		if _, err := t.Exec(`DELETE FROM changes WHERE seq <= ?`, int64(through)); err != nil {
			return err
		}
		_, err := t.Exec(`UPDATE meta SET value=max(value, ?) WHERE key='changes_pruned'`, int64(through))
		return err
	})
}

// CompactExpunges implements storage.ChangeLog: the expunges before the
// cutoff go, and each mailbox's floor rises to the highest MODSEQ among
// them, so that VanishedSince says when its answer may be short.
func (s *Store) CompactExpunges(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.writeFreeing(ctx, func(t *tx) error {
		cut := before.UnixMilli()
		if _, err := t.Exec(`UPDATE mailboxes SET vanished_floor = max(vanished_floor,
			(SELECT max(modseq) FROM vanished v WHERE v.mailbox_id = mailboxes.id AND v.at < ?1))
			WHERE id IN (SELECT mailbox_id FROM vanished WHERE at < ?1)`, cut); err != nil {
			return err
		}
		res, err := t.Exec(`DELETE FROM vanished WHERE at < ?`, cut)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// recordExpunge keeps the UIDs an expunge removed, with the mailbox's
// MODSEQ after it (storage.History).
func recordExpunge(t *tx, mailboxID int64, modseq uint64, uids []uint32) error {
	_, err := t.Exec(`INSERT INTO vanished(mailbox_id, modseq, at, uids) VALUES(?,?,?,?)`,
		mailboxID, int64(modseq), time.Now().UnixMilli(), storage.AppendUIDs(nil, uids))
	return err
}

// VanishedSince implements storage.History.
func (s *Store) VanishedSince(ctx context.Context, mailboxID int64, modseq uint64) ([]uint32, bool, error) {
	ctx = ctxOrBackground(ctx)
	var floor, acct int64
	err := s.rdb.QueryRowContext(ctx, `SELECT vanished_floor, account_id FROM mailboxes WHERE id=?`, mailboxID).Scan(&floor, &acct)
	if err == nil {
		err = storage.CheckScope(ctx, storage.Mailbox{ID: mailboxID, AccountID: acct})
	} else if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("mailbox id %d: %w", mailboxID, storage.ErrNotFound)
	}
	if err != nil {
		return nil, false, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT uids FROM vanished WHERE mailbox_id=? AND modseq > ? ORDER BY modseq`, mailboxID, int64(modseq))
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, false, err
		}
		uids, err := storage.DecodeUIDs(data)
		if err != nil {
			return nil, false, fmt.Errorf("expunge history of mailbox %d: %w", mailboxID, err)
		}
		out = append(out, uids...)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	slices.Sort(out)
	return slices.Compact(out), modseq >= uint64(floor), nil
}

// ChangedSince implements storage.History.
func (s *Store) ChangedSince(ctx context.Context, mailboxID int64, modseq uint64) ([]storage.FlagChange, error) {
	ctx = ctxOrBackground(ctx)
	mb, args := mailboxArg(ctx, mailboxID)
	rows, err := s.rdb.QueryContext(ctx, `SELECT uid, flags, keywords, modseq FROM messages
		WHERE mailbox_id=`+mb+` AND modseq > ? ORDER BY uid`, append(args, int64(modseq))...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.FlagChange
	for rows.Next() {
		var c storage.FlagChange
		var kw string
		if err := rows.Scan(&c.UID, &c.Flags.System, &kw, &c.ModSeq); err != nil {
			return nil, err
		}
		c.Flags.Keywords = decodeKeywords(kw)
		out = append(out, c)
	}
	return out, rows.Err()
}

// accountState says whether an account may keep its sessions (a resync
// of the change log asks).
func (s *Store) accountState(ctx context.Context, accountID int64) error {
	var disabled bool
	err := s.rdb.QueryRowContext(ctxOrBackground(ctx), `SELECT disabled FROM accounts WHERE id=?`, accountID).Scan(&disabled)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return storage.ErrAccountDeleted
	case err != nil:
		return nil // unknown: the sessions stay, and resync
	case disabled:
		return storage.ErrAccountDisabled
	}
	return nil
}

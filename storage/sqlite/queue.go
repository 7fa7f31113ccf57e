package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"postern/storage"
)

// The outbound queue lives in the same database as the mailboxes, so that a
// message for local and remote recipients is stored and queued in one
// transaction: the SMTP 250 covers both, and a crash keeps both or neither.
// One entry holds one message for the recipients of one domain; its body is
// the content-addressed body the local copies use, with one more reference.

// Accept stores local copies and queues remote ones in one durable transaction.
// Either everything is committed (and the caller may answer 250) or nothing is.
func (s *Store) Accept(ctx context.Context, appends []storage.AppendItem, queue []storage.QueueItem) ([]storage.AppendResult, error) {
	var results []storage.AppendResult
	err := s.write(ctx, func(t *tx) error {
		var err error
		if len(appends) > 0 {
			if results, err = appendTx(t, appends); err != nil {
				return err
			}
		}
		return enqueueTx(t, queue)
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// Enqueue queues messages for remote recipients, durably.
func (s *Store) Enqueue(ctx context.Context, items ...storage.QueueItem) error {
	_, err := s.Accept(ctx, nil, items)
	return err
}

func enqueueTx(t *tx, items []storage.QueueItem) error {
	now := time.Now()
	for i, it := range items {
		if it.Body == nil {
			return fmt.Errorf("queue item %d: no body", i)
		}
		if len(it.Recipients) == 0 {
			return fmt.Errorf("queue item %d: no recipients", i)
		}
		groups, err := it.ByDomain()
		if err != nil {
			return err
		}
		next := it.NextAttempt
		if next.IsZero() {
			next = now
		}
		for _, g := range groups {
			d := g.Domain
			bid, err := putBody(t, it.Body)
			if err != nil {
				return err
			}
			res, err := t.Exec(`INSERT INTO queue(msg_id, domain, sender, origin, body_id, envid, ret, utf8, require_tls, created, next_attempt)
				VALUES(?,?,?,?,?,?,?,?,?,?,?)`, it.MsgID, d, it.From, it.Origin, bid, it.EnvelopeID, it.Return, it.UTF8, it.RequireTLS,
				now.UnixMilli(), next.UnixMilli())
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			for n, r := range g.Recipients {
				if _, err := t.Exec(`INSERT INTO queue_rcpts(queue_id, n, address, notify, orcpt) VALUES(?,?,?,?,?)`,
					id, n, r.Address, strings.Join(r.Notify, ","), r.ORCPT); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

const queueCols = `q.id, q.msg_id, q.domain, q.sender, q.origin, q.body_id, b.size, q.envid, q.ret, q.utf8, q.require_tls,
	q.created, q.next_attempt, q.last_attempt, q.attempts, q.last_error`

// loadQueue reads the entries matched by where (over queue q) with their recipients.
func (s *Store) loadQueue(ctx context.Context, where string, args ...any) ([]storage.QueueEntry, error) {
	ctx = ctxOrBackground(ctx)
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+queueCols+` FROM queue q JOIN bodies b ON b.id=q.body_id `+where, args...)
	if err != nil {
		return nil, err
	}
	var out []storage.QueueEntry
	index := map[int64]int{}
	for rows.Next() {
		var e storage.QueueEntry
		var created, next, last int64
		if err := rows.Scan(&e.ID, &e.MsgID, &e.Domain, &e.From, &e.Origin, &e.BodyID, &e.Size, &e.EnvelopeID, &e.Return, &e.UTF8,
			&e.RequireTLS, &created, &next, &last, &e.Attempts, &e.LastError); err != nil {
			rows.Close()
			return nil, err
		}
		e.Created, e.NextAttempt = time.UnixMilli(created), time.UnixMilli(next)
		if last != 0 {
			e.LastAttempt = time.UnixMilli(last)
		}
		index[e.ID] = len(out)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]string, 0, len(out))
	for _, e := range out {
		ids = append(ids, fmt.Sprint(e.ID))
	}
	rrows, err := s.rdb.QueryContext(ctx, `SELECT queue_id, n, address, notify, orcpt, status, code, error, delay_sent
		FROM queue_rcpts WHERE queue_id IN (SELECT value FROM json_each(?)) ORDER BY queue_id, n`, "["+strings.Join(ids, ",")+"]")
	if err != nil {
		return nil, err
	}
	defer rrows.Close()
	for rrows.Next() {
		var id int64
		var r storage.QueueRcpt
		var notify string
		if err := rrows.Scan(&id, &r.N, &r.Address, &notify, &r.ORCPT, &r.Status, &r.Code, &r.Error, &r.DelaySent); err != nil {
			return nil, err
		}
		if notify != "" {
			r.Notify = strings.Split(notify, ",")
		}
		if i, ok := index[id]; ok {
			out[i].Recipients = append(out[i].Recipients, r)
		}
	}
	return out, rrows.Err()
}

// QueueDue returns up to limit entries whose next attempt is at or before now,
// oldest due first.
func (s *Store) QueueDue(ctx context.Context, now time.Time, limit int) ([]storage.QueueEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	return s.loadQueue(ctx, `WHERE q.next_attempt<=? ORDER BY q.next_attempt, q.id LIMIT ?`, now.UnixMilli(), limit)
}

// QueueNext returns the earliest next-attempt time in the queue; ok is false
// when the queue is empty.
func (s *Store) QueueNext(ctx context.Context) (next time.Time, ok bool, err error) {
	var ms sql.NullInt64
	if err := s.rdb.QueryRowContext(ctxOrBackground(ctx), `SELECT min(next_attempt) FROM queue`).Scan(&ms); err != nil {
		return time.Time{}, false, err
	}
	if !ms.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(ms.Int64), true, nil
}

// QueueList returns every queue entry, oldest first.
func (s *Store) QueueList(ctx context.Context) ([]storage.QueueEntry, error) {
	return s.loadQueue(ctx, `ORDER BY q.created, q.id`)
}

// QueueEntry returns one queue entry; ErrNotFound if it is gone.
func (s *Store) QueueEntry(ctx context.Context, id int64) (storage.QueueEntry, error) {
	list, err := s.loadQueue(ctx, `WHERE q.id=?`, id)
	if err != nil {
		return storage.QueueEntry{}, err
	}
	if len(list) == 0 {
		return storage.QueueEntry{}, fmt.Errorf("queue entry %d: %w", id, storage.ErrNotFound)
	}
	return list[0], nil
}

// QueueAttempt claims entries for an attempt and records it, durably and
// before connecting. Only entries still due at now are claimed (their ids are
// returned): an entry another attempt claimed meanwhile is left alone, so no
// two attempts carry the same entry. retry is when the entries become due
// again if the process dies during the attempt, so a crash cannot turn into a
// tight redelivery loop.
func (s *Store) QueueAttempt(ctx context.Context, ids []int64, now, retry time.Time) ([]int64, error) {
	var claimed []int64
	err := s.write(ctx, func(t *tx) error {
		claimed = claimed[:0]
		for _, id := range ids {
			res, err := t.Exec(`UPDATE queue SET attempts=attempts+1, last_attempt=?, next_attempt=? WHERE id=? AND next_attempt<=?`,
				now.UnixMilli(), retry.UnixMilli(), id, now.UnixMilli())
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				claimed = append(claimed, id)
			}
		}
		return nil
	})
	return claimed, err
}

// QueueUpdate records the results of an attempt, together with any notices.
// When no recipient is left pending the entry is removed and its body
// reference released; removed reports that.
func (s *Store) QueueUpdate(ctx context.Context, u storage.QueueUpdate) (removed bool, err error) {
	err = s.write(ctx, func(t *tx) error {
		var bodyID int64
		if err := t.QueryRow(`SELECT body_id FROM queue WHERE id=?`, u.ID).Scan(&bodyID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("queue entry %d: %w", u.ID, storage.ErrNotFound)
			}
			return err
		}
		for _, r := range u.Rcpts {
			if _, err := t.Exec(`UPDATE queue_rcpts SET status=?, code=?, error=?, delay_sent=delay_sent OR ? WHERE queue_id=? AND n=?`,
				r.Status, r.Code, r.Error, r.DelaySent, u.ID, r.N); err != nil {
				return err
			}
		}
		if _, err := t.Exec(`UPDATE queue SET next_attempt=?, last_error=? WHERE id=?`, u.NextAttempt.UnixMilli(), u.LastError, u.ID); err != nil {
			return err
		}
		if err := noticeTx(t, u.Notice); err != nil {
			return err
		}
		var pending int
		if err := t.QueryRow(`SELECT count(*) FROM queue_rcpts WHERE queue_id=? AND status=0`, u.ID).Scan(&pending); err != nil {
			return err
		}
		if pending > 0 {
			return nil
		}
		removed = true
		return removeQueueTx(t, u.ID, bodyID)
	})
	return removed, err
}

func noticeTx(t *tx, n storage.Notice) error {
	if len(n.Append) > 0 {
		if _, err := appendTx(t, n.Append); err != nil {
			return err
		}
	}
	return enqueueTx(t, n.Queue)
}

// removeQueueTx deletes an entry and releases its body, deleting the body when
// nothing else refers to it (as expunge does).
func removeQueueTx(t *tx, id, bodyID int64) error {
	if _, err := t.Exec(`DELETE FROM queue WHERE id=?`, id); err != nil {
		return err
	}
	return releaseBodyTx(t, bodyID, 1)
}

// QueueRetry makes one entry (id > 0) or every entry (id == 0) due at now and
// returns how many it changed; ErrNotFound if the one entry does not exist.
func (s *Store) QueueRetry(ctx context.Context, id int64, now time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(t *tx) error {
		var res sql.Result
		var err error
		if id == 0 {
			res, err = t.Exec(`UPDATE queue SET next_attempt=?`, now.UnixMilli())
		} else {
			res, err = t.Exec(`UPDATE queue SET next_attempt=? WHERE id=?`, now.UnixMilli(), id)
		}
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		if id != 0 && n == 0 {
			return fmt.Errorf("queue entry %d: %w", id, storage.ErrNotFound)
		}
		return nil
	})
	return int(n), err
}

// QueueDrop removes an entry without delivering it, committing notice (a
// bounce to the sender, or nothing) in the same transaction.
func (s *Store) QueueDrop(ctx context.Context, id int64, notice storage.Notice) error {
	return s.write(ctx, func(t *tx) error {
		var bodyID int64
		if err := t.QueryRow(`SELECT body_id FROM queue WHERE id=?`, id).Scan(&bodyID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("queue entry %d: %w", id, storage.ErrNotFound)
			}
			return err
		}
		if err := noticeTx(t, notice); err != nil {
			return err
		}
		return removeQueueTx(t, id, bodyID)
	})
}

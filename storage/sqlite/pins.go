package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// bodyPins counts the open BodyReaders of each body in this process. FETCH
// and RETR stream a body chunk by chunk without holding a transaction, so
// the last reference to it may go (an expunge, a delivered queue entry)
// while a client is still reading. Such a body is not deleted then: it
// waits, unreferenced, until its last reader closes. Since body ids are
// never reused, a reader in another process that loses the race gets a
// clean "not found", never another message's bytes.
type bodyPins struct {
	mu      sync.Mutex
	readers map[int64]int      // open readers per body
	dying   map[int64]int      // deletions in transactions not yet ended
	waiting map[int64]struct{} // unreferenced, kept for their readers
}

// pin registers a reader of body id. It fails while a transaction that
// deletes the body has not ended: the reader would see the body vanish.
func (p *bodyPins) pin(id int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dying[id] > 0 {
		return false
	}
	if p.readers == nil {
		p.readers = make(map[int64]int)
	}
	p.readers[id]++
	return true
}

// unpin ends a reader; purge reports that it was the last reader of a body
// that lost its last reference meanwhile, which is now to be deleted.
func (p *bodyPins) unpin(id int64) (purge bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.readers[id]--; p.readers[id] > 0 {
		return false
	}
	delete(p.readers, id)
	if _, ok := p.waiting[id]; ok {
		delete(p.waiting, id)
		return true
	}
	return false
}

// startDelete is asked before deleting an unreferenced body: it refuses
// while the body has readers (and keeps it waiting for them), else marks
// a deletion in progress until endDelete.
func (p *bodyPins) startDelete(id int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.readers[id] > 0 {
		if p.waiting == nil {
			p.waiting = make(map[int64]struct{})
		}
		p.waiting[id] = struct{}{}
		return false
	}
	if p.dying == nil {
		p.dying = make(map[int64]int)
	}
	p.dying[id]++
	return true
}

func (p *bodyPins) endDelete(id int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dying[id]--; p.dying[id] <= 0 {
		delete(p.dying, id)
	}
}

// releaseBodyTx drops n references to a body and deletes it when none is
// left, unless a reader of this process holds it: then it waits for the
// reader (see bodyPins). Every path that drops a body reference goes here.
func releaseBodyTx(t *tx, bodyID int64, n int) error {
	var refs int64
	err := t.QueryRow(`UPDATE bodies SET refs=refs-? WHERE id=? RETURNING refs`, n, bodyID).Scan(&refs)
	if errors.Is(err, sql.ErrNoRows) || err == nil && refs > 0 {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = deleteUnreferencedTx(t, bodyID)
	return err
}

// deleteUnreferencedTx deletes a body that nothing refers to, with its
// chunks and search row (ON DELETE CASCADE), if no reader holds it.
func deleteUnreferencedTx(t *tx, bodyID int64) (deleted bool, err error) {
	pins := &t.store.pins
	if !pins.startDelete(bodyID) {
		return false, nil
	}
	t.atEnd(func() { pins.endDelete(bodyID) })
	// refs may have grown again since it was counted: the same message
	// delivered anew takes the stored body back (putBody).
	res, err := t.Exec(`DELETE FROM bodies WHERE id=? AND refs<=0`, bodyID)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// purgeBody deletes a body whose last reader has closed, if it is still
// unreferenced. If the store is closed first, the body stays until
// DeleteUnreferencedBodies runs at the next start.
func (s *Store) purgeBody(bodyID int64) {
	s.writeFreeing(context.Background(), func(t *tx) error {
		_, err := deleteUnreferencedTx(t, bodyID)
		return err
	})
}

// DeleteUnreferencedBodies deletes the bodies nothing refers to that no
// reader of this process holds: those a reader kept when the process
// stopped before it closed. The server runs it at start. It returns how
// many were deleted.
func (s *Store) DeleteUnreferencedBodies(ctx context.Context) (int, error) {
	var ids []int64
	rows, err := s.rdb.QueryContext(ctxOrBackground(ctx), `SELECT id FROM bodies WHERE refs<=0`)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return 0, err
	}
	n := 0
	err = s.writeFreeing(ctx, func(t *tx) error {
		n = 0
		for _, id := range ids {
			deleted, err := deleteUnreferencedTx(t, id)
			if err != nil {
				return err
			}
			if deleted {
				n++
			}
		}
		return nil
	})
	return n, err
}

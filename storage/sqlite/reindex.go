package sqlite

import (
	"context"
	"errors"
	"fmt"

	"postern/mimeinfo"
	"postern/storage"
)

// StaleBodies implements storage.Reindexer. While meta analysis_min is
// the current version it answers at once; else it counts (a scan of the
// bodies, after an upgrade), and when none is stale it records that.
func (s *Store) StaleBodies(ctx context.Context) (int, error) {
	ctx = ctxOrBackground(ctx)
	var low int
	if err := s.rdb.QueryRowContext(ctx, `SELECT value FROM meta WHERE key='analysis_min'`).Scan(&low); err != nil {
		return 0, err
	}
	if low >= mimeinfo.Version {
		return 0, nil
	}
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM bodies WHERE analysis < ?`, mimeinfo.Version).Scan(&n); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, s.analysisDone(ctx)
	}
	return n, nil
}

// analysisDone records that every body has the current analysis. Bodies
// are always stored with it, so none can become stale after.
func (s *Store) analysisDone(ctx context.Context) error {
	return s.write(ctx, func(t *tx) error {
		_, err := t.Exec(`UPDATE meta SET value=max(value, ?) WHERE key='analysis_min'`, mimeinfo.Version)
		return err
	})
}

// reindexBytes bounds what one batch of ReindexBodies holds in memory
// besides the body being analysed: the new columns of the batch.
const reindexBytes = 16 << 20

// ReindexBodies implements storage.Reindexer. The stale bodies are found
// in id order from after on; each is read and analysed outside any
// transaction, one at a time, and the batch is written in one short
// transaction, so that the server's writes wait for a few milliseconds at
// most. A body is never changed once stored (its id names its content),
// so one deleted meanwhile is merely skipped.
func (s *Store) ReindexBodies(ctx context.Context, after int64, limit int) (int, int64, error) {
	ctx = ctxOrBackground(ctx)
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT id FROM bodies WHERE id > ? AND analysis < ? ORDER BY id LIMIT ?`, after, mimeinfo.Version, limit)
	if err != nil {
		return 0, after, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, after, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, after, err
	}
	if len(ids) == 0 {
		if after == 0 {
			return 0, 0, s.analysisDone(ctx)
		}
		return 0, after, nil
	}
	type result struct {
		id     int64
		header []byte
		info   *mimeinfo.Info
	}
	var batch []result
	held := 0
	last := after
	for _, id := range ids {
		last = id
		data, err := s.ReadBody(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return 0, after, fmt.Errorf("reindex: body %d: %w", id, err)
		}
		info := mimeinfo.Parse(data)
		header := append([]byte(nil), data[:info.HeaderLen]...)
		batch = append(batch, result{id, header, info})
		held += len(header) + len(info.Envelope) + len(info.Body) + len(info.BodyStructure)
		if held >= reindexBytes {
			break
		}
	}
	err = s.write(ctx, func(t *tx) error {
		for _, r := range batch {
			in := r.info
			if _, err := t.Exec(`UPDATE bodies SET header_len=?, header=?, envelope=?, body=?, bodystructure=?, analysis=? WHERE id=?`,
				in.HeaderLen, r.header, in.Envelope, in.Body, in.BodyStructure, mimeinfo.Version, r.id); err != nil {
				return err
			}
			if _, err := t.Exec(`UPDATE body_search SET (`+searchColumns+`) = (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) WHERE body_id=?`,
				append(searchValues(in), r.id)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, after, fmt.Errorf("reindex: %w", err)
	}
	// Those skipped count as looked at: the caller goes on after last.
	return max(len(batch), 1), last, nil
}

package sqlite

import (
	"context"
	"errors"
	"fmt"

	"postern/mimeinfo"
	"postern/storage"
)

// StaleBodies implements storage.Reindexer.
func (s *Store) StaleBodies(ctx context.Context) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctxOrBackground(ctx), `SELECT count(*) FROM bodies WHERE analysis < ?`, mimeinfo.Version).Scan(&n)
	return n, err
}

// reindexBytes bounds what one batch of ReindexBodies holds in memory
// besides the body being analysed: the new columns of the batch.
const reindexBytes = 16 << 20

// ReindexBodies implements storage.Reindexer. The stale bodies are found
// through the index on analysis (which holds the id too), oldest analysis
// first; each is read and analysed outside any transaction, one at a time,
// and the batch is written in one short transaction, so that the server's
// writes wait for a few milliseconds at most. A body is never changed
// once stored (its id names its content), so one deleted meanwhile is
// merely skipped.
func (s *Store) ReindexBodies(ctx context.Context, limit int) (int, error) {
	ctx = ctxOrBackground(ctx)
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT id FROM bodies WHERE analysis < ? ORDER BY analysis, id LIMIT ?`, mimeinfo.Version, limit)
	if err != nil {
		return 0, err
	}
	var ids []int64
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
	type result struct {
		id     int64
		header []byte
		info   *mimeinfo.Info
	}
	var batch []result
	held := 0
	for _, id := range ids {
		data, err := s.ReadBody(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return 0, fmt.Errorf("reindex: body %d: %w", id, err)
		}
		info := mimeinfo.Parse(data)
		header := append([]byte(nil), data[:info.HeaderLen]...)
		batch = append(batch, result{id, header, info})
		held += len(header) + len(info.Envelope) + len(info.Body) + len(info.BodyStructure)
		if held >= reindexBytes {
			break
		}
	}
	if len(batch) == 0 {
		// Every body of the batch went meanwhile: the next call finds
		// others, or none.
		return len(ids), nil
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
		return 0, fmt.Errorf("reindex: %w", err)
	}
	return len(batch), nil
}

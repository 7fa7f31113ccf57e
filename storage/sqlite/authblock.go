package sqlite

import (
	"context"
	"time"

	"postern/storage"
)

// PutAuthBlock records a lockout, replacing one of the same source and
// account, and forgets lockouts that have ended.
func (s *Store) PutAuthBlock(ctx context.Context, b storage.AuthBlock) error {
	return s.write(ctx, func(t *tx) error {
		if _, err := t.Exec(`DELETE FROM auth_blocks WHERE until <= ?`, b.Created.Unix()); err != nil {
			return err
		}
		_, err := t.Exec(`INSERT OR REPLACE INTO auth_blocks(source, account, until, failures, reason, created) VALUES(?,?,?,?,?,?)`,
			b.Source, b.Account, b.Until.Unix(), b.Failures, b.Reason, b.Created.Unix())
		return err
	})
}

// AuthBlocks lists the lockouts still in force at now, by source.
func (s *Store) AuthBlocks(ctx context.Context, now time.Time) ([]storage.AuthBlock, error) {
	rows, err := s.rdb.QueryContext(ctxOrBackground(ctx),
		`SELECT source, account, until, failures, reason, created FROM auth_blocks WHERE until > ? ORDER BY source, account`, now.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.AuthBlock
	for rows.Next() {
		var b storage.AuthBlock
		var until, created int64
		if err := rows.Scan(&b.Source, &b.Account, &until, &b.Failures, &b.Reason, &created); err != nil {
			return nil, err
		}
		b.Until, b.Created = time.Unix(until, 0), time.Unix(created, 0)
		out = append(out, b)
	}
	return out, rows.Err()
}

// AuthBlocked reports whether the lockout of source (and account, "" for
// the whole source) is still recorded and in force at now.
func (s *Store) AuthBlocked(ctx context.Context, source, account string, now time.Time) (bool, error) {
	var n int
	err := s.rdb.QueryRowContext(ctxOrBackground(ctx),
		`SELECT count(*) FROM auth_blocks WHERE source=? AND account=? AND until > ?`, source, account, now.Unix()).Scan(&n)
	return n > 0, err
}

// DeleteAuthBlocks lifts the lockouts of source: all of them when account
// is "", else the one of that account. It reports how many there were.
func (s *Store) DeleteAuthBlocks(ctx context.Context, source, account string) (int, error) {
	var n int64
	err := s.write(ctx, func(t *tx) error {
		q, args := `DELETE FROM auth_blocks WHERE source=?`, []any{source}
		if account != "" {
			q, args = q+` AND account=?`, append(args, account)
		}
		res, err := t.Exec(q, args...)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

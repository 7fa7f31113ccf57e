package sqlite

import "context"

// CheckWritable runs an empty transaction through the writer and waits for
// its commit: it fails when the writer is stuck or the database cannot be
// locked for writing. The health check calls it.
func (s *Store) CheckWritable(ctx context.Context) error {
	return s.write(ctx, func(t *tx) error {
		_, err := t.ExecContext(t.ctx, `SELECT 1`)
		return err
	})
}

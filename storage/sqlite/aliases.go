package sqlite

import (
	"context"
	"fmt"

	"postern/mailaddr"
	"postern/storage"
)

// AddAlias adds targets to an alias, creating it if needed.
func (s *Store) AddAlias(ctx context.Context, alias string, targets []string) error {
	alias, targets, err := storage.NormalizeAlias(alias, targets)
	if err != nil {
		return err
	}
	return s.write(ctx, func(t *tx) error {
		for _, target := range targets {
			if _, err := t.Exec(`INSERT OR IGNORE INTO aliases(alias, target) VALUES(?,?)`, alias, target); err != nil {
				return err
			}
		}
		t.publish(storage.Event{Kind: storage.EventAliasChange, Address: alias})
		return nil
	})
}

// DeleteAlias removes an alias and all its targets.
func (s *Store) DeleteAlias(ctx context.Context, alias string) error {
	alias = mailaddr.Normalize(alias)
	return s.write(ctx, func(t *tx) error {
		res, err := t.Exec(`DELETE FROM aliases WHERE alias=?`, alias)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("alias %s: %w", alias, storage.ErrNotFound)
		}
		t.publish(storage.Event{Kind: storage.EventAliasChange, Address: alias})
		return nil
	})
}

// Aliases lists every alias with its targets.
func (s *Store) Aliases(ctx context.Context) ([]storage.Alias, error) {
	rows, err := s.rdb.QueryContext(ctxOrBackground(ctx), `SELECT alias, target FROM aliases ORDER BY alias, target`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.Alias
	for rows.Next() {
		var a, t string
		if err := rows.Scan(&a, &t); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].Address == a {
			out[n-1].Targets = append(out[n-1].Targets, t)
		} else {
			out = append(out, storage.Alias{Address: a, Targets: []string{t}})
		}
	}
	return out, rows.Err()
}

// AliasTargets returns the targets of one alias ("a@d" or "@d"), or ErrNotFound.
func (s *Store) AliasTargets(ctx context.Context, alias string) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctxOrBackground(ctx), `SELECT target FROM aliases WHERE alias=? ORDER BY target`, mailaddr.Normalize(alias))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("alias %s: %w", alias, storage.ErrNotFound)
	}
	return out, nil
}

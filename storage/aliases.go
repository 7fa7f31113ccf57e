package storage

import (
	"context"
	"fmt"
	"strings"

	"postern/mailaddr"
)

// Alias maps an address, or "@domain" for a catch-all, to one or more targets.
type Alias struct {
	Address string
	Targets []string
}

// AddAlias adds targets to an alias, creating it if needed.
func (s *Store) AddAlias(ctx context.Context, alias string, targets []string) error {
	alias = mailaddr.Normalize(alias)
	if !strings.HasPrefix(alias, "@") {
		if err := validAddress(alias); err != nil {
			return fmt.Errorf("alias: %w", err)
		}
	} else if _, err := mailaddr.ParseDomain(alias[1:]); err != nil {
		return fmt.Errorf("alias %q: a catch-all is written @domain: %w", alias, err)
	}
	if len(targets) == 0 {
		return fmt.Errorf("alias %s: no target given", alias)
	}
	for i, t := range targets {
		targets[i] = mailaddr.Normalize(t)
		if err := validAddress(targets[i]); err != nil {
			return fmt.Errorf("alias target: %w", err)
		}
		if strings.EqualFold(targets[i], alias) {
			return fmt.Errorf("alias %s: points at itself", alias)
		}
	}
	return s.write(ctx, func(t *tx) error {
		for _, target := range targets {
			if _, err := t.Exec(`INSERT OR IGNORE INTO aliases(alias, target) VALUES(?,?)`, alias, target); err != nil {
				return err
			}
		}
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
			return fmt.Errorf("alias %s: %w", alias, ErrNotFound)
		}
		return nil
	})
}

// Aliases lists every alias with its targets.
func (s *Store) Aliases(ctx context.Context) ([]Alias, error) {
	rows, err := s.rdb.QueryContext(ctxOrBackground(ctx), `SELECT alias, target FROM aliases ORDER BY alias, target`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Alias
	for rows.Next() {
		var a, t string
		if err := rows.Scan(&a, &t); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].Address == a {
			out[n-1].Targets = append(out[n-1].Targets, t)
		} else {
			out = append(out, Alias{Address: a, Targets: []string{t}})
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
		return nil, fmt.Errorf("alias %s: %w", alias, ErrNotFound)
	}
	return out, nil
}

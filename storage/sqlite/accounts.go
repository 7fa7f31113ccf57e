package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"postern/mailaddr"
	"postern/storage"
)

// CreateAccount adds an account with its default mailboxes.
func (s *Store) CreateAccount(ctx context.Context, address, password string) (storage.Account, error) {
	address = mailaddr.Normalize(address)
	if err := storage.ValidateAddress(address); err != nil {
		return storage.Account{}, err
	}
	hash, err := storage.HashPassword(password)
	if err != nil {
		return storage.Account{}, err
	}
	acct := storage.Account{Address: address, Created: time.Now().Truncate(time.Second)}
	err = s.write(ctx, func(t *tx) error {
		res, err := t.Exec(`INSERT INTO accounts(address, password_hash, created) VALUES(?,?,?)`,
			address, hash, acct.Created.Unix())
		if err != nil {
			if isUniqueErr(err) {
				return fmt.Errorf("account %s: %w", address, storage.ErrExists)
			}
			return err
		}
		acct.ID, _ = res.LastInsertId()
		t.publish(storage.Event{Kind: storage.EventAccountCreate, AccountID: acct.ID, Address: address})
		for _, mb := range storage.DefaultMailboxes {
			if _, err := createMailbox(t, acct.ID, mb.Name, mb.SpecialUse); err != nil {
				return err
			}
			if _, err := t.Exec(`INSERT OR IGNORE INTO subscriptions(account_id, name) VALUES(?,?)`, acct.ID, mb.Name); err != nil {
				return err
			}
		}
		return nil
	})
	return acct, err
}

// SetPassword replaces an account's password.
func (s *Store) SetPassword(ctx context.Context, address, password string) error {
	hash, err := storage.HashPassword(password)
	if err != nil {
		return err
	}
	address = mailaddr.Normalize(address)
	return s.write(ctx, func(t *tx) error {
		var id int64
		var stored string
		err := t.QueryRow(`UPDATE accounts SET password_hash=? WHERE address=? RETURNING id, address`, hash, address).Scan(&id, &stored)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("account %s: %w", address, storage.ErrNotFound)
		}
		if err != nil {
			return err
		}
		t.publish(storage.Event{Kind: storage.EventPasswordChange, AccountID: id, Address: stored})
		return nil
	})
}

// DeleteAccount removes an account, its mailboxes and messages.
func (s *Store) DeleteAccount(ctx context.Context, address string) error {
	address = mailaddr.Normalize(address)
	return s.writeFreeing(ctx, func(t *tx) error {
		var id int64
		var stored string
		if err := t.QueryRow(`SELECT id, address FROM accounts WHERE address=?`, address).Scan(&id, &stored); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("account %s: %w", address, storage.ErrNotFound)
			}
			return err
		}
		rows, err := t.Query(`SELECT id, name FROM mailboxes WHERE account_id=?`, id)
		if err != nil {
			return err
		}
		type mb struct {
			id   int64
			name string
		}
		var mbs []mb
		for rows.Next() {
			var m mb
			if err := rows.Scan(&m.id, &m.name); err != nil {
				rows.Close()
				return err
			}
			mbs = append(mbs, m)
		}
		rows.Close()
		for _, m := range mbs {
			if err := deleteMailboxTx(t, id, m.id, m.name); err != nil {
				return err
			}
		}
		if _, err := t.Exec(`DELETE FROM accounts WHERE id=?`, id); err != nil {
			return err
		}
		t.publish(storage.Event{Kind: storage.EventAccountDelete, AccountID: id, Address: stored})
		return nil
	})
}

// DisableAccount keeps an account and its mail but refuses its logins and
// its mail (RFC 3463 X.2.1), and ends its sessions.
func (s *Store) DisableAccount(ctx context.Context, address string) error {
	return s.setDisabled(ctx, address, true)
}

// EnableAccount undoes DisableAccount.
func (s *Store) EnableAccount(ctx context.Context, address string) error {
	return s.setDisabled(ctx, address, false)
}

func (s *Store) setDisabled(ctx context.Context, address string, disabled bool) error {
	address = mailaddr.Normalize(address)
	return s.writeFreeing(ctx, func(t *tx) error {
		var id int64
		var stored string
		err := t.QueryRow(`UPDATE accounts SET disabled=? WHERE address=? RETURNING id, address`, disabled, address).Scan(&id, &stored)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("account %s: %w", address, storage.ErrNotFound)
		}
		if err != nil {
			return err
		}
		kind := storage.EventAccountEnable
		if disabled {
			kind = storage.EventAccountDisable
		}
		t.publish(storage.Event{Kind: kind, AccountID: id, Address: stored})
		return nil
	})
}

// Accounts lists every account, by address.
func (s *Store) Accounts(ctx context.Context) ([]storage.Account, error) {
	rows, err := s.rdb.QueryContext(ctxOrBackground(ctx), `SELECT id, address, created, disabled FROM accounts ORDER BY address`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.Account
	for rows.Next() {
		var a storage.Account
		var created int64
		if err := rows.Scan(&a.ID, &a.Address, &created, &a.Disabled); err != nil {
			return nil, err
		}
		a.Created = time.Unix(created, 0)
		out = append(out, a)
	}
	return out, rows.Err()
}

// AccountByAddress finds an account by its address, ignoring case.
func (s *Store) AccountByAddress(ctx context.Context, address string) (storage.Account, error) {
	a, _, err := s.Credentials(ctx, address)
	return a, err
}

// Credentials returns the account named address, ignoring case, and its
// stored password hash (for storage.CheckPassword); ErrNotFound if there
// is none. The hash changes whenever the password does, so the login path
// may keep a verified password for as long as the hash it was verified
// against is the one stored.
func (s *Store) Credentials(ctx context.Context, address string) (storage.Account, string, error) {
	var a storage.Account
	var created int64
	var hash string
	err := s.rdb.QueryRowContext(ctxOrBackground(ctx),
		`SELECT id, address, created, disabled, password_hash FROM accounts WHERE address=?`,
		mailaddr.Normalize(address)).Scan(&a.ID, &a.Address, &created, &a.Disabled, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Account{}, "", fmt.Errorf("account %s: %w", address, storage.ErrNotFound)
	}
	if err != nil {
		return storage.Account{}, "", err
	}
	a.Created = time.Unix(created, 0)
	return a, hash, nil
}

// Authenticate checks a password (storage.CheckLogin has the rules).
func (s *Store) Authenticate(ctx context.Context, address, password string) (storage.Account, error) {
	a, hash, err := s.Credentials(ctx, address)
	found := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return storage.Account{}, err
	}
	return storage.CheckLogin(a, hash, found, password)
}

func isUniqueErr(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

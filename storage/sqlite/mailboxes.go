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

const mailboxCols = `id, account_id, name, uidvalidity, uidnext, highestmodseq, special_use`

type scanner interface{ Scan(...any) error }

func scanMailbox(r scanner) (storage.Mailbox, error) {
	var m storage.Mailbox
	err := r.Scan(&m.ID, &m.AccountID, &m.Name, &m.UIDValidity, &m.UIDNext, &m.HighestModSeq, &m.SpecialUse)
	return m, err
}

// Mailboxes lists an account's mailboxes by name.
func (s *Store) Mailboxes(ctx context.Context, accountID int64) ([]storage.Mailbox, error) {
	rows, err := s.rdb.QueryContext(ctxOrBackground(ctx), `SELECT `+mailboxCols+` FROM mailboxes WHERE account_id=? ORDER BY name`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.Mailbox
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Mailbox finds a mailbox by name.
func (s *Store) Mailbox(ctx context.Context, accountID int64, name string) (storage.Mailbox, error) {
	name = storage.CanonicalName(name)
	m, err := scanMailbox(s.rdb.QueryRowContext(ctxOrBackground(ctx),
		`SELECT `+mailboxCols+` FROM mailboxes WHERE account_id=? AND name=?`, accountID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Mailbox{}, fmt.Errorf("mailbox %q: %w", name, storage.ErrNotFound)
	}
	return m, err
}

func mailboxTx(t *tx, accountID int64, name string) (storage.Mailbox, error) {
	name = storage.CanonicalName(name)
	m, err := scanMailbox(t.QueryRow(`SELECT `+mailboxCols+` FROM mailboxes WHERE account_id=? AND name=?`, accountID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Mailbox{}, fmt.Errorf("mailbox %q: %w", name, storage.ErrNotFound)
	}
	return m, err
}

func mailboxByIDTx(t *tx, id int64) (storage.Mailbox, error) {
	m, err := scanMailbox(t.QueryRow(`SELECT `+mailboxCols+` FROM mailboxes WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Mailbox{}, fmt.Errorf("mailbox id %d: %w", id, storage.ErrNotFound)
	}
	if err == nil {
		err = storage.CheckScope(t.ctx, m)
	}
	return m, err
}

// MailboxStatus returns a mailbox with its message counts.
func (s *Store) MailboxStatus(ctx context.Context, mailboxID int64) (storage.MailboxStatus, error) {
	ctx = ctxOrBackground(ctx)
	var st storage.MailboxStatus
	m, err := scanMailbox(s.rdb.QueryRowContext(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE id=?`, mailboxID))
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("mailbox id %d: %w", mailboxID, storage.ErrNotFound)
	}
	if err == nil {
		err = storage.CheckScope(ctx, m)
	}
	if err != nil {
		return st, err
	}
	st.Mailbox = m
	err = s.rdb.QueryRowContext(ctx, `SELECT count(*),
		coalesce(sum((flags & ?) = 0), 0), coalesce(sum(recent), 0),
		coalesce(sum((flags & ?) != 0), 0), coalesce(sum(size), 0)
		FROM messages WHERE mailbox_id=?`, int(storage.FlagSeen), int(storage.FlagDeleted), mailboxID).
		Scan(&st.Messages, &st.Unseen, &st.Recent, &st.Deleted, &st.Size)
	return st, err
}

// nextUIDValidity gives every new mailbox a UIDVALIDITY never used before in this
// store, so a mailbox deleted and created again under the same name cannot be
// mistaken by a client for the old one (RFC 3501 §2.3.1.1).
func nextUIDValidity(t *tx) (uint32, error) {
	var last int64
	err := t.QueryRow(`SELECT value FROM meta WHERE key='uidvalidity'`).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	v := time.Now().Unix()
	if v <= last {
		v = last + 1
	}
	if v > 0xFFFFFFFF {
		v = last + 1
	}
	_, err = t.Exec(`INSERT INTO meta(key, value) VALUES('uidvalidity', ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value`, v)
	return uint32(v), err
}

func createMailbox(t *tx, accountID int64, name, specialUse string) (storage.Mailbox, error) {
	name = storage.CanonicalName(name)
	if err := storage.ValidateName(name); err != nil {
		return storage.Mailbox{}, err
	}
	uv, err := nextUIDValidity(t)
	if err != nil {
		return storage.Mailbox{}, err
	}
	res, err := t.Exec(`INSERT INTO mailboxes(account_id, name, uidvalidity, special_use) VALUES(?,?,?,?)`,
		accountID, name, uv, specialUse)
	if err != nil {
		if isUniqueErr(err) {
			return storage.Mailbox{}, fmt.Errorf("mailbox %q: %w", name, storage.ErrExists)
		}
		return storage.Mailbox{}, err
	}
	id, _ := res.LastInsertId()
	t.publish(storage.Event{Kind: storage.EventMailboxCreate, AccountID: accountID, MailboxID: id, Mailbox: name, ModSeq: 1})
	return storage.Mailbox{ID: id, AccountID: accountID, Name: name, UIDValidity: uv, UIDNext: 1, HighestModSeq: 1, SpecialUse: specialUse}, nil
}

// CreateMailbox creates one mailbox. Parents are not created: the caller decides.
func (s *Store) CreateMailbox(ctx context.Context, accountID int64, name, specialUse string) (storage.Mailbox, error) {
	var m storage.Mailbox
	err := s.write(ctx, func(t *tx) error {
		var err error
		m, err = createMailbox(t, accountID, name, specialUse)
		return err
	})
	return m, err
}

// DeleteMailbox deletes a mailbox and expunges its messages. INBOX cannot be
// deleted (RFC 3501 §6.3.4). Children are left alone.
func (s *Store) DeleteMailbox(ctx context.Context, accountID int64, name string) error {
	name = storage.CanonicalName(name)
	if name == "INBOX" {
		return fmt.Errorf("INBOX cannot be deleted: %w", storage.ErrInvalidName)
	}
	return s.writeFreeing(ctx, func(t *tx) error {
		m, err := mailboxTx(t, accountID, name)
		if err != nil {
			return err
		}
		return deleteMailboxTx(t, accountID, m.ID, m.Name)
	})
}

func deleteMailboxTx(t *tx, accountID, mailboxID int64, name string) error {
	if _, err := expungeTx(t, storage.Mailbox{ID: mailboxID, AccountID: accountID, Name: name}, allUIDs, false); err != nil {
		return err
	}
	var modseq uint64
	if err := t.QueryRow(`DELETE FROM mailboxes WHERE id=? RETURNING highestmodseq`, mailboxID).Scan(&modseq); err != nil {
		return err
	}
	recent := &t.store.recent
	t.atEnd(func() { recent.forget(mailboxID) })
	t.publish(storage.Event{Kind: storage.EventMailboxDelete, AccountID: accountID, MailboxID: mailboxID, Mailbox: name, ModSeq: modseq})
	return nil
}

// RenameMailbox renames a mailbox and its children. Renaming INBOX moves its
// messages to a new mailbox and leaves INBOX empty (RFC 3501 §6.3.5).
func (s *Store) RenameMailbox(ctx context.Context, accountID int64, oldName, newName string) error {
	oldName, newName = storage.CanonicalName(oldName), storage.CanonicalName(newName)
	if err := storage.ValidateName(newName); err != nil {
		return err
	}
	if newName == "INBOX" {
		return fmt.Errorf("cannot rename to INBOX: %w", storage.ErrExists)
	}
	// INBOX stays where it is and only gives up its messages, so a new
	// mailbox under it ("INBOX/old") is fine.
	if oldName != "INBOX" && strings.HasPrefix(newName, oldName+storage.Delimiter) {
		return fmt.Errorf("cannot rename %q under itself: %w", oldName, storage.ErrInvalidName)
	}
	return s.write(ctx, func(t *tx) error {
		src, err := mailboxTx(t, accountID, oldName)
		if err != nil {
			return err
		}
		if _, err := mailboxTx(t, accountID, newName); err == nil {
			return fmt.Errorf("mailbox %q: %w", newName, storage.ErrExists)
		}
		if oldName == "INBOX" {
			dst, err := createMailbox(t, accountID, newName, "")
			if err != nil {
				return err
			}
			_, err = moveTx(t, src, allUIDs, dst)
			return err
		}
		rows, err := t.Query(`SELECT id, name, highestmodseq FROM mailboxes WHERE account_id=? AND (name=? OR substr(name, 1, ?)=?) ORDER BY name`,
			accountID, oldName, len(oldName)+1, oldName+storage.Delimiter)
		if err != nil {
			return err
		}
		type ren struct {
			id       int64
			from, to string
			modseq   uint64
		}
		var list []ren
		for rows.Next() {
			var r ren
			if err := rows.Scan(&r.id, &r.from, &r.modseq); err != nil {
				rows.Close()
				return err
			}
			r.to = newName + r.from[len(oldName):]
			list = append(list, r)
		}
		rows.Close()
		for _, r := range list {
			if _, err := t.Exec(`UPDATE mailboxes SET name=? WHERE id=?`, r.to, r.id); err != nil {
				if isUniqueErr(err) {
					return fmt.Errorf("mailbox %q: %w", r.to, storage.ErrExists)
				}
				return err
			}
			if _, err := t.Exec(`UPDATE subscriptions SET name=? WHERE account_id=? AND name=?`, r.to, accountID, r.from); err != nil && !isUniqueErr(err) {
				return err
			}
			t.publish(storage.Event{Kind: storage.EventMailboxRename, AccountID: accountID, MailboxID: r.id, Mailbox: r.from, NewName: r.to, ModSeq: r.modseq})
		}
		return nil
	})
}

// SetSubscribed adds or removes a name from the account's subscriptions. A name
// may be subscribed without existing (RFC 3501 §6.3.6).
func (s *Store) SetSubscribed(ctx context.Context, accountID int64, name string, on bool) error {
	name = storage.CanonicalName(name)
	if err := storage.ValidateName(name); err != nil {
		return err
	}
	return s.write(ctx, func(t *tx) error {
		var err error
		if on {
			_, err = t.Exec(`INSERT OR IGNORE INTO subscriptions(account_id, name) VALUES(?,?)`, accountID, name)
		} else {
			_, err = t.Exec(`DELETE FROM subscriptions WHERE account_id=? AND name=?`, accountID, name)
		}
		return err
	})
}

// Subscriptions lists the subscribed names of an account.
func (s *Store) Subscriptions(ctx context.Context, accountID int64) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctxOrBackground(ctx), `SELECT name FROM subscriptions WHERE account_id=? ORDER BY name`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Delimiter separates the levels of a mailbox name.
const Delimiter = "/"

// Mailbox is a folder of one account.
type Mailbox struct {
	ID            int64
	AccountID     int64
	Name          string
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	SpecialUse    string // RFC 6154 attribute such as `\Sent`, or ""
}

// MailboxStatus is a mailbox with its counts.
type MailboxStatus struct {
	Mailbox
	Messages uint32
	Unseen   uint32
	Recent   uint32
	Deleted  uint32
	Size     int64
}

// CanonicalName returns name with INBOX spelled in upper case, which RFC 3501
// §5.1 makes case-insensitive (also as the first level of a hierarchy).
func CanonicalName(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	if len(name) > 6 && strings.EqualFold(name[:6], "INBOX/") {
		return "INBOX" + name[5:]
	}
	return name
}

// ValidateName checks a mailbox name: non-empty, valid UTF-8, no control
// characters or wildcards, no empty hierarchy level and no level "." or
// "..", at most 512 bytes.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("mailbox name is empty: %w", ErrInvalidName)
	case len(name) > 512:
		return fmt.Errorf("mailbox name is longer than 512 bytes: %w", ErrInvalidName)
	case !utf8.ValidString(name):
		return fmt.Errorf("mailbox name is not UTF-8: %w", ErrInvalidName)
	case strings.HasPrefix(name, Delimiter) || strings.HasSuffix(name, Delimiter) || strings.Contains(name, Delimiter+Delimiter):
		return fmt.Errorf("mailbox name %q has an empty level: %w", name, ErrInvalidName)
	case strings.ContainsAny(name, "*%"):
		return fmt.Errorf("mailbox name %q contains a wildcard: %w", name, ErrInvalidName)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("mailbox name contains a control character: %w", ErrInvalidName)
		}
	}
	// Clients and tools that map mailboxes to folders on disk (mbsync,
	// Maildir exports, backups) would read these as "here" and "up".
	for level := range strings.SplitSeq(name, Delimiter) {
		if level == "." || level == ".." {
			return fmt.Errorf("mailbox name %q has a level %q: %w", name, level, ErrInvalidName)
		}
	}
	return nil
}

const mailboxCols = `id, account_id, name, uidvalidity, uidnext, highestmodseq, special_use`

type scanner interface{ Scan(...any) error }

func scanMailbox(r scanner) (Mailbox, error) {
	var m Mailbox
	err := r.Scan(&m.ID, &m.AccountID, &m.Name, &m.UIDValidity, &m.UIDNext, &m.HighestModSeq, &m.SpecialUse)
	return m, err
}

// Mailboxes lists an account's mailboxes by name.
func (s *Store) Mailboxes(ctx context.Context, accountID int64) ([]Mailbox, error) {
	rows, err := s.rdb.QueryContext(ctxOrBackground(ctx), `SELECT `+mailboxCols+` FROM mailboxes WHERE account_id=? ORDER BY name`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Mailbox
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
func (s *Store) Mailbox(ctx context.Context, accountID int64, name string) (Mailbox, error) {
	name = CanonicalName(name)
	m, err := scanMailbox(s.rdb.QueryRowContext(ctxOrBackground(ctx),
		`SELECT `+mailboxCols+` FROM mailboxes WHERE account_id=? AND name=?`, accountID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Mailbox{}, fmt.Errorf("mailbox %q: %w", name, ErrNotFound)
	}
	return m, err
}

func mailboxTx(t *tx, accountID int64, name string) (Mailbox, error) {
	name = CanonicalName(name)
	m, err := scanMailbox(t.QueryRow(`SELECT `+mailboxCols+` FROM mailboxes WHERE account_id=? AND name=?`, accountID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Mailbox{}, fmt.Errorf("mailbox %q: %w", name, ErrNotFound)
	}
	return m, err
}

func mailboxByIDTx(t *tx, id int64) (Mailbox, error) {
	m, err := scanMailbox(t.QueryRow(`SELECT `+mailboxCols+` FROM mailboxes WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Mailbox{}, fmt.Errorf("mailbox id %d: %w", id, ErrNotFound)
	}
	if err == nil {
		err = checkScope(t.ctx, m)
	}
	return m, err
}

// MailboxStatus returns a mailbox with its message counts.
func (s *Store) MailboxStatus(ctx context.Context, mailboxID int64) (MailboxStatus, error) {
	ctx = ctxOrBackground(ctx)
	var st MailboxStatus
	m, err := scanMailbox(s.rdb.QueryRowContext(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE id=?`, mailboxID))
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("mailbox id %d: %w", mailboxID, ErrNotFound)
	}
	if err == nil {
		err = checkScope(ctx, m)
	}
	if err != nil {
		return st, err
	}
	st.Mailbox = m
	err = s.rdb.QueryRowContext(ctx, `SELECT count(*),
		coalesce(sum((flags & ?) = 0), 0), coalesce(sum(recent), 0),
		coalesce(sum((flags & ?) != 0), 0), coalesce(sum(size), 0)
		FROM messages WHERE mailbox_id=?`, int(FlagSeen), int(FlagDeleted), mailboxID).
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

func createMailbox(t *tx, accountID int64, name, specialUse string) (Mailbox, error) {
	name = CanonicalName(name)
	if err := ValidateName(name); err != nil {
		return Mailbox{}, err
	}
	uv, err := nextUIDValidity(t)
	if err != nil {
		return Mailbox{}, err
	}
	res, err := t.Exec(`INSERT INTO mailboxes(account_id, name, uidvalidity, special_use) VALUES(?,?,?,?)`,
		accountID, name, uv, specialUse)
	if err != nil {
		if isUniqueErr(err) {
			return Mailbox{}, fmt.Errorf("mailbox %q: %w", name, ErrExists)
		}
		return Mailbox{}, err
	}
	id, _ := res.LastInsertId()
	t.publish(Event{Kind: EventMailboxCreate, AccountID: accountID, MailboxID: id, Mailbox: name})
	return Mailbox{ID: id, AccountID: accountID, Name: name, UIDValidity: uv, UIDNext: 1, HighestModSeq: 1, SpecialUse: specialUse}, nil
}

// CreateMailbox creates one mailbox. Parents are not created: the caller decides.
func (s *Store) CreateMailbox(ctx context.Context, accountID int64, name, specialUse string) (Mailbox, error) {
	var m Mailbox
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
	name = CanonicalName(name)
	if name == "INBOX" {
		return fmt.Errorf("INBOX cannot be deleted: %w", ErrInvalidName)
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
	if _, err := expungeTx(t, Mailbox{ID: mailboxID, AccountID: accountID, Name: name}, allUIDs); err != nil {
		return err
	}
	if _, err := t.Exec(`DELETE FROM mailboxes WHERE id=?`, mailboxID); err != nil {
		return err
	}
	recent := &t.store.recent
	t.atEnd(func() { recent.forget(mailboxID) })
	t.publish(Event{Kind: EventMailboxDelete, AccountID: accountID, MailboxID: mailboxID, Mailbox: name})
	return nil
}

// RenameMailbox renames a mailbox and its children. Renaming INBOX moves its
// messages to a new mailbox and leaves INBOX empty (RFC 3501 §6.3.5).
func (s *Store) RenameMailbox(ctx context.Context, accountID int64, oldName, newName string) error {
	oldName, newName = CanonicalName(oldName), CanonicalName(newName)
	if err := ValidateName(newName); err != nil {
		return err
	}
	if newName == "INBOX" {
		return fmt.Errorf("cannot rename to INBOX: %w", ErrExists)
	}
	// INBOX stays where it is and only gives up its messages, so a new
	// mailbox under it ("INBOX/old") is fine.
	if oldName != "INBOX" && strings.HasPrefix(newName, oldName+Delimiter) {
		return fmt.Errorf("cannot rename %q under itself: %w", oldName, ErrInvalidName)
	}
	return s.write(ctx, func(t *tx) error {
		src, err := mailboxTx(t, accountID, oldName)
		if err != nil {
			return err
		}
		if _, err := mailboxTx(t, accountID, newName); err == nil {
			return fmt.Errorf("mailbox %q: %w", newName, ErrExists)
		}
		if oldName == "INBOX" {
			dst, err := createMailbox(t, accountID, newName, "")
			if err != nil {
				return err
			}
			_, err = moveTx(t, src, allUIDs, dst)
			return err
		}
		rows, err := t.Query(`SELECT id, name FROM mailboxes WHERE account_id=? AND (name=? OR substr(name, 1, ?)=?) ORDER BY name`,
			accountID, oldName, len(oldName)+1, oldName+Delimiter)
		if err != nil {
			return err
		}
		type ren struct {
			id       int64
			from, to string
		}
		var list []ren
		for rows.Next() {
			var r ren
			if err := rows.Scan(&r.id, &r.from); err != nil {
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
					return fmt.Errorf("mailbox %q: %w", r.to, ErrExists)
				}
				return err
			}
			if _, err := t.Exec(`UPDATE subscriptions SET name=? WHERE account_id=? AND name=?`, r.to, accountID, r.from); err != nil && !isUniqueErr(err) {
				return err
			}
			t.publish(Event{Kind: EventMailboxRename, AccountID: accountID, MailboxID: r.id, Mailbox: r.from, NewName: r.to})
		}
		return nil
	})
}

// SetSubscribed adds or removes a name from the account's subscriptions. A name
// may be subscribed without existing (RFC 3501 §6.3.6).
func (s *Store) SetSubscribed(ctx context.Context, accountID int64, name string, on bool) error {
	name = CanonicalName(name)
	if err := ValidateName(name); err != nil {
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

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// migrations are applied in order; PRAGMA user_version records how many ran. A
// released migration is never edited: a schema change is a new entry at the end.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE accounts (
	id            INTEGER PRIMARY KEY,
	address       TEXT NOT NULL UNIQUE COLLATE NOCASE,
	password_hash TEXT NOT NULL,
	created       INTEGER NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0
);

-- alias is "local@domain" or "@domain" (catch-all); one row per target.
CREATE TABLE aliases (
	alias  TEXT NOT NULL COLLATE NOCASE,
	target TEXT NOT NULL COLLATE NOCASE,
	PRIMARY KEY (alias, target)
) WITHOUT ROWID;

CREATE TABLE mailboxes (
	id             INTEGER PRIMARY KEY,
	account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name           TEXT NOT NULL,
	uidvalidity    INTEGER NOT NULL,
	uidnext        INTEGER NOT NULL DEFAULT 1,
	highestmodseq  INTEGER NOT NULL DEFAULT 1,
	special_use    TEXT NOT NULL DEFAULT '',
	UNIQUE (account_id, name)
);

CREATE TABLE subscriptions (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	PRIMARY KEY (account_id, name)
) WITHOUT ROWID;

-- A body is stored once, whatever the number of mailboxes that hold it. Its
-- bytes live in body_chunks; the rest is what the MIME walk computed at insert.
CREATE TABLE bodies (
	id            INTEGER PRIMARY KEY,
	hash          BLOB NOT NULL UNIQUE,
	size          INTEGER NOT NULL,
	header_len    INTEGER NOT NULL,
	refs          INTEGER NOT NULL DEFAULT 0,
	header        BLOB NOT NULL,
	envelope      BLOB NOT NULL,
	body          BLOB NOT NULL,
	bodystructure BLOB NOT NULL
);

-- The decoded header fields SEARCH matches, apart from the wide rows of
-- bodies: a SEARCH over a mailbox then reads a few pages, not every header.
CREATE TABLE body_search (
	body_id    INTEGER PRIMARY KEY REFERENCES bodies(id) ON DELETE CASCADE,
	subject    TEXT NOT NULL DEFAULT '',
	from_addr  TEXT NOT NULL DEFAULT '',
	to_addr    TEXT NOT NULL DEFAULT '',
	cc_addr    TEXT NOT NULL DEFAULT '',
	bcc_addr   TEXT NOT NULL DEFAULT '',
	message_id TEXT NOT NULL DEFAULT '',
	date_unix  INTEGER NOT NULL DEFAULT 0,
	-- The Date: field's own zone, in seconds east of UTC: SENTON and its
	-- kin compare the day as the sender wrote it (RFC 3501 §6.4.4).
	date_zone  INTEGER NOT NULL DEFAULT 0
);

-- A rowid table: SQLite keeps large rows of a WITHOUT ROWID table inside the
-- index b-tree, which makes reading an 8 KB chunk several times slower.
CREATE TABLE body_chunks (
	body_id INTEGER NOT NULL REFERENCES bodies(id) ON DELETE CASCADE,
	n       INTEGER NOT NULL,
	data    BLOB NOT NULL,
	PRIMARY KEY (body_id, n)
);

-- One row per message in a mailbox, clustered by (mailbox, uid) so SELECT and
-- FETCH read a mailbox as one range scan.
CREATE TABLE messages (
	mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid           INTEGER NOT NULL,
	modseq        INTEGER NOT NULL,
	flags         INTEGER NOT NULL DEFAULT 0,
	keywords      TEXT NOT NULL DEFAULT '',
	recent        INTEGER NOT NULL DEFAULT 1,
	internal_date INTEGER NOT NULL,
	size          INTEGER NOT NULL,
	body_id       INTEGER NOT NULL REFERENCES bodies(id),
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX messages_body ON messages(body_id);
-- Few messages are \Recent at a time; SELECT claims them through this index.
CREATE INDEX messages_recent ON messages(mailbox_id, uid) WHERE recent=1;
`,
	// 2: the outbound queue. One entry per message and recipient domain; the body
	// is shared with local copies through bodies.refs.
	`
CREATE TABLE queue (
	id           INTEGER PRIMARY KEY,
	msg_id       TEXT NOT NULL DEFAULT '',
	domain       TEXT NOT NULL COLLATE NOCASE,
	sender       TEXT NOT NULL,
	body_id      INTEGER NOT NULL REFERENCES bodies(id),
	envid        TEXT NOT NULL DEFAULT '',
	ret          TEXT NOT NULL DEFAULT '',
	utf8         INTEGER NOT NULL DEFAULT 0,
	require_tls  INTEGER NOT NULL DEFAULT 0,
	created      INTEGER NOT NULL,
	next_attempt INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	last_attempt INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX queue_due ON queue(next_attempt);

-- status: 0 pending, 1 delivered, 2 failed (permanently).
CREATE TABLE queue_rcpts (
	queue_id   INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
	n          INTEGER NOT NULL,
	address    TEXT NOT NULL,
	notify     TEXT NOT NULL DEFAULT '',
	orcpt      TEXT NOT NULL DEFAULT '',
	status     INTEGER NOT NULL DEFAULT 0,
	code       INTEGER NOT NULL DEFAULT 0,
	error      TEXT NOT NULL DEFAULT '',
	delay_sent INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (queue_id, n)
) WITHOUT ROWID;
`,
	// 3: where each queued message came from (Origin): 0 forwarded from the MX,
	// 1 submitted by an authenticated user, 2 written by the server. Only 1
	// and 2 are DKIM-signed or returned whole in a DSN. Entries queued before
	// this column existed are classified by what this server wrote into them,
	// which a client cannot forge: a submitted message starts with our
	// Received field, and only a session that authenticated has the
	// "(authenticated user ...)" line in it, before the ";" that ends the
	// field; a delivery status notification starts with our From field and
	// has the null sender. Anything else stays forwarded, the safe default.
	`
ALTER TABLE queue ADD COLUMN origin INTEGER NOT NULL DEFAULT 0;
UPDATE queue SET origin = 1 WHERE body_id IN (
	SELECT body_id FROM body_chunks WHERE n = 0
	AND substr(data, 1, 15) = CAST('Received: from ' AS BLOB)
	AND instr(data, CAST(X'0D0A09' || '(authenticated user' AS BLOB))
		BETWEEN 1 AND instr(data, CAST(';' || X'0D0A09' AS BLOB)));
UPDATE queue SET origin = 2 WHERE sender = '' AND body_id IN (
	SELECT body_id FROM body_chunks WHERE n = 0
	AND substr(data, 1, 42) = CAST('From: Mail Delivery System <MAILER-DAEMON@' AS BLOB));
`,
	// 4: ids are never handed out again. A live session holds the ids of its
	// account, its selected mailbox and the body it streams; SQLite gives a
	// plain INTEGER PRIMARY KEY the highest id plus one, so deleting the
	// newest row let the next one take its id, and a stale session then
	// read another account's mail. AUTOINCREMENT never reuses an id. SQLite
	// cannot add it to a table, so each table is rebuilt (the "12 steps" of
	// https://sqlite.org/lang_altertable.html: migrate runs this with
	// foreign keys off and checks them before it commits). Copying the rows
	// with their ids sets each table's sequence to its highest id, so ids
	// continue above it; no session can hold a higher one, since none runs
	// before the store is open.
	`
CREATE TABLE new_accounts (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	address       TEXT NOT NULL UNIQUE COLLATE NOCASE,
	password_hash TEXT NOT NULL,
	created       INTEGER NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO new_accounts(id, address, password_hash, created, disabled)
	SELECT id, address, password_hash, created, disabled FROM accounts;
DROP TABLE accounts;
ALTER TABLE new_accounts RENAME TO accounts;

CREATE TABLE new_mailboxes (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name           TEXT NOT NULL,
	uidvalidity    INTEGER NOT NULL,
	uidnext        INTEGER NOT NULL DEFAULT 1,
	highestmodseq  INTEGER NOT NULL DEFAULT 1,
	special_use    TEXT NOT NULL DEFAULT '',
	UNIQUE (account_id, name)
);
INSERT INTO new_mailboxes(id, account_id, name, uidvalidity, uidnext, highestmodseq, special_use)
	SELECT id, account_id, name, uidvalidity, uidnext, highestmodseq, special_use FROM mailboxes;
DROP TABLE mailboxes;
ALTER TABLE new_mailboxes RENAME TO mailboxes;

CREATE TABLE new_bodies (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	hash          BLOB NOT NULL UNIQUE,
	size          INTEGER NOT NULL,
	header_len    INTEGER NOT NULL,
	refs          INTEGER NOT NULL DEFAULT 0,
	header        BLOB NOT NULL,
	envelope      BLOB NOT NULL,
	body          BLOB NOT NULL,
	bodystructure BLOB NOT NULL
);
INSERT INTO new_bodies(id, hash, size, header_len, refs, header, envelope, body, bodystructure)
	SELECT id, hash, size, header_len, refs, header, envelope, body, bodystructure FROM bodies;
DROP TABLE bodies;
ALTER TABLE new_bodies RENAME TO bodies;
-- A body nothing refers to any more waits here while a reader still
-- streams it (storage/pins.go); the server finds the leftovers at start.
CREATE INDEX bodies_unreferenced ON bodies(id) WHERE refs <= 0;

CREATE TABLE new_queue (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	msg_id       TEXT NOT NULL DEFAULT '',
	domain       TEXT NOT NULL COLLATE NOCASE,
	sender       TEXT NOT NULL,
	body_id      INTEGER NOT NULL REFERENCES bodies(id),
	envid        TEXT NOT NULL DEFAULT '',
	ret          TEXT NOT NULL DEFAULT '',
	utf8         INTEGER NOT NULL DEFAULT 0,
	require_tls  INTEGER NOT NULL DEFAULT 0,
	created      INTEGER NOT NULL,
	next_attempt INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	last_attempt INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	origin       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO new_queue(id, msg_id, domain, sender, body_id, envid, ret, utf8, require_tls, created, next_attempt, attempts, last_attempt, last_error, origin)
	SELECT id, msg_id, domain, sender, body_id, envid, ret, utf8, require_tls, created, next_attempt, attempts, last_attempt, last_error, origin FROM queue;
DROP TABLE queue;
ALTER TABLE new_queue RENAME TO queue;
CREATE INDEX queue_due ON queue(next_attempt);
`,
	// 5: login lockouts, where every process sees them: "postern auth
	// blocked" lists them and "postern auth unblock" lifts one in the
	// running server. account is '' for a lock of the whole source.
	`
CREATE TABLE IF NOT EXISTS auth_blocks (
	source   TEXT NOT NULL,
	account  TEXT NOT NULL COLLATE NOCASE,
	until    INTEGER NOT NULL,
	failures INTEGER NOT NULL,
	reason   TEXT NOT NULL DEFAULT '',
	created  INTEGER NOT NULL,
	PRIMARY KEY (source, account)
) WITHOUT ROWID;
`,
	// 6: the change log and the expunge history. Every committed change is
	// logged in its transaction (storage.Change): seq grows in commit
	// order, since SQLite commits one transaction at a time and
	// AUTOINCREMENT never hands a position out again. Entries live a few
	// minutes (storage.ChangeRetention); meta changes_pruned is the highest
	// position pruned, so that a reader behind it knows it missed some.
	// Expunged UIDs are kept apart, one row per expunge, for "what
	// vanished since MODSEQ n" (RFC 7162 §3.2.5.1), as long as [storage]
	// expunge_history says; mailboxes.vanished_floor is the highest MODSEQ
	// whose expunges may be forgotten. Expunges before this migration were
	// not kept: the floor of an existing mailbox is its HIGHESTMODSEQ.
	`
CREATE TABLE changes (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	node       INTEGER NOT NULL,
	at         INTEGER NOT NULL,
	origin     INTEGER NOT NULL DEFAULT 0,
	account_id INTEGER NOT NULL DEFAULT 0,
	mailbox_id INTEGER NOT NULL DEFAULT 0,
	kind       INTEGER NOT NULL,
	modseq     INTEGER NOT NULL DEFAULT 0,
	data       BLOB NOT NULL
);
INSERT INTO meta(key, value) VALUES('changes_pruned', 0);

CREATE TABLE vanished (
	mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	modseq     INTEGER NOT NULL,
	at         INTEGER NOT NULL,
	uids       BLOB NOT NULL,
	PRIMARY KEY (mailbox_id, modseq)
) WITHOUT ROWID;
CREATE INDEX vanished_at ON vanished(at);
ALTER TABLE mailboxes ADD COLUMN vanished_floor INTEGER NOT NULL DEFAULT 0;
UPDATE mailboxes SET vanished_floor = highestmodseq;
`,
	// 6: what later features need of a message, and the version of the
	// analysis that computed a body's columns (mimeinfo.Version): bodies
	// stored before are version 1, and "postern reindex" fills the new
	// columns. Address lists hold one mailbox@host a line. meta
	// analysis_min is a version every body has at least: while it is the
	// current one, nothing needs a look. (No index on analysis: it would
	// cost every delivery a page for what an upgrade needs once.)
	`
ALTER TABLE bodies ADD COLUMN analysis INTEGER NOT NULL DEFAULT 1;
INSERT INTO meta(key, value) VALUES('analysis_min', 1);
ALTER TABLE body_search ADD COLUMN in_reply_to TEXT NOT NULL DEFAULT '';
ALTER TABLE body_search ADD COLUMN refs TEXT NOT NULL DEFAULT '';
ALTER TABLE body_search ADD COLUMN base_subject TEXT NOT NULL DEFAULT '';
ALTER TABLE body_search ADD COLUMN from_list TEXT NOT NULL DEFAULT '';
ALTER TABLE body_search ADD COLUMN sender_list TEXT NOT NULL DEFAULT '';
ALTER TABLE body_search ADD COLUMN reply_to_list TEXT NOT NULL DEFAULT '';
ALTER TABLE body_search ADD COLUMN to_list TEXT NOT NULL DEFAULT '';
ALTER TABLE body_search ADD COLUMN cc_list TEXT NOT NULL DEFAULT '';
ALTER TABLE body_search ADD COLUMN bcc_list TEXT NOT NULL DEFAULT '';
`,
}

// migrate brings the schema up to date. Each migration runs in its own
// transaction on one connection with foreign keys off, as SQLite's procedure
// for rebuilding a table requires (a DROP TABLE with them on would cascade
// into every referencing row), and commits only if PRAGMA foreign_key_check
// finds nothing. The version is read again inside the transaction, so that
// two processes opening an old store at once migrate it once.
func migrate(db *sql.DB, log *slog.Logger) error {
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	var version int
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this postern (%d): upgrade postern", version, len(migrations))
	}
	if version == len(migrations) {
		return nil
	}
	// Rebuilding tables takes a few seconds per hundred thousand messages:
	// say so, unless the store is new.
	start := time.Now()
	if version > 0 {
		log.Info("upgrading the store's schema", "from", version, "to", len(migrations))
	}

	// PRAGMA foreign_keys is a no-op inside a transaction: set it before.
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.ExecContext(ctx, "PRAGMA foreign_keys = ON")
	var fk int
	if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 0 {
		return fmt.Errorf("migrate: cannot turn foreign keys off (%v)", err)
	}
	for {
		done, err := migrateOne(ctx, conn)
		if err != nil {
			return err
		}
		if done {
			if version > 0 {
				log.Info("the store's schema is up to date", "version", len(migrations), "took", time.Since(start).Round(time.Millisecond))
			}
			return nil
		}
	}
}

// migrateOne applies the next migration, if any, in one transaction.
func migrateOne(ctx context.Context, conn *sql.Conn) (done bool, err error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var v int
	if err := tx.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	if v >= len(migrations) {
		return true, tx.Rollback()
	}
	if _, err := tx.Exec(migrations[v]); err != nil {
		return false, fmt.Errorf("migration %d: %w", v+1, err)
	}
	rows, err := tx.Query("PRAGMA foreign_key_check")
	if err != nil {
		return false, fmt.Errorf("migration %d: %w", v+1, err)
	}
	var problems []string
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			rows.Close()
			return false, fmt.Errorf("migration %d: %w", v+1, err)
		}
		problems = append(problems, fmt.Sprintf("%s row %d refers to a missing %s", table, rowid.Int64, parent))
	}
	rows.Close()
	if len(problems) > 0 {
		return false, fmt.Errorf("migration %d: foreign key check failed: %s", v+1, strings.Join(problems, "; "))
	}
	// PRAGMA takes no bound parameters; v is ours, not input.
	if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
		return false, fmt.Errorf("migration %d: %w", v+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %d: %w", v+1, err)
	}
	return false, nil
}

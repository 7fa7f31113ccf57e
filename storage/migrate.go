package storage

import (
	"database/sql"
	"fmt"
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
}

func migrate(db *sql.DB) error {
	var version int
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this postern (%d): upgrade postern", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		tx, err := db.Begin()
		if err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.Exec(migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		// PRAGMA takes no bound parameters; v is ours, not input.
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
	return nil
}

package storage

import (
	"context"
	"io"
	"time"
)

// The interfaces below are what each consumer of the store needs, one per
// consumer: a front end takes its own in its Config, never a backend's
// concrete type, so that any backend that passes storagetest serves it.
// Only the wiring (internal/server, the CLI's store opening, test kits)
// names a backend.
//
// Ids of accounts, mailboxes and bodies are int64 and never handed out
// twice by one store; a session holds them for as long as it lives.

// BodyReader streams one stored body. It holds no transaction between
// reads, so a slow client cannot hold the database up; the body stays
// readable until Close, even if its last message is expunged meanwhile
// (the backend keeps it for the reader). Close it when done.
type BodyReader interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
	// Size is the body's size in octets.
	Size() int64
}

// Credentials is what a login needs of the store (package auth checks
// the password).
type Credentials interface {
	// Credentials returns the account named address, ignoring case, and
	// its stored password hash; ErrNotFound if there is none. The hash
	// changes whenever the password does.
	Credentials(ctx context.Context, address string) (Account, string, error)
}

// Logins is what the login path (package auth) and the server wiring
// need besides Credentials: lockouts that every process sees, and the
// changes that make a verified password stale.
type Logins interface {
	Credentials
	// PutAuthBlock records a lockout, replacing one of the same source
	// and account, and forgets lockouts that have ended.
	PutAuthBlock(ctx context.Context, b AuthBlock) error
	// AuthBlocked reports whether a lockout of source (and account, ""
	// for the whole source) is in force at now.
	AuthBlocked(ctx context.Context, source, account string, now time.Time) (bool, error)
	// AuthBlocks lists the lockouts in force at now, by source.
	AuthBlocks(ctx context.Context, now time.Time) ([]AuthBlock, error)
	// DeleteAuthBlocks lifts the lockouts of source (of one account, or
	// all with account ""), and says how many there were.
	DeleteAuthBlocks(ctx context.Context, source, account string) (int, error)
	// WatchAccounts runs f after every change that deletes or disables
	// an account or changes its password. f must not block.
	WatchAccounts(f func(Event)) (stop func())
}

// Events hands out subscriptions to the changes of one account.
type Events interface {
	// Subscribe returns a subscription to the account's change events.
	// It is ended from the start if the account is already gone or
	// disabled.
	Subscribe(accountID int64) *Subscription
	// WatchAccount returns a subscription that keeps no events, for a
	// session that shows no mailbox but must end with its account.
	WatchAccount(accountID int64) *Subscription
}

// Mailboxes is what every session that lists, opens and changes mailboxes
// needs (IMAP, POP3).
type Mailboxes interface {
	// Mailboxes lists an account's mailboxes by name.
	Mailboxes(ctx context.Context, accountID int64) ([]Mailbox, error)
	// Mailbox finds a mailbox by name (INBOX in any case).
	Mailbox(ctx context.Context, accountID int64, name string) (Mailbox, error)
	// MessageUIDs lists every message of a mailbox in UID order.
	MessageUIDs(ctx context.Context, mailboxID int64) ([]MessageState, error)
	// FetchMessages loads the given UIDs of a mailbox (missing ones are
	// skipped), in UID order.
	FetchMessages(ctx context.Context, mailboxID int64, uids []uint32, want FetchWant) ([]Message, error)
	// StoreFlags changes the flags of the given messages. Only messages
	// whose flags really change get a new MODSEQ and appear in the result
	// and in the event.
	StoreFlags(ctx context.Context, mailboxID int64, uids []uint32, op FlagOp, flags FlagSet) ([]FlagChange, error)
	// Expunge removes the given UIDs, or with uids nil every message
	// flagged \Deleted, and returns the UIDs removed.
	Expunge(ctx context.Context, mailboxID int64, uids []uint32) ([]uint32, error)
	// Move copies messages to another mailbox of the same account and
	// expunges them from the source, in one transaction (RFC 6851).
	Move(ctx context.Context, srcMailboxID int64, uids []uint32, dstMailboxID int64) (CopyResult, error)
}

// MailStore is what the IMAP server needs.
type MailStore interface {
	Credentials
	Events
	Mailboxes
	// AccountByAddress finds another account, for a URLAUTH URL that
	// names its owner (RFC 4467).
	AccountByAddress(ctx context.Context, address string) (Account, error)
	MailboxStatus(ctx context.Context, mailboxID int64) (MailboxStatus, error)
	CreateMailbox(ctx context.Context, accountID int64, name, specialUse string) (Mailbox, error)
	// DeleteMailbox deletes a mailbox and its messages; INBOX cannot be
	// deleted (RFC 3501 §6.3.4) and children are left alone.
	DeleteMailbox(ctx context.Context, accountID int64, name string) error
	// RenameMailbox renames a mailbox and its children; renaming INBOX
	// moves its messages to a new mailbox (RFC 3501 §6.3.5).
	RenameMailbox(ctx context.Context, accountID int64, oldName, newName string) error
	SetSubscribed(ctx context.Context, accountID int64, name string, on bool) error
	Subscriptions(ctx context.Context, accountID int64) ([]string, error)

	// Append adds messages atomically: every item is committed, durably,
	// or none is.
	Append(ctx context.Context, items []AppendItem) ([]AppendResult, error)
	// SpoolBody prepares a message arriving from a client (see Spooler).
	SpoolBody(ctx context.Context, r io.Reader, maxBytes int64) (*Body, error)
	// Copy copies messages to another mailbox of the same account; flags
	// are kept and the copies are \Recent.
	Copy(ctx context.Context, srcMailboxID int64, uids []uint32, dstMailboxID int64) (CopyResult, error)
	// ClaimRecent returns the UIDs still marked \Recent and clears the
	// mark, so that exactly one session sees each message as recent (RFC
	// 3501 §2.3.2): with uids nil the whole mailbox, else those UIDs,
	// which must be UIDs the session was told of (appended ones).
	ClaimRecent(ctx context.Context, mailboxID int64, uids []uint32) ([]uint32, error)

	// SearchHeaders returns one row per message of a mailbox, in UID
	// order, with the decoded header columns asked for.
	SearchHeaders(ctx context.Context, mailboxID int64, cols SearchColumns) ([]HeaderRow, error)
	// EachHeader calls fn with the header block of each of the given
	// messages, in UID order, cut to maxBytes; fn must not call the store.
	EachHeader(ctx context.Context, mailboxID int64, uids []uint32, maxBytes int, fn func(uid uint32, header []byte) error) error
	// OpenBody opens a stored body for reading; ReadBody reads it whole.
	OpenBody(ctx context.Context, bodyID int64) (BodyReader, error)
	ReadBody(ctx context.Context, bodyID int64) ([]byte, error)

	// History is what CONDSTORE and QRESYNC ask (RFC 7162).
	History
}

// Maildrop is what the POP3 server needs: INBOX, its messages and their
// bodies.
type Maildrop interface {
	Credentials
	Events
	Mailboxes
	// OpenMessage opens the body of message uid of a mailbox: the body
	// that message has now.
	OpenMessage(ctx context.Context, mailboxID int64, uid uint32) (BodyReader, error)
}

// Directory finds accounts and aliases: what routing a recipient needs.
type Directory interface {
	// AccountByAddress finds an account by its address, ignoring case.
	AccountByAddress(ctx context.Context, address string) (Account, error)
	// AliasTargets returns the targets of one alias ("a@d" or "@d"), or
	// ErrNotFound.
	AliasTargets(ctx context.Context, alias string) ([]string, error)
}

// DeliveryStore is what delivery needs to route a message and take it in.
type DeliveryStore interface {
	Directory
	SpoolBody(ctx context.Context, r io.Reader, maxBytes int64) (*Body, error)
	// Accept stores local copies and queues remote ones in one durable
	// transaction: everything or nothing.
	Accept(ctx context.Context, appends []AppendItem, queue []QueueItem) ([]AppendResult, error)
}

// Submission is what the SMTP server needs: delivery for every message,
// and for submission the logins and the end of a logged-in account.
type Submission interface {
	DeliveryStore
	Credentials
	Events
}

// QueueStore is what the outbound runner needs: the queue, the bodies it
// sends, and delivery to route bounces to local senders.
type QueueStore interface {
	DeliveryStore
	// Enqueue queues messages for remote recipients, durably.
	Enqueue(ctx context.Context, items ...QueueItem) error
	// QueueDue returns up to limit entries due at now, oldest due first.
	QueueDue(ctx context.Context, now time.Time, limit int) ([]QueueEntry, error)
	// QueueNext returns the earliest next attempt; ok is false when the
	// queue is empty.
	QueueNext(ctx context.Context) (next time.Time, ok bool, err error)
	// QueueEntry returns one entry, or ErrNotFound.
	QueueEntry(ctx context.Context, id int64) (QueueEntry, error)
	// QueueList returns every entry, oldest first.
	QueueList(ctx context.Context) ([]QueueEntry, error)
	// QueueAttempt claims entries still due at now for an attempt, and
	// makes them due again at retry should the process die meanwhile.
	QueueAttempt(ctx context.Context, ids []int64, now, retry time.Time) ([]int64, error)
	// QueueUpdate records an attempt's results with their notices; an
	// entry with no recipient pending is removed.
	QueueUpdate(ctx context.Context, u QueueUpdate) (removed bool, err error)
	// QueueRetry makes one entry (id > 0) or all (id 0) due at now.
	QueueRetry(ctx context.Context, id int64, now time.Time) (int, error)
	// QueueDrop removes an entry undelivered, committing notice with it.
	QueueDrop(ctx context.Context, id int64, notice Notice) error
	ReadBody(ctx context.Context, bodyID int64) ([]byte, error)
}

// Reindexer analyses stored bodies again when the analysis improves
// (mimeinfo.Version), while the server runs.
type Reindexer interface {
	// StaleBodies counts the bodies an older analysis computed.
	StaleBodies(ctx context.Context) (int, error)
	// ReindexBodies analyses again up to limit stale bodies with ids
	// above after, in id order, and stores the results in one short
	// write. It returns how many it looked at, 0 when none is left, and
	// the id to go on after.
	ReindexBodies(ctx context.Context, after int64, limit int) (n int, next int64, err error)
}

// AdminStore is what the command line manages: accounts, aliases, the
// queue, and re-analysis.
type AdminStore interface {
	QueueStore
	Reindexer
	// The lockouts the server set: "postern auth blocked|unblock".
	AuthBlocks(ctx context.Context, now time.Time) ([]AuthBlock, error)
	DeleteAuthBlocks(ctx context.Context, source, account string) (int, error)
	Accounts(ctx context.Context) ([]Account, error)
	CreateAccount(ctx context.Context, address, password string) (Account, error)
	SetPassword(ctx context.Context, address, password string) error
	// DeleteAccount removes an account with its mailboxes and messages;
	// its sessions end.
	DeleteAccount(ctx context.Context, address string) error
	// DisableAccount keeps an account and its mail but refuses its logins
	// and its mail, and ends its sessions; EnableAccount undoes it.
	DisableAccount(ctx context.Context, address string) error
	EnableAccount(ctx context.Context, address string) error
	// AddAlias adds targets to an alias, creating it if needed.
	AddAlias(ctx context.Context, alias string, targets []string) error
	DeleteAlias(ctx context.Context, alias string) error
	Aliases(ctx context.Context) ([]Alias, error)
}

// Backend is everything a backend provides: what storagetest checks and
// what the server wiring hands to each consumer.
type Backend interface {
	MailStore
	Maildrop
	Submission
	AdminStore
	Logins
	// Authenticate checks a password with CheckLogin's rules, for what
	// logs in without package auth: unknown accounts and wrong passwords
	// give ErrAuthFailed, the right password of a disabled account
	// ErrAccountDisabled.
	Authenticate(ctx context.Context, address, password string) (Account, error)
	ChangeLog

	// CheckWritable fails when the store cannot commit a write now (the
	// health check).
	CheckWritable(ctx context.Context) error
	// DeleteUnreferencedBodies deletes the bodies nothing refers to that
	// a reader kept when the process stopped; the server runs it at
	// start.
	DeleteUnreferencedBodies(ctx context.Context) (int, error)
	// Close stops the store after the writes already queued.
	Close() error
}

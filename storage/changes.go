package storage

import (
	"context"
	"errors"
	"time"
)

// The change log records every committed change of the store (an
// append, flags, an expunge, a mailbox created, deleted or renamed, an
// account created, deleted, disabled or enabled, a password or an alias
// changed) in the transaction that makes it, with a store-wide position
// (Seq) that grows in commit order. It is how every process sees every
// change: the server publishes its own commits to its sessions at once,
// and reads those of other processes (a CLI command, an import, another
// node) from the log (Feed). It keeps the entries only for a while
// (ChangeRetention): a reader that fell further behind resyncs.
//
// Expunged UIDs are kept longer, apart from the log, for "what vanished
// since MODSEQ n" (RFC 7162 §3.2.5.1): see ExpungeHistory.

// ChangeRetention is how long change-log entries are kept: every process
// that follows the log reads them long before.
const ChangeRetention = 10 * time.Minute

// DefaultExpungeHistory is how long expunged UIDs stay on record by
// default ([storage] expunge_history).
const DefaultExpungeHistory = 720 * time.Hour

// ErrChangesPruned means that change-log entries after the asked position
// were removed: the reader missed changes and must resync.
var ErrChangesPruned = errors.New("change log entries were pruned")

// Change is one entry of the change log.
type Change struct {
	Event
	Node uint64    // the node (process) that committed the change
	Time time.Time // when it was committed
}

// ChangeLog is how the change log is read and kept.
type ChangeLog interface {
	// ChangesAfter returns the changes committed after position pos,
	// oldest first, at most limit of them. It fails with
	// ErrChangesPruned when entries after pos were pruned. An entry that
	// cannot be read comes with Kind 0: the reader resyncs past it.
	ChangesAfter(ctx context.Context, pos uint64, limit int) ([]Change, error)
	// LastChange returns the position of the newest change, 0 if none.
	LastChange(ctx context.Context) (uint64, error)
	// PruneChanges removes the entries at or below position through. A
	// reader behind it then gets ErrChangesPruned.
	PruneChanges(ctx context.Context, through uint64) error
	// CompactExpunges forgets the expunges committed before before (see
	// History.VanishedSince), and returns how many it forgot.
	CompactExpunges(ctx context.Context, before time.Time) (int, error)
}

// History answers what a resyncing IMAP client asks (RFC 7162): what
// changed and what vanished in a mailbox since a MODSEQ it knew.
type History interface {
	// ChangedSince returns the messages of a mailbox whose MODSEQ is
	// above modseq, in UID order, with their flags (CONDSTORE
	// CHANGEDSINCE, RFC 7162 §3.1.4.1).
	ChangedSince(ctx context.Context, mailboxID int64, modseq uint64) ([]FlagChange, error)
	// VanishedSince returns the UIDs expunged from a mailbox since
	// modseq, in order (RFC 7162 §3.2.5.1). complete is false when the
	// history no longer reaches back to modseq: some UIDs expunged since
	// may be missing, and the caller must fall back to a full resync
	// (RFC 7162 §3.2.5.2) rather than trust the answer.
	VanishedSince(ctx context.Context, mailboxID int64, modseq uint64) (uids []uint32, complete bool, err error)
}

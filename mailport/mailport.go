// Package mailport carries mail in and out of Postern: it reads messages from
// another system's storage (mbox, Maildir, a remote IMAP server) as one stream,
// and gives them the shape Postern stores.
//
// A Source yields Messages one at a time, like archive/tar's Reader: a message's
// Body is read before the next call to Next, so a source holds one message at
// most, and a large message is streamed, never held whole. Each message carries
// a Key that names it within its source, stably across runs, so that an import
// that is run again can leave out what it already has (see Message.Key).
//
// The sources live in subpackages (mailport/mbox, mailport/maildir,
// mailport/imapsrc); mailport/source opens the right one for a path or URL.
// mailport/maildir also writes a Maildir++ tree, for export.
package mailport

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Message is one message read from a source.
type Message struct {
	// Mailboxes the message belongs in, as Postern names them: levels joined
	// by "/", INBOX in upper case. Most sources give one; a Google Takeout
	// message gives one per label. Never empty.
	Mailboxes []string

	// Flags as IMAP spells them: system flags (\Seen \Answered \Flagged
	// \Deleted \Draft) and keywords, without duplicates, never \Recent.
	Flags []string

	// InternalDate is when the message arrived (RFC 3501 §2.3.3), or zero
	// when the source does not know; the importer then uses the time of import.
	InternalDate time.Time

	// Size is the exact number of octets Body yields.
	Size int64

	// Key names the message within its source, the same on every run, so an
	// import can record the keys it stored and leave them out when run again.
	// It is known before Body is read: a message can be skipped unread.
	// Each source documents its form; the forms of different sources never
	// collide (they start with "mbox:", "maildir:" or "imap://").
	Key string

	// Body yields the message's octets as the source stores them (line
	// endings are not changed). It is valid until the next call to Next;
	// what is left unread is skipped. A read error means the message is
	// incomplete and must not be stored.
	Body io.Reader
}

// Source is a stream of messages.
type Source interface {
	// Next returns the next message. It returns io.EOF at the end. An error
	// of type *Problem reports something the source skipped or worked around
	// (a file it could not read, a folder name it could not decode); the
	// source stays usable and the next call goes on. Any other error is fatal.
	Next(ctx context.Context) (*Message, error)

	// Close releases the source's files and connections.
	Close() error
}

// Estimator is implemented by sources that can tell beforehand about how much
// they hold, for a progress bar's ETA. Either count is -1 when unknown.
type Estimator interface {
	Estimate(ctx context.Context) (messages, bytes int64, err error)
}

// Problem is a non-fatal error of a source: what was skipped and why.
type Problem struct {
	Path    string // file, folder or remote mailbox concerned, if any
	Mailbox string // Postern mailbox concerned, if known
	Err     error
}

func (p *Problem) Error() string {
	where := p.Path
	if where == "" {
		where = p.Mailbox
	}
	if where == "" {
		return p.Err.Error()
	}
	return fmt.Sprintf("%s: %v", where, p.Err)
}

func (p *Problem) Unwrap() error { return p.Err }

// Lister is implemented by sources that know their mailboxes beforehand,
// empty ones too; the importer creates them all, so that an empty folder
// survives the move.
type Lister interface {
	Mailboxes(ctx context.Context) ([]string, error)
}

// Package imapsrc reads every mailbox of an account on a remote IMAP server
// as a mailport.Source.
//
// The mailboxes come from LIST (with RFC 6154 special-use attributes where
// the server has SPECIAL-USE): a mailbox with \Sent, \Drafts, \Trash, \Junk
// or \Archive goes into Postern's mailbox of that use, INBOX into INBOX,
// the others keep their names (levels split at the server's delimiter, the
// personal namespace's prefix such as Courier's "INBOX." left out). Views
// that only show mail kept elsewhere (\All, \Flagged, \Important, as Gmail's
// "All Mail", "Starred" and "Important") and \Noselect names are left out:
// their messages come from the mailboxes that hold them.
//
// Each mailbox is opened read-only (EXAMINE) and read in batches: the UIDs
// first (UID SEARCH), then FLAGS, INTERNALDATE and RFC822.SIZE of a batch,
// then the bodies (BODY.PEEK[], which leaves \Seen alone) of the messages the
// caller wants, streamed from the connection: a message is never held whole,
// and the whole mailbox never is.
//
// Message.Key is an IMAP URL of the message (Remote.Key): server, user,
// mailbox, UIDVALIDITY and UID name one message for as long as the server
// keeps the mailbox's UIDVALIDITY (RFC 3501 §2.3.1.1).
//
// # Resuming
//
// State records, per mailbox, its UIDVALIDITY and the highest UID up to which
// every message was returned and read; a Source started from a saved State
// goes on after it (after an interruption, a crash, or to fetch what arrived
// since). A changed UIDVALIDITY starts the mailbox over; the keys then differ.
// A dropped connection is reconnected and the import resumes where it was,
// up to Options.Retries times in a row. A message body that fails in the
// middle is fetched again, and given up (a Problem) after Retries tries.
//
// # Sizes
//
// The body's size is the size of the literal the server sends; RFC822.SIZE
// is only used to leave out, before downloading, messages above
// Options.MaxMessageSize. A literal above it (a server that lied) closes the
// connection rather than reading it; a literal that ends early is an error
// of that message's Body, which is then fetched again.
package imapsrc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"postern/mailport"
)

// DefaultMaxMessageSize is the largest message fetched when
// Options.MaxMessageSize is 0.
const DefaultMaxMessageSize = 1 << 30

// Options adjust a Source.
type Options struct {
	Password string
	// TLSConfig verifies the server; nil: the system's roots, for the host
	// in the URL.
	TLSConfig *tls.Config
	// State is where to resume; nil starts from the beginning. The Source
	// updates its own copy: see Source.State.
	State *State
	// Skip, if set, is asked about each message's key before its body is
	// downloaded; true leaves the message out (it was imported before).
	Skip func(key string) bool
	// MaxMessageSize leaves out larger messages, with a Problem; 0 means
	// DefaultMaxMessageSize.
	MaxMessageSize int64
	// BatchSize is the number of messages per FETCH; 0 means 100.
	BatchSize int
	// Retries is how often a dropped connection is reconnected in a row,
	// and a failing message fetched again; 0 means 5.
	Retries int
	// Backoff is the first wait before reconnecting, doubled each time;
	// 0 means one second.
	Backoff time.Duration
	// Sleep waits; nil uses a timer. Tests replace it to go fast.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Source reads a remote account.
type Source struct {
	remote *Remote
	opts   Options
	state  State

	c          *imapclient.Client
	conn       net.Conn // under c
	stopCancel func() bool
	reconnects int // in a row, without a message in between

	all     []remoteMailbox // every mailbox to read, for Mailboxes
	todo    []remoteMailbox
	cur     *remoteMailbox
	resumed string // the mailbox a dropped connection was reading
	uidv    uint32
	uids    []imap.UID                // to read in the current mailbox, ascending
	maxUID  imap.UID                  // the highest UID the search found
	above   map[imap.UID]bool         // done above the state's LastUID
	fails   map[imap.UID]int          // failed body fetches per UID
	batch   []imap.UID                // the batch being fetched, ascending
	metas   map[imap.UID]*messageMeta // its metadata
	fetch   *imapclient.FetchCommand
	body    *bodyReader // of the message last returned, until Next settles it
	lit     *bodyReader // the literal the FETCH waits on, until fetch.Next
	probs   []error
}

type remoteMailbox struct {
	name    string // the server's name (UTF-8)
	mailbox string // Postern's
}

type messageMeta struct {
	flags []string
	date  time.Time
	size  int64
	sent  bool // its body was returned by Next
	done  bool
}

var _ mailport.Source = (*Source)(nil)

// Open connects, logs in and lists the mailboxes to read.
func Open(ctx context.Context, remote *Remote, opts *Options) (*Source, error) {
	s := &Source{remote: remote}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.MaxMessageSize <= 0 {
		s.opts.MaxMessageSize = DefaultMaxMessageSize
	}
	if s.opts.BatchSize <= 0 {
		s.opts.BatchSize = 100
	}
	if s.opts.Retries <= 0 {
		s.opts.Retries = 5
	}
	if s.opts.Backoff <= 0 {
		s.opts.Backoff = time.Second
	}
	if s.opts.Sleep == nil {
		s.opts.Sleep = sleep
	}
	s.state = s.opts.State.clone()
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	mbs, err := s.list()
	if err != nil {
		s.Close()
		return nil, err
	}
	s.all = mbs
	s.todo = slices.Clone(mbs)
	return s, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// State returns the resume point: what Next has returned so far, and whose
// bodies were read (or left unread on purpose). Save it once the messages
// returned so far are stored.
func (s *Source) State() *State {
	st := s.state.clone()
	return &st
}

// Mailboxes lists the Postern mailboxes the import fills (mailport.Lister).
func (s *Source) Mailboxes(ctx context.Context) ([]string, error) {
	var out []string
	for _, m := range s.all {
		if !slices.Contains(out, m.mailbox) {
			out = append(out, m.mailbox)
		}
	}
	return out, nil
}

// Estimate adds up STATUS MESSAGES (and SIZE, where the server has
// STATUS=SIZE) of the mailboxes (mailport.Estimator).
func (s *Source) Estimate(ctx context.Context) (messages, bytes int64, err error) {
	if s.c == nil || s.fetch != nil {
		return -1, -1, errors.New("estimate only before the first message")
	}
	withSize := s.c.Caps().Has(imap.CapStatusSize) || s.c.Caps().Has(imap.CapIMAP4rev2)
	if !withSize {
		bytes = -1
	}
	for _, m := range s.all {
		st, err := s.c.Status(m.name, &imap.StatusOptions{NumMessages: true, Size: withSize}).Wait()
		if err != nil {
			return -1, -1, fmt.Errorf("STATUS %s: %w", m.name, err)
		}
		if st.NumMessages != nil {
			messages += int64(*st.NumMessages)
		}
		if withSize && st.Size != nil {
			bytes += *st.Size
		}
	}
	return messages, bytes, nil
}

// Close logs out.
func (s *Source) Close() error {
	if s.c != nil && s.fetch == nil {
		s.c.Logout().Wait()
	}
	s.drop()
	s.todo = nil
	return nil
}

// Next returns the next message (see mailport.Source).
func (s *Source) Next(ctx context.Context) (*mailport.Message, error) {
	s.finishBody()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(s.probs) > 0 {
			p := s.probs[0]
			s.probs = s.probs[1:]
			return nil, p
		}
		if s.c == nil {
			if err := s.reconnect(ctx); err != nil {
				return nil, err
			}
			continue
		}
		var m *mailport.Message
		var err error
		switch {
		case s.fetch != nil:
			m, err = s.nextBody()
		case s.cur != nil && len(s.batch) > 0:
			s.endBatch()
		case s.cur != nil && len(s.uids) > 0:
			err = s.startBatch()
		case s.cur != nil:
			s.cur = nil
		case len(s.todo) > 0:
			err = s.selectMailbox(ctx)
		default:
			return nil, io.EOF
		}
		if err != nil {
			if !isServerError(err) {
				// The connection failed: reconnect and resume.
				s.drop()
				continue
			}
			return nil, err
		}
		if m != nil {
			s.reconnects = 0
			return m, nil
		}
	}
}

// isServerError tells a server's NO or BAD from a failed connection.
func isServerError(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie)
}

// selectMailbox opens the next mailbox and lists the UIDs to read.
func (s *Source) selectMailbox(ctx context.Context) error {
	mb := s.todo[0]
	sel, err := s.c.Select(mb.name, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		if isServerError(err) {
			s.todo = s.todo[1:]
			s.probs = append(s.probs, &mailport.Problem{Path: mb.name, Mailbox: mb.mailbox, Err: fmt.Errorf("EXAMINE: %w", err)})
			return nil
		}
		return err
	}
	if s.resumed != mb.name || s.uidv != sel.UIDValidity {
		// Not the mailbox a dropped connection was reading: start afresh.
		s.above, s.fails = map[imap.UID]bool{}, map[imap.UID]int{}
	}
	st := s.state.get(mb.name)
	if st.UIDValidity != sel.UIDValidity {
		st = MailboxState{UIDValidity: sel.UIDValidity}
		s.state.set(mb.name, st)
	}
	var uids []imap.UID
	var maxUID imap.UID
	if sel.NumMessages > 0 {
		var set imap.UIDSet
		set.AddRange(imap.UID(st.LastUID)+1, 0) // LastUID+1:*
		data, err := s.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
		if err != nil {
			if isServerError(err) {
				s.todo = s.todo[1:]
				s.probs = append(s.probs, &mailport.Problem{Path: mb.name, Mailbox: mb.mailbox, Err: fmt.Errorf("UID SEARCH: %w", err)})
				return nil
			}
			return err
		}
		for _, u := range data.AllUIDs() {
			maxUID = max(maxUID, u)
			// "n:*" holds the last message even when its UID is below n.
			if uint32(u) > st.LastUID && !s.above[u] {
				uids = append(uids, u)
			}
		}
		slices.Sort(uids)
	}
	s.todo = s.todo[1:]
	s.cur, s.uidv, s.uids = &mb, sel.UIDValidity, uids
	s.maxUID = maxUID
	s.resumed = ""
	return nil
}

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
	"strings"
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

// startBatch fetches the metadata of the next batch and starts fetching
// the bodies wanted.
func (s *Source) startBatch() error {
	n := min(len(s.uids), s.opts.BatchSize)
	batch := s.uids[:n]
	var set imap.UIDSet
	set.AddNum(batch...)
	bufs, err := s.c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true}).Collect()
	if err != nil {
		if isServerError(err) {
			s.uids = s.uids[n:]
			s.batch, s.metas = batch, map[imap.UID]*messageMeta{}
			for _, u := range batch {
				s.metas[u] = &messageMeta{}
			}
			s.failBatch(err)
			return nil
		}
		return err
	}
	metas := make(map[imap.UID]*messageMeta, n)
	for _, b := range bufs {
		if b.UID == 0 || !slices.Contains(batch, b.UID) {
			continue
		}
		flags := make([]string, len(b.Flags))
		for i, f := range b.Flags {
			flags[i] = string(f)
		}
		metas[b.UID] = &messageMeta{flags: mailport.NormalizeFlags(flags), date: b.InternalDate, size: b.RFC822Size}
	}
	s.uids = s.uids[n:]
	s.batch, s.metas = batch, metas
	var want imap.UIDSet
	for _, u := range batch {
		m := metas[u]
		switch {
		case m == nil:
			// Expunged since the search: nothing to import.
			s.metas[u] = &messageMeta{done: true}
		case s.opts.Skip != nil && s.opts.Skip(s.key(u)):
			m.done = true
		case m.size > s.opts.MaxMessageSize:
			m.done = true
			s.problem(u, fmt.Errorf("%d octets, more than the %d allowed: left out", m.size, s.opts.MaxMessageSize))
		default:
			want.AddNum(u)
		}
	}
	s.advance()
	if len(want) > 0 {
		s.fetch = s.c.Fetch(want, &imap.FetchOptions{UID: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	}
	return nil
}

func (s *Source) key(u imap.UID) string { return s.remote.Key(s.cur.name, s.uidv, u) }

func (s *Source) problem(u imap.UID, err error) {
	s.probs = append(s.probs, &mailport.Problem{Path: s.key(u), Mailbox: s.cur.mailbox, Err: err})
}

// nextBody returns the next message of the body FETCH, or nil when it ended.
func (s *Source) nextBody() (*mailport.Message, error) {
	s.lit = nil // Next discards what is left of it
	md := s.fetch.Next()
	if md == nil {
		err := s.fetch.Close()
		s.fetch = nil
		if isServerError(err) {
			s.failBatch(err)
			return nil, nil
		}
		return nil, err
	}
	var uid imap.UID
	for {
		item := md.Next()
		if item == nil {
			return nil, nil // no body in this response (a FLAGS update)
		}
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = it.UID
		case imapclient.FetchItemDataBodySection:
			m := s.metas[uid]
			if uid == 0 || m == nil || m.done {
				continue // not asked for, or a UID after its body: skipped
			}
			if it.Literal == nil {
				m.done = true
				s.problem(uid, errors.New("the server sent NIL for the body"))
				s.advance()
				return nil, nil
			}
			size := it.Literal.Size()
			if size > s.opts.MaxMessageSize {
				// RFC822.SIZE was smaller: rather than read this, hang up.
				m.done = true
				s.problem(uid, fmt.Errorf("the server sent %d octets after announcing %d, more than the %d allowed: left out", size, m.size, s.opts.MaxMessageSize))
				s.advance()
				s.conn.Close()
				io.Copy(io.Discard, it.Literal) // fails at once: frees the client's reader
				return nil, errors.New("connection closed on an oversized literal")
			}
			m.sent = true
			s.lit = &bodyReader{r: it.Literal, size: size, uid: uid, whole: func() {
				m.done = true
				s.advance()
			}}
			s.body = s.lit
			return &mailport.Message{
				Mailboxes:    []string{s.cur.mailbox},
				Flags:        m.flags,
				InternalDate: m.date,
				Size:         size,
				Key:          s.key(uid),
				Body:         s.lit,
			}, nil
		}
	}
}

// finishBody settles the message last returned: done, unless reading its
// body failed; then it stays in the batch, and endBatch queues it again.
func (s *Source) finishBody() {
	b := s.body
	if b == nil {
		return
	}
	s.body = nil
	failed := b.err != nil && b.err != io.EOF
	if m := s.metas[b.uid]; m != nil && !m.done {
		if failed {
			s.fails[b.uid]++
			if s.fails[b.uid] >= s.opts.Retries {
				s.problem(b.uid, fmt.Errorf("body failed %d times, left out: %w", s.fails[b.uid], b.err))
				m.done = true
			}
		} else {
			m.done = true
		}
		s.advance()
	}
	if failed {
		// The connection broke under the literal; going on with the FETCH
		// would read it again beside the client's reader.
		s.drop()
	}
}

// endBatch ends a batch after its FETCH: messages not done go back to the
// front of the queue, to be fetched again, or are given up after Retries.
func (s *Source) endBatch() {
	var again []imap.UID
	for _, u := range s.batch {
		m := s.metas[u]
		if m.done {
			continue
		}
		// Not sent, though the FETCH succeeded: count it, so that a message
		// the server never sends is given up in the end. (A body that
		// failed was counted by finishBody.)
		if !m.sent {
			s.fails[u]++
		}
		if s.fails[u] >= s.opts.Retries {
			m.done = true
			s.problem(u, errors.New("the server did not send it whole: left out"))
			continue
		}
		again = append(again, u)
	}
	s.advance()
	s.uids = append(again, s.uids...)
	s.batch, s.metas = nil, nil
}

// failBatch gives up the messages of the batch not done, after the server
// refused to FETCH them.
func (s *Source) failBatch(err error) {
	for _, u := range s.batch {
		if m := s.metas[u]; !m.done {
			m.done = true
			s.problem(u, fmt.Errorf("FETCH: %w", err))
		}
	}
	s.advance()
	s.batch, s.metas = nil, nil
}

// advance moves the state's LastUID up to just below the first message not
// done: every message below it was returned or left out. Messages done
// above it (after one whose body must be fetched again) are remembered
// apart, so that a reconnection does not fetch them again.
func (s *Source) advance() {
	if s.cur == nil {
		return // a body read after its connection was dropped
	}
	st := s.state.get(s.cur.name)
	last := uint32(s.maxUID)
	for _, u := range s.batch {
		if m := s.metas[u]; m == nil || !m.done {
			last = uint32(u) - 1
			break
		}
	}
	if last == uint32(s.maxUID) && len(s.uids) > 0 {
		last = uint32(s.uids[0]) - 1
	}
	if last > st.LastUID {
		st.LastUID = last
		s.state.set(s.cur.name, st)
	}
	for _, u := range s.batch {
		if m := s.metas[u]; m != nil && m.done && uint32(u) > st.LastUID {
			s.above[u] = true
		}
	}
}

// bodyReader reads a message's literal and checks that it is whole.
type bodyReader struct {
	r     io.Reader
	size  int64
	n     int64
	uid   imap.UID
	err   error
	whole func()
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err == io.EOF && b.n < b.size {
		err = fmt.Errorf("the connection ended after %d of %d octets: %w", b.n, b.size, io.ErrUnexpectedEOF)
	}
	if err != nil {
		b.err = err
	}
	if b.n == b.size && b.whole != nil {
		// Read whole: done now, so that State counts it at once.
		b.whole()
		b.whole = nil
	}
	return n, err
}

// mailboxName maps a server's mailbox to Postern's name; "" leaves it out.
func mailboxName(l *imap.ListData, prefix string) string {
	for _, a := range l.Attrs {
		switch strings.ToLower(string(a)) {
		case `\noselect`, `\nonexistent`, `\all`, `\flagged`, `\important`:
			return ""
		}
	}
	if strings.EqualFold(l.Mailbox, "INBOX") {
		return mailport.Inbox
	}
	for _, a := range l.Attrs {
		if n := mailport.SpecialUseName(string(a)); n != "" {
			return n
		}
	}
	name := l.Mailbox
	if prefix != "" && len(name) > len(prefix) && strings.EqualFold(name[:len(prefix)], prefix) {
		name = name[len(prefix):]
	}
	if l.Delim == 0 {
		return mailport.Name(name)
	}
	return mailport.Name(strings.Split(name, string(l.Delim))...)
}

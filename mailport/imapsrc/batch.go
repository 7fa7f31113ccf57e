package imapsrc

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"postern/mailport"
)

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

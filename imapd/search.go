package imapd

import (
	"cmp"
	"errors"
	"slices"

	"github.com/emersion/go-imap/v2"

	"postern/mimeinfo"
	"postern/storage"
)

// Each message costs a SEARCH a bounded share of memory, whatever the
// mailbox holds.
const (
	// maxSearchHeader bounds how much of a header block HEADER and TEXT
	// look at: its first MiB, as the analysis at delivery does (mimeinfo).
	// A header block can be as large as its message.
	maxSearchHeader = 1 << 20
	// maxSearchText bounds the decoded text of one message that BODY and
	// TEXT look at.
	maxSearchText = 4 << 20
)

// search evaluates SEARCH criteria over the session's view in up to three
// passes, each reading more of a message than the one before, for the
// messages the one before left undecided:
//
//  1. flags, dates, sizes and the common header fields, from one store
//     query of columns computed at delivery;
//  2. other header fields, from the stored header blocks, streamed one
//     message at a time;
//  3. BODY and TEXT, from the bodies, read and decoded one at a time.
//
// The criteria are compiled once (search_query.go): every string of the
// SEARCH is looked for in one pass over each text, so a message costs the
// same whatever the number of keys.
func (c *conn) search(crit *imap.SearchCriteria) ([]member, error) {
	s := c.sel
	st := c.srv.cfg.Store
	ev := newEvaluator(c, crit)
	rows, err := st.SearchHeaders(c.ctx, s.id, ev.cols)
	if err != nil {
		return nil, err
	}
	var out []member
	var pending []searchMsg
	// Rows and view are both in UID order: walk them together.
	j := 0
	for i := range rows {
		row := &rows[i]
		for j < len(s.uids) && s.uids[j] < row.UID {
			j++
		}
		if j == len(s.uids) {
			break
		}
		if s.uids[j] != row.UID {
			continue // not yet (or no longer) in this session's view
		}
		m := searchMsg{seq: uint32(j + 1), row: row}
		switch ev.eval(&m) {
		case isMatch:
			out = append(out, member{m.seq, row.UID})
		case mayMatch:
			pending = append(pending, m)
		}
	}
	if len(pending) > 0 && ev.needHeader {
		if pending, out, err = c.searchHeaders(ev, pending, out); err != nil {
			return nil, err
		}
	}
	// What is still undecided depends on BODY or TEXT.
	for i := range pending {
		m := &pending[i]
		body, err := st.ReadBody(c.ctx, m.row.BodyID)
		if errors.Is(err, storage.ErrNotFound) {
			continue // expunged and purged since the rows were read
		}
		if err != nil {
			return nil, err
		}
		m.header, m.haveHeader = body[:min(mimeinfo.HeaderLen(body), maxSearchHeader)], true
		m.body, m.haveBody = body, true
		if ev.eval(m) == isMatch {
			out = append(out, member{m.seq, m.row.UID})
		}
		m.header, m.body = nil, nil
	}
	slices.SortFunc(out, func(a, b member) int { return cmp.Compare(a.seq, b.seq) })
	return out, nil
}

// searchHeaders is the second pass: it streams the header blocks of the
// pending messages and returns those still undecided, without their
// header (the third pass takes it from the body).
func (c *conn) searchHeaders(ev *evaluator, pending []searchMsg, out []member) ([]searchMsg, []member, error) {
	uids := make([]uint32, len(pending))
	for i := range pending {
		uids[i] = pending[i].row.UID
	}
	var still []searchMsg
	decide := func(m *searchMsg, header []byte) {
		m.header, m.haveHeader = header, true
		switch ev.eval(m) {
		case isMatch:
			out = append(out, member{m.seq, m.row.UID})
		case mayMatch:
			m.header, m.haveHeader = nil, false
			still = append(still, *m)
		}
		m.header = nil
	}
	k := 0
	err := c.srv.cfg.Store.EachHeader(c.ctx, c.sel.id, uids, maxSearchHeader, func(uid uint32, header []byte) error {
		// A message the store no longer has is judged on an empty header.
		for ; k < len(pending) && pending[k].row.UID != uid; k++ {
			decide(&pending[k], nil)
		}
		if k < len(pending) {
			decide(&pending[k], header)
			k++
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for ; k < len(pending); k++ {
		decide(&pending[k], nil)
	}
	return still, out, nil
}

// searchMsg is one message being evaluated, with what has been read of it.
type searchMsg struct {
	seq        uint32
	row        *storage.HeaderRow
	header     []byte // the header block, cut to maxSearchHeader
	body       []byte // the whole message
	haveHeader bool
	haveBody   bool
}

func (m *searchMsg) level() dataLevel {
	switch {
	case m.haveBody:
		return levelBody
	case m.haveHeader:
		return levelHeader
	}
	return levelRow
}

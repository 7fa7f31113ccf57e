package imapd

import (
	"bytes"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"postern/mimeinfo"
	"postern/storage"
)

// search evaluates SEARCH criteria over the session's view. Flags, dates,
// sizes and the common header fields come from one store query of
// precomputed columns; other header fields from the stored header
// blocks; only BODY and TEXT read message bodies.
func (c *conn) search(crit *imap.SearchCriteria) ([]member, error) {
	s := c.sel
	var need searchNeeds
	need.scan(crit)
	st := c.srv.cfg.Store
	rows, err := st.SearchHeaders(c.ctx, s.id, need.cols)
	if err != nil {
		return nil, err
	}
	var headers map[uint32][]byte
	if need.header {
		headers = make(map[uint32][]byte, len(s.uids))
		for start := 0; start < len(s.uids); start += fetchBatch {
			ms, err := st.FetchMessages(c.ctx, s.id, s.uids[start:min(start+fetchBatch, len(s.uids))], storage.FetchWant{Header: true})
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				headers[m.UID] = m.Header
			}
		}
	}
	ev := &evaluator{c: c, n: uint32(len(s.uids)), headers: headers}
	if len(s.uids) > 0 {
		ev.maxUID = s.uids[len(s.uids)-1]
	}
	var out []member
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
		m := &searchMsg{seq: uint32(j + 1), row: row}
		// First without reading the body: most messages are decided by
		// flags, dates and headers alone. Only an undecided one is read.
		res, err := ev.match(crit, m, false)
		if err == nil && res == mayMatch {
			res, err = ev.match(crit, m, true)
		}
		if err != nil {
			return nil, err
		}
		if res == isMatch {
			out = append(out, member{m.seq, row.UID})
		}
	}
	return out, nil
}

type searchNeeds struct {
	cols   storage.SearchColumns
	header bool // some other header field
}

func (n *searchNeeds) scan(c *imap.SearchCriteria) {
	for _, h := range c.Header {
		switch strings.ToLower(h.Key) {
		case "subject":
			n.cols |= storage.SearchSubject
		case "from":
			n.cols |= storage.SearchFrom
		case "to":
			n.cols |= storage.SearchTo
		case "cc":
			n.cols |= storage.SearchCc
		case "bcc":
			n.cols |= storage.SearchBcc
		default:
			n.header = true
		}
	}
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		n.cols |= storage.SearchDate
	}
	for i := range c.Not {
		n.scan(&c.Not[i])
	}
	for i := range c.Or {
		n.scan(&c.Or[i][0])
		n.scan(&c.Or[i][1])
	}
}

type searchMsg struct {
	seq      uint32
	row      *storage.HeaderRow
	body     []byte // loaded on first BODY or TEXT
	bodyText string // decoded body text, case-folded, on first BODY or TEXT
	fullText string // decoded header and body text, case-folded, on first TEXT
	haveBody bool
	haveText bool
}

// maxSearchText bounds the decoded text of one message that BODY and TEXT
// look at, so a huge message costs a bounded amount of memory per search.
const maxSearchText = 4 << 20

// result is a criterion's outcome; mayMatch means it depends on the body,
// which has not been read.
type result int8

const (
	noMatch result = iota
	isMatch
	mayMatch
)

type evaluator struct {
	c       *conn
	n       uint32 // messages in the view: "*" for sequence numbers
	maxUID  uint32 // "*" for UIDs
	headers map[uint32][]byte
}

// match evaluates c for m. With readBody false, BODY and TEXT are not
// evaluated but give mayMatch, and the result is mayMatch when they decide it.
func (ev *evaluator) match(c *imap.SearchCriteria, m *searchMsg, readBody bool) (result, error) {
	if !ev.matchCheap(c, m) {
		return noMatch, nil
	}
	res := isMatch
	if len(c.Body) > 0 || len(c.Text) > 0 {
		if !readBody {
			res = mayMatch
		} else if ok, err := ev.matchText(c, m); err != nil || !ok {
			return noMatch, err
		}
	}
	for i := range c.Not {
		r, err := ev.match(&c.Not[i], m, readBody)
		if err != nil {
			return noMatch, err
		}
		switch r {
		case isMatch:
			return noMatch, nil
		case mayMatch:
			res = mayMatch
		}
	}
	for i := range c.Or {
		a, err := ev.match(&c.Or[i][0], m, readBody)
		if err != nil {
			return noMatch, err
		}
		if a == isMatch {
			continue
		}
		b, err := ev.match(&c.Or[i][1], m, readBody)
		if err != nil {
			return noMatch, err
		}
		switch {
		case b == isMatch:
		case a == noMatch && b == noMatch:
			return noMatch, nil
		default:
			res = mayMatch
		}
	}
	return res, nil
}

// matchCheap evaluates the criteria of c that need no body: sequence
// numbers, UIDs, dates, flags, sizes and header fields.
func (ev *evaluator) matchCheap(c *imap.SearchCriteria, m *searchMsg) bool {
	r := m.row
	for _, set := range c.SeqNum {
		if !inSet([]imap.SeqRange(set), m.seq, ev.n) {
			return false
		}
	}
	for _, set := range c.UID {
		ranges := make([]imap.SeqRange, len(set))
		for i, x := range set {
			ranges[i] = imap.SeqRange{Start: uint32(x.Start), Stop: uint32(x.Stop)}
		}
		if !inSet(ranges, r.UID, ev.maxUID) {
			return false
		}
	}
	// Dates compare by day, disregarding time and zone (§6.4.4).
	if !c.Since.IsZero() || !c.Before.IsZero() {
		d := day(r.InternalDate)
		if (!c.Since.IsZero() && d.Before(c.Since)) || (!c.Before.IsZero() && !d.Before(c.Before)) {
			return false
		}
	}
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		if r.Date.IsZero() {
			return false
		}
		d := day(r.Date)
		if (!c.SentSince.IsZero() && d.Before(c.SentSince)) || (!c.SentBefore.IsZero() && !d.Before(c.SentBefore)) {
			return false
		}
	}
	for _, f := range c.Flag {
		if !ev.hasFlag(m, f) {
			return false
		}
	}
	for _, f := range c.NotFlag {
		if ev.hasFlag(m, f) {
			return false
		}
	}
	if c.Larger > 0 && r.Size <= c.Larger {
		return false
	}
	if c.Smaller > 0 && r.Size >= c.Smaller {
		return false
	}
	for _, h := range c.Header {
		if !ev.matchHeader(m, h.Key, h.Value) {
			return false
		}
	}
	return true
}

// matchText evaluates BODY and TEXT (§6.4.4) on the decoded text of the
// message: transfer encodings undone, charsets converted to UTF-8, only
// the text parts (mimeinfo.SearchText); TEXT adds the header fields with
// their encoded words decoded. The search strings are UTF-8 (the parser
// accepts CHARSET UTF-8 and US-ASCII only).
func (ev *evaluator) matchText(c *imap.SearchCriteria, m *searchMsg) (bool, error) {
	for _, s := range c.Body {
		text, err := ev.bodyText(m)
		if err != nil {
			return false, err
		}
		if !strings.Contains(text, mimeinfo.FoldCase(s)) {
			return false, nil
		}
	}
	for _, s := range c.Text {
		text, err := ev.fullText(m)
		if err != nil {
			return false, err
		}
		if !strings.Contains(text, mimeinfo.FoldCase(s)) {
			return false, nil
		}
	}
	return true, nil
}

func day(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// inSet reports whether n is in the ranges, "*" (0) standing for max.
func inSet(set []imap.SeqRange, n, max uint32) bool {
	for _, r := range set {
		lo, hi := r.Start, r.Stop
		if lo == 0 {
			lo = max
		}
		if hi == 0 {
			hi = max
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		if n >= lo && n <= hi {
			return true
		}
	}
	return false
}

func (ev *evaluator) hasFlag(m *searchMsg, f imap.Flag) bool {
	fs := m.row.Flags
	switch strings.ToLower(string(f)) {
	case `\seen`:
		return fs.Has(storage.FlagSeen)
	case `\answered`:
		return fs.Has(storage.FlagAnswered)
	case `\flagged`:
		return fs.Has(storage.FlagFlagged)
	case `\deleted`:
		return fs.Has(storage.FlagDeleted)
	case `\draft`:
		return fs.Has(storage.FlagDraft)
	case `\recent`:
		return ev.c.sel.isRecent(m.row.UID)
	}
	return fs.HasKeyword(string(f))
}

func (ev *evaluator) matchHeader(m *searchMsg, key, value string) bool {
	r := m.row
	switch strings.ToLower(key) {
	case "subject":
		return mimeinfo.ContainsFold(r.Subject, value)
	case "from":
		return mimeinfo.ContainsFold(r.From, value)
	case "to":
		return mimeinfo.ContainsFold(r.To, value)
	case "cc":
		return mimeinfo.ContainsFold(r.Cc, value)
	case "bcc":
		return mimeinfo.ContainsFold(r.Bcc, value)
	}
	h := ev.headers[r.UID]
	found := false
	forEachField(h, func(name, val []byte) bool {
		if strings.EqualFold(string(name), key) {
			// An empty string matches every message that has the field
			// (§6.4.4 HEADER).
			if value == "" || mimeinfo.ContainsFold(string(val), value) {
				found = true
				return false
			}
		}
		return true
	})
	return found
}

// forEachField calls fn with each field of a header block, continuation
// lines unfolded into the value.
func forEachField(h []byte, fn func(name, value []byte) bool) {
	for len(h) > 0 {
		end := 0
		for {
			i := bytes.IndexByte(h[end:], '\n')
			if i < 0 {
				end = len(h)
				break
			}
			end += i + 1
			if end >= len(h) || (h[end] != ' ' && h[end] != '\t') {
				break
			}
		}
		line := h[:end]
		h = h[end:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		val := bytes.ReplaceAll(line[colon+1:], []byte("\r\n"), nil)
		if !fn(bytes.TrimSpace(line[:colon]), bytes.TrimSpace(val)) {
			return
		}
	}
}

func (ev *evaluator) body(m *searchMsg) ([]byte, error) {
	if m.body == nil {
		b, err := ev.c.srv.cfg.Store.ReadBody(ev.c.ctx, m.row.BodyID)
		if err != nil {
			return nil, err
		}
		m.body = b
	}
	return m.body, nil
}

// bodyText returns the message's decoded body text, case-folded.
func (ev *evaluator) bodyText(m *searchMsg) (string, error) {
	if !m.haveBody {
		body, err := ev.body(m)
		if err != nil {
			return "", err
		}
		m.bodyText = mimeinfo.FoldCase(mimeinfo.SearchText(body, maxSearchText))
		m.haveBody = true
	}
	return m.bodyText, nil
}

// fullText returns the decoded header fields and body text, case-folded.
// A line break between them keeps a match from spanning both.
func (ev *evaluator) fullText(m *searchMsg) (string, error) {
	if !m.haveText {
		text, err := ev.bodyText(m)
		if err != nil {
			return "", err
		}
		body, _ := ev.body(m)
		m.fullText = mimeinfo.FoldCase(mimeinfo.DecodeHeader(body[:headerLen(body)])) + "\n" + text
		m.haveText = true
	}
	return m.fullText, nil
}

// headerLen finds the end of the header block (after the empty line).
func headerLen(msg []byte) int {
	if bytes.HasPrefix(msg, []byte("\r\n")) {
		return 2
	}
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return i + 4
	}
	return len(msg)
}

package imapd

import (
	"bytes"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"

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
		ok, err := ev.match(crit, m)
		if err != nil {
			return nil, err
		}
		if ok {
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
	seq  uint32
	row  *storage.HeaderRow
	body []byte // loaded on first BODY or TEXT
}

type evaluator struct {
	c       *conn
	n       uint32 // messages in the view: "*" for sequence numbers
	maxUID  uint32 // "*" for UIDs
	headers map[uint32][]byte
}

func (ev *evaluator) match(c *imap.SearchCriteria, m *searchMsg) (bool, error) {
	r := m.row
	for _, set := range c.SeqNum {
		if !inSet([]imap.SeqRange(set), m.seq, ev.n) {
			return false, nil
		}
	}
	for _, set := range c.UID {
		ranges := make([]imap.SeqRange, len(set))
		for i, x := range set {
			ranges[i] = imap.SeqRange{Start: uint32(x.Start), Stop: uint32(x.Stop)}
		}
		if !inSet(ranges, r.UID, ev.maxUID) {
			return false, nil
		}
	}
	// Dates compare by day, disregarding time and zone (§6.4.4).
	if !c.Since.IsZero() || !c.Before.IsZero() {
		d := day(r.InternalDate)
		if (!c.Since.IsZero() && d.Before(c.Since)) || (!c.Before.IsZero() && !d.Before(c.Before)) {
			return false, nil
		}
	}
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		if r.Date.IsZero() {
			return false, nil
		}
		d := day(r.Date)
		if (!c.SentSince.IsZero() && d.Before(c.SentSince)) || (!c.SentBefore.IsZero() && !d.Before(c.SentBefore)) {
			return false, nil
		}
	}
	for _, f := range c.Flag {
		if !ev.hasFlag(m, f) {
			return false, nil
		}
	}
	for _, f := range c.NotFlag {
		if ev.hasFlag(m, f) {
			return false, nil
		}
	}
	if c.Larger > 0 && r.Size <= c.Larger {
		return false, nil
	}
	if c.Smaller > 0 && r.Size >= c.Smaller {
		return false, nil
	}
	for _, h := range c.Header {
		if !ev.matchHeader(m, h.Key, h.Value) {
			return false, nil
		}
	}
	for _, s := range c.Body {
		body, err := ev.body(m)
		if err != nil {
			return false, err
		}
		hl := headerLen(body)
		if !containsFold(string(body[hl:]), s) {
			return false, nil
		}
	}
	for _, s := range c.Text {
		body, err := ev.body(m)
		if err != nil {
			return false, err
		}
		if !containsFold(string(body), s) {
			return false, nil
		}
	}
	for i := range c.Not {
		ok, err := ev.match(&c.Not[i], m)
		if err != nil || ok {
			return false, err
		}
	}
	for i := range c.Or {
		ok, err := ev.match(&c.Or[i][0], m)
		if err != nil {
			return false, err
		}
		if !ok {
			if ok, err = ev.match(&c.Or[i][1], m); err != nil || !ok {
				return false, err
			}
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
		return containsFold(r.Subject, value)
	case "from":
		return containsFold(r.From, value)
	case "to":
		return containsFold(r.To, value)
	case "cc":
		return containsFold(r.Cc, value)
	case "bcc":
		return containsFold(r.Bcc, value)
	}
	h := ev.headers[r.UID]
	found := false
	forEachField(h, func(name, val []byte) bool {
		if strings.EqualFold(string(name), key) {
			// An empty string matches every message that has the field
			// (§6.4.4 HEADER).
			if value == "" || containsFold(string(val), value) {
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

// containsFold reports whether s contains substr, ignoring case
// (§6.4.4: "case-insensitive substring"). ASCII is compared in place;
// other text is lowered first.
func containsFold(s, substr string) bool {
	if substr == "" {
		return true
	}
	if len(substr) > len(s) {
		return false
	}
	if !isASCII(substr) || !isASCII(s) {
		return strings.Contains(strings.ToLower(s), strings.ToLower(substr))
	}
	first := lowerASCII(substr[0])
	for i := 0; i+len(substr) <= len(s); i++ {
		if lowerASCII(s[i]) != first {
			continue
		}
		j := 1
		for j < len(substr) && lowerASCII(s[i+j]) == lowerASCII(substr[j]) {
			j++
		}
		if j == len(substr) {
			return true
		}
	}
	return false
}

func lowerASCII(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

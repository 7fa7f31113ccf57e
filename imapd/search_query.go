package imapd

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"postern/mimeinfo"
	"postern/storage"
)

// A query is SEARCH criteria (RFC 3501 §6.4.4) compiled once per command:
// sets converted, flags resolved, and every string gathered into the
// matcher of the text it is looked for in, so that evaluating a message
// does no per-key setup and reads each of its texts once.
type query struct {
	seq, uid                             [][]imap.SeqRange
	since, before, sentSince, sentBefore time.Time
	flags, notFlags                      []flagTest
	larger, smaller                      int64
	tests                                []strTest // columns first, then header fields, then texts
	not                                  []*query
	or                                   [][2]*query

	cheap bool      // has criteria matchCheap evaluates
	needs dataLevel // the least that must be read to decide anything of it
}

// dataLevel is how much of a message has been read.
type dataLevel uint8

const (
	levelRow    dataLevel = iota // the row of columns
	levelHeader                  // and the header block
	levelBody                    // and the whole message
)

// flagTest is one flag a message must have or lack.
type flagTest struct {
	sys     storage.Flags // a system flag, or 0
	recent  bool
	keyword string
}

// strTest is one string criterion: pattern pat of field is found in the
// message. TEXT is also met when pattern altPat of field alt (the header
// text) is found; alt is -1 otherwise.
type strTest struct {
	field, pat  int
	alt, altPat int
}

// A textField is one text of a message that strings are looked for in,
// with the matcher of all the strings looked for in it.
type textField struct {
	kind fieldKind
	col  storage.SearchColumns // fieldColumn: which column
	pats []string
	scan *mimeinfo.Scan
	gen  uint64 // == evaluator.gen: scanned for the current message
}

type fieldKind uint8

const (
	fieldColumn     fieldKind = iota // a decoded field stored at delivery
	fieldHeader                      // the fields of one name in the header block
	fieldHeaderText                  // the decoded header block (TEXT)
	fieldBody                        // the decoded body text (BODY, TEXT)
)

// result is a criterion's outcome; mayMatch means it depends on a text
// that has not been read.
type result int8

const (
	noMatch result = iota
	isMatch
	mayMatch
)

// evaluator evaluates one SEARCH.
type evaluator struct {
	c      *conn
	n      uint32 // messages in the view: "*" for sequence numbers
	maxUID uint32 // "*" for UIDs
	q      *query

	cols       storage.SearchColumns // the columns the first pass loads
	needHeader bool                  // some header field is not a column

	fields      []*textField
	headerNames map[string]int // folded field name -> its fieldHeader
	body, htext int            // the fieldBody and fieldHeaderText, or -1
	gen         uint64         // counts the messages evaluated
}

func newEvaluator(c *conn, crit *imap.SearchCriteria) *evaluator {
	ev := &evaluator{c: c, n: uint32(len(c.sel.uids)), headerNames: map[string]int{}, body: -1, htext: -1}
	if len(c.sel.uids) > 0 {
		ev.maxUID = c.sel.uids[len(c.sel.uids)-1]
	}
	ev.q = ev.compile(crit)
	for _, f := range ev.fields {
		f.scan = mimeinfo.NewMatcher(f.pats).NewScan()
	}
	return ev
}

func (ev *evaluator) compile(c *imap.SearchCriteria) *query {
	q := &query{since: c.Since, before: c.Before, sentSince: c.SentSince, sentBefore: c.SentBefore,
		larger: c.Larger, smaller: c.Smaller}
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		ev.cols |= storage.SearchDate
	}
	for _, set := range c.SeqNum {
		q.seq = append(q.seq, compileSet(set, ev.n))
	}
	for _, set := range c.UID {
		if isSaved(set) {
			// "$" (RFC 5182 §2.1): the UIDs the last SAVE kept.
			set = imap.UIDSet{}
			for _, u := range ev.c.sel.saved {
				set = append(set, imap.UIDRange{Start: imap.UID(u), Stop: imap.UID(u)})
			}
		}
		ranges := make([]imap.SeqRange, len(set))
		for i, x := range set {
			ranges[i] = imap.SeqRange{Start: uint32(x.Start), Stop: uint32(x.Stop)}
		}
		q.uid = append(q.uid, compileSet(ranges, ev.maxUID))
	}
	for _, f := range c.Flag {
		q.flags = append(q.flags, compileFlag(f))
	}
	for _, f := range c.NotFlag {
		q.notFlags = append(q.notFlags, compileFlag(f))
	}
	for _, h := range c.Header {
		var col storage.SearchColumns
		switch strings.ToLower(h.Key) {
		case "subject":
			col = storage.SearchSubject
		case "from":
			col = storage.SearchFrom
		case "to":
			col = storage.SearchTo
		case "cc":
			col = storage.SearchCc
		case "bcc":
			col = storage.SearchBcc
		}
		// An empty string matches every message that has the field
		// (RFC 3501 §6.4.4 HEADER), and only those: the stored columns
		// cannot tell an absent field from an empty one, the header
		// block can.
		if col != 0 && h.Value != "" {
			ev.cols |= col
			f := ev.field(fieldColumn, col, "")
			q.tests = append(q.tests, strTest{field: f, pat: ev.pattern(f, h.Value), alt: -1})
			continue
		}
		ev.needHeader = true
		f := ev.field(fieldHeader, 0, string(foldName(nil, []byte(h.Key))))
		q.tests = append(q.tests, strTest{field: f, pat: ev.pattern(f, h.Value), alt: -1})
	}
	// BODY and TEXT (§6.4.4) look at the decoded text of the message:
	// transfer encodings undone, charsets converted to UTF-8, only the text
	// parts (mimeinfo.SearchText); TEXT also at the header fields with
	// their encoded words decoded. The strings are UTF-8 (the parser
	// accepts CHARSET UTF-8 and US-ASCII only).
	for _, s := range c.Body {
		f := ev.field(fieldBody, 0, "")
		q.tests = append(q.tests, strTest{field: f, pat: ev.pattern(f, s), alt: -1})
	}
	for _, s := range c.Text {
		f, h := ev.field(fieldBody, 0, ""), ev.field(fieldHeaderText, 0, "")
		q.tests = append(q.tests, strTest{field: f, pat: ev.pattern(f, s), alt: h, altPat: ev.pattern(h, s)})
	}
	// The cheaper texts first: a column can decide a message before its
	// header block or body is read.
	slices.SortStableFunc(q.tests, func(a, b strTest) int {
		return cmp.Compare(ev.fields[a.field].kind, ev.fields[b.field].kind)
	})
	for i := range c.Not {
		q.not = append(q.not, ev.compile(&c.Not[i]))
	}
	for i := range c.Or {
		q.or = append(q.or, [2]*query{ev.compile(&c.Or[i][0]), ev.compile(&c.Or[i][1])})
	}
	q.cheap = len(q.seq) > 0 || len(q.uid) > 0 || !q.since.IsZero() || !q.before.IsZero() ||
		!q.sentSince.IsZero() || !q.sentBefore.IsZero() || len(q.flags) > 0 || len(q.notFlags) > 0 ||
		q.larger > 0 || q.smaller > 0
	// A query of BODY keys alone (a wide OR of them) is undecided until
	// the body is read: knowing it saves walking it for every message.
	q.needs = levelBody
	if q.cheap || (len(q.tests) == 0 && len(q.not) == 0 && len(q.or) == 0) {
		q.needs = levelRow
	}
	for _, t := range q.tests {
		q.needs = min(q.needs, ev.fields[t.field].kind.needs())
	}
	for _, n := range q.not {
		q.needs = min(q.needs, n.needs)
	}
	for _, pair := range q.or {
		q.needs = min(q.needs, pair[0].needs, pair[1].needs)
	}
	return q
}

func (k fieldKind) needs() dataLevel {
	switch k {
	case fieldColumn:
		return levelRow
	case fieldHeader:
		return levelHeader
	}
	return levelBody
}

func compileFlag(f imap.Flag) flagTest {
	switch strings.ToLower(string(f)) {
	case `\seen`:
		return flagTest{sys: storage.FlagSeen}
	case `\answered`:
		return flagTest{sys: storage.FlagAnswered}
	case `\flagged`:
		return flagTest{sys: storage.FlagFlagged}
	case `\deleted`:
		return flagTest{sys: storage.FlagDeleted}
	case `\draft`:
		return flagTest{sys: storage.FlagDraft}
	case `\recent`:
		return flagTest{recent: true}
	}
	return flagTest{keyword: string(f)}
}

// field returns the index of the field of that kind (column, or header
// field name), adding it if it is new.
func (ev *evaluator) field(kind fieldKind, col storage.SearchColumns, name string) int {
	switch kind {
	case fieldHeader:
		if i, ok := ev.headerNames[name]; ok {
			return i
		}
		ev.headerNames[name] = len(ev.fields)
	case fieldBody:
		if ev.body >= 0 {
			return ev.body
		}
		ev.body = len(ev.fields)
	case fieldHeaderText:
		if ev.htext >= 0 {
			return ev.htext
		}
		ev.htext = len(ev.fields)
	case fieldColumn:
		for i, f := range ev.fields {
			if f.kind == fieldColumn && f.col == col {
				return i
			}
		}
	}
	ev.fields = append(ev.fields, &textField{kind: kind, col: col})
	return len(ev.fields) - 1
}

// pattern adds s to the strings of field f and returns its index there.
func (ev *evaluator) pattern(f int, s string) int {
	tf := ev.fields[f]
	tf.pats = append(tf.pats, s)
	return len(tf.pats) - 1
}

// foldName appends a header field name lowered (field names are ASCII,
// RFC 5322 §2.2; they compare case-insensitively).
func foldName(dst, name []byte) []byte {
	for _, b := range name {
		if b >= 'A' && b <= 'Z' {
			b += 'a' - 'A'
		}
		dst = append(dst, b)
	}
	return dst
}

// eval evaluates the query for m with what has been read of it.
func (ev *evaluator) eval(m *searchMsg) result {
	ev.gen++
	return ev.match(ev.q, m)
}

func (ev *evaluator) match(q *query, m *searchMsg) result {
	if q.needs > m.level() {
		return mayMatch
	}
	if q.cheap && !ev.matchCheap(q, m) {
		return noMatch
	}
	res := isMatch
	for _, t := range q.tests {
		switch ev.test(m, t) {
		case noMatch:
			return noMatch
		case mayMatch:
			res = mayMatch
		}
	}
	for _, n := range q.not {
		switch ev.match(n, m) {
		case isMatch:
			return noMatch
		case mayMatch:
			res = mayMatch
		}
	}
	for _, pair := range q.or {
		a := ev.match(pair[0], m)
		if a == isMatch {
			continue
		}
		b := ev.match(pair[1], m)
		switch {
		case b == isMatch:
		case a == noMatch && b == noMatch:
			return noMatch
		default:
			res = mayMatch
		}
	}
	return res
}

// matchCheap evaluates the criteria of q that need no text: sequence
// numbers, UIDs, dates, flags and sizes.
func (ev *evaluator) matchCheap(q *query, m *searchMsg) bool {
	r := m.row
	for _, set := range q.seq {
		if !inSet(set, m.seq) {
			return false
		}
	}
	for _, set := range q.uid {
		if !inSet(set, r.UID) {
			return false
		}
	}
	// Dates compare by day, disregarding time and zone (§6.4.4).
	if !q.since.IsZero() || !q.before.IsZero() {
		d := day(r.InternalDate)
		if (!q.since.IsZero() && d.Before(q.since)) || (!q.before.IsZero() && !d.Before(q.before)) {
			return false
		}
	}
	if !q.sentSince.IsZero() || !q.sentBefore.IsZero() {
		if r.Date.IsZero() {
			return false
		}
		d := day(r.Date)
		if (!q.sentSince.IsZero() && d.Before(q.sentSince)) || (!q.sentBefore.IsZero() && !d.Before(q.sentBefore)) {
			return false
		}
	}
	for _, f := range q.flags {
		if !ev.hasFlag(m, f) {
			return false
		}
	}
	for _, f := range q.notFlags {
		if ev.hasFlag(m, f) {
			return false
		}
	}
	if q.larger > 0 && r.Size <= q.larger {
		return false
	}
	if q.smaller > 0 && r.Size >= q.smaller {
		return false
	}
	return true
}

// test evaluates a string criterion: a case-insensitive substring
// (§6.4.4) of its text, found by the field's matcher.
func (ev *evaluator) test(m *searchMsg, t strTest) result {
	f := ev.fields[t.field]
	if !ev.ready(m, f) {
		return mayMatch
	}
	if f.scan.Found(t.pat) {
		return isMatch
	}
	if t.alt >= 0 {
		if a := ev.fields[t.alt]; ev.ready(m, a) && a.scan.Found(t.altPat) {
			return isMatch
		}
	}
	return noMatch
}

// ready scans field f of the current message unless it has been: it
// reports false when the text it needs has not been read.
func (ev *evaluator) ready(m *searchMsg, f *textField) bool {
	if f.gen == ev.gen {
		return true
	}
	switch f.kind {
	case fieldColumn:
		f.scan.Reset()
		f.scan.Write(column(m.row, f.col))
		f.gen = ev.gen
	case fieldHeader:
		if !m.haveHeader {
			return false
		}
		ev.scanHeader(m)
	default:
		if !m.haveBody {
			return false
		}
		ev.scanText(m)
	}
	return true
}

func column(r *storage.HeaderRow, col storage.SearchColumns) string {
	switch col {
	case storage.SearchSubject:
		return r.Subject
	case storage.SearchFrom:
		return r.From
	case storage.SearchTo:
		return r.To
	case storage.SearchCc:
		return r.Cc
	}
	return r.Bcc
}

// scanHeader scans every header field with a HEADER criterion in one pass
// over the header block. A field that occurs several times is met by any
// of its occurrences; one that is absent meets nothing, not even the
// empty string, which every occurrence contains (§6.4.4 HEADER).
func (ev *evaluator) scanHeader(m *searchMsg) {
	for _, i := range ev.headerNames {
		f := ev.fields[i]
		f.scan.Reset()
		f.gen = ev.gen
	}
	var buf [64]byte
	for name, raw := range mimeinfo.Fields(m.header) {
		i, ok := ev.headerNames[string(foldName(buf[:0], name))]
		if !ok || !hasColon(raw) {
			continue
		}
		s := ev.fields[i].scan
		s.Break()
		s.Write(mimeinfo.FieldValue(raw))
	}
}

// hasColon reports whether the first line of a field has a colon: a line
// without one is not a field SEARCH HEADER can name.
func hasColon(raw []byte) bool {
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		raw = raw[:i]
	}
	return bytes.IndexByte(raw, ':') >= 0
}

// scanText decodes the message once and scans its body text and, for
// TEXT, its decoded header.
func (ev *evaluator) scanText(m *searchMsg) {
	if ev.body >= 0 {
		f := ev.fields[ev.body]
		f.scan.Reset()
		f.scan.Write(mimeinfo.SearchText(m.body, maxSearchText))
		f.gen = ev.gen
	}
	if ev.htext >= 0 {
		f := ev.fields[ev.htext]
		f.scan.Reset()
		f.scan.Write(mimeinfo.DecodeHeader(m.header))
		f.gen = ev.gen
	}
}

func day(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// compileSet resolves "*" (0) to star and returns the ranges in order,
// without overlaps, for inSet's binary search: a set can have thousands
// of ranges, and every message is looked up in it.
func compileSet(set []imap.SeqRange, star uint32) []imap.SeqRange {
	out := make([]imap.SeqRange, 0, len(set))
	for _, r := range set {
		lo, hi := r.Start, r.Stop
		if lo == 0 {
			lo = star
		}
		if hi == 0 {
			hi = star
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		out = append(out, imap.SeqRange{Start: lo, Stop: hi})
	}
	slices.SortFunc(out, func(a, b imap.SeqRange) int { return cmp.Compare(a.Start, b.Start) })
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && r.Start <= merged[n-1].Stop {
			merged[n-1].Stop = max(merged[n-1].Stop, r.Stop)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// inSet reports whether n is in the ranges of a compiled set.
func inSet(set []imap.SeqRange, n uint32) bool {
	i, _ := slices.BinarySearchFunc(set, n, func(r imap.SeqRange, n uint32) int { return cmp.Compare(r.Stop, n) })
	return i < len(set) && set[i].Start <= n
}

func (ev *evaluator) hasFlag(m *searchMsg, f flagTest) bool {
	switch {
	case f.recent:
		return ev.c.sel.isRecent(m.row.UID)
	case f.sys != 0:
		return m.row.Flags.Has(f.sys)
	}
	return m.row.Flags.HasKeyword(f.keyword)
}

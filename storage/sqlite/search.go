package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"postern/storage"
)

// searchCols are the text columns of body_search SearchHeaders can load.
// Address lists are stored one address a line.
var searchCols = []struct {
	c    storage.SearchColumns
	expr string
	set  func(*storage.HeaderRow, string)
}{
	{storage.SearchSubject, "b.subject", func(r *storage.HeaderRow, v string) { r.Subject = v }},
	{storage.SearchFrom, "b.from_addr", func(r *storage.HeaderRow, v string) { r.From = v }},
	{storage.SearchTo, "b.to_addr", func(r *storage.HeaderRow, v string) { r.To = v }},
	{storage.SearchCc, "b.cc_addr", func(r *storage.HeaderRow, v string) { r.Cc = v }},
	{storage.SearchBcc, "b.bcc_addr", func(r *storage.HeaderRow, v string) { r.Bcc = v }},
	{storage.SearchMessageID, "b.message_id", func(r *storage.HeaderRow, v string) { r.MessageID = v }},
	{storage.SearchInReplyTo, "b.in_reply_to", func(r *storage.HeaderRow, v string) { r.InReplyTo = v }},
	{storage.SearchReferences, "b.refs", func(r *storage.HeaderRow, v string) { r.References = v }},
	{storage.SearchBaseSubject, "b.base_subject", func(r *storage.HeaderRow, v string) { r.BaseSubject = v }},
	{storage.SearchAddresses, "b.from_list", func(r *storage.HeaderRow, v string) { r.FromAddrs = splitList(v) }},
	{storage.SearchAddresses, "b.sender_list", func(r *storage.HeaderRow, v string) { r.SenderAddrs = splitList(v) }},
	{storage.SearchAddresses, "b.reply_to_list", func(r *storage.HeaderRow, v string) { r.ReplyToAddrs = splitList(v) }},
	{storage.SearchAddresses, "b.to_list", func(r *storage.HeaderRow, v string) { r.ToAddrs = splitList(v) }},
	{storage.SearchAddresses, "b.cc_list", func(r *storage.HeaderRow, v string) { r.CcAddrs = splitList(v) }},
	{storage.SearchAddresses, "b.bcc_list", func(r *storage.HeaderRow, v string) { r.BccAddrs = splitList(v) }},
}

func joinList(l []string) string { return strings.Join(l, "\n") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// SearchHeaders returns one row per message of a mailbox, in UID order,
// with the header columns asked for. Matching is left to the caller, which
// knows the protocol's rules (IMAP SEARCH is a case-insensitive substring
// match, RFC 3501 §6.4.4).
func (s *Store) SearchHeaders(ctx context.Context, mailboxID int64, cols storage.SearchColumns) ([]storage.HeaderRow, error) {
	ctx = ctxOrBackground(ctx)
	// The rows come back as one length-prefixed string built by SQLite:
	// one cgo call for the whole mailbox instead of one per row, which
	// is most of the cost of scanning 10,000 rows.
	expr := `m.uid||' '||m.flags||' '||m.internal_date||' '||m.size||' '||m.body_id||' '||octet_length(m.keywords)||' '||m.keywords`
	joined := false
	for _, c := range searchCols {
		if cols&c.c != 0 {
			expr += `||' '||octet_length(` + c.expr + `)||' '||` + c.expr
			joined = true
		}
	}
	if cols&storage.SearchDate != 0 {
		expr += `||' '||b.date_unix||' '||b.date_zone`
		joined = true
	}
	q := `SELECT count(*), coalesce(group_concat(` + expr + `, char(10) ORDER BY m.uid), '') FROM messages m`
	if joined {
		q += ` JOIN body_search b ON b.body_id=m.body_id`
	}
	mb, args := mailboxArg(ctx, mailboxID)
	q += ` WHERE m.mailbox_id=` + mb
	var n int
	var packed string
	if err := s.rdb.QueryRowContext(ctx, q, args...).Scan(&n, &packed); err != nil {
		return nil, err
	}
	out := make([]storage.HeaderRow, 0, n)
	p := packedRows{s: packed}
	for !p.done() {
		var r storage.HeaderRow
		r.UID = uint32(p.num())
		r.Flags.System = storage.Flags(p.num())
		r.InternalDate = time.Unix(p.num(), 0)
		r.Size = p.num()
		r.BodyID = p.num()
		if kw := p.str(); kw != "" {
			r.Flags.Keywords = decodeKeywords(kw)
		}
		for _, c := range searchCols {
			if cols&c.c != 0 {
				c.set(&r, p.str())
			}
		}
		if cols&storage.SearchDate != 0 {
			d, zone := p.num(), p.num()
			if d != 0 {
				r.Date = time.Unix(d, 0).In(time.FixedZone("", int(zone)))
			}
		}
		if p.err {
			return nil, fmt.Errorf("storage: malformed search rows for mailbox %d", mailboxID)
		}
		p.endRow()
		out = append(out, r)
	}
	return out, nil
}

// packedRows reads the string SearchHeaders has SQLite build: fields
// separated by one space, strings prefixed with their length in bytes,
// rows separated by a newline.
type packedRows struct {
	s   string
	i   int
	err bool
}

func (p *packedRows) done() bool { return p.i >= len(p.s) || p.err }

func (p *packedRows) endRow() {
	if p.i < len(p.s) && p.s[p.i] == '\n' {
		p.i++
	}
}

func (p *packedRows) num() int64 {
	neg := false
	if p.i < len(p.s) && p.s[p.i] == '-' {
		neg = true
		p.i++
	}
	start := p.i
	var n int64
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		n = n*10 + int64(p.s[p.i]-'0')
		p.i++
	}
	if p.i == start {
		p.err = true
	}
	if p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
	if neg {
		n = -n
	}
	return n
}

func (p *packedRows) str() string {
	n := int(p.num())
	if n < 0 || p.i+n > len(p.s) {
		p.err = true
		return ""
	}
	v := p.s[p.i : p.i+n]
	p.i += n
	if p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
	return v
}

// EachHeader calls fn with the header block of each of the given messages
// of a mailbox that still exists, in UID order, cut to its first maxBytes
// octets. A header block can be megabytes: the rows are read one at a
// time, and header is valid only during the call, so a caller that keeps
// nothing holds one block at a time. fn must not call the store: the
// query is open while it runs.
func (s *Store) EachHeader(ctx context.Context, mailboxID int64, uids []uint32, maxBytes int, fn func(uid uint32, header []byte) error) error {
	if len(uids) == 0 {
		return nil
	}
	list, _ := json.Marshal(uids)
	ctx = ctxOrBackground(ctx)
	mb, args := mailboxArg(ctx, mailboxID)
	rows, err := s.rdb.QueryContext(ctx, `SELECT m.uid, substr(b.header, 1, ?) FROM messages m JOIN bodies b ON b.id=m.body_id
		WHERE m.mailbox_id=`+mb+` AND m.uid IN (SELECT value FROM json_each(?)) ORDER BY m.uid`, append(append([]any{maxBytes}, args...), string(list))...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var uid uint32
		var header sql.RawBytes
		if err := rows.Scan(&uid, &header); err != nil {
			return err
		}
		if err := fn(uid, header); err != nil {
			return err
		}
	}
	return rows.Err()
}

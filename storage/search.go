package storage

import (
	"context"
	"time"
)

// SearchColumns selects the decoded header columns SearchHeaders loads, so
// that a SEARCH on one field does not pay for the others.
type SearchColumns uint8

const (
	SearchSubject SearchColumns = 1 << iota
	SearchFrom
	SearchTo
	SearchCc
	SearchBcc
	SearchMessageID
	SearchDate
)

// HeaderRow is what SEARCH needs of one message without reading its body:
// the per-message state and the header fields decoded at delivery.
type HeaderRow struct {
	UID          uint32
	Flags        FlagSet
	InternalDate time.Time
	Size         int64
	BodyID       int64

	// Loaded only when selected by SearchColumns; empty otherwise.
	Subject, From, To, Cc, Bcc, MessageID string
	Date                                  time.Time // zero if missing or unparseable
}

// SearchHeaders returns one row per message of a mailbox, in UID order,
// with the header columns asked for. Matching is left to the caller, which
// knows the protocol's rules (IMAP SEARCH is a case-insensitive substring
// match, RFC 3501 §6.4.4).
func (s *Store) SearchHeaders(ctx context.Context, mailboxID int64, cols SearchColumns) ([]HeaderRow, error) {
	ctx = ctxOrBackground(ctx)
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE mailbox_id=?`, mailboxID).Scan(&n); err != nil {
		return nil, err
	}
	q := `SELECT m.uid, m.flags, m.keywords, m.internal_date, m.size, m.body_id`
	names := []struct {
		c    SearchColumns
		expr string
	}{
		{SearchSubject, "b.subject"}, {SearchFrom, "b.from_addr"}, {SearchTo, "b.to_addr"},
		{SearchCc, "b.cc_addr"}, {SearchBcc, "b.bcc_addr"}, {SearchMessageID, "b.message_id"},
		{SearchDate, "b.date_unix"},
	}
	joined := false
	for _, nm := range names {
		if cols&nm.c != 0 {
			q += ", " + nm.expr
			joined = true
		}
	}
	q += ` FROM messages m`
	if joined {
		q += ` JOIN bodies b ON b.id=m.body_id`
	}
	q += ` WHERE m.mailbox_id=? ORDER BY m.uid`
	rows, err := s.rdb.QueryContext(ctx, q, mailboxID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]HeaderRow, 0, n)
	for rows.Next() {
		var r HeaderRow
		var kw string
		var idate, dateUnix int64
		dest := []any{&r.UID, &r.Flags.System, &kw, &idate, &r.Size, &r.BodyID}
		ptrs := []*string{&r.Subject, &r.From, &r.To, &r.Cc, &r.Bcc, &r.MessageID}
		for i, nm := range names {
			if cols&nm.c == 0 {
				continue
			}
			if i < len(ptrs) {
				dest = append(dest, ptrs[i])
			} else {
				dest = append(dest, &dateUnix)
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if kw != "" {
			r.Flags.Keywords = decodeKeywords(kw)
		}
		r.InternalDate = time.Unix(idate, 0)
		if dateUnix != 0 {
			r.Date = time.Unix(dateUnix, 0)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

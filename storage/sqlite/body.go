package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"postern/mimeinfo"
	"postern/storage"
)

// chunkSize is the size of the pieces a body is stored in. go-sqlite3 reads a
// BLOB whole, so a large message is read chunk by chunk instead.
const chunkSize = 256 << 10

// searchColumns are the columns of body_search the analysis fills, in the
// order of searchValues.
const searchColumns = `subject, from_addr, to_addr, cc_addr, bcc_addr, message_id, date_unix, date_zone,
	in_reply_to, refs, base_subject, from_list, sender_list, reply_to_list, to_list, cc_list, bcc_list`

func searchValues(in *mimeinfo.Info) []any {
	var date, zone int64
	if !in.Date.IsZero() {
		date = in.Date.Unix()
		_, off := in.Date.Zone()
		zone = int64(off)
	}
	return []any{in.Subject, in.From, in.To, in.Cc, in.Bcc, in.MessageID, date, zone,
		in.InReplyTo, in.References, in.BaseSubject, joinList(in.FromAddrs), joinList(in.SenderAddrs),
		joinList(in.ReplyToAddrs), joinList(in.ToAddrs), joinList(in.CcAddrs), joinList(in.BccAddrs)}
}

// putBody stores b unless a body with the same hash is stored already, and takes
// one more reference to it.
func putBody(t *tx, b *storage.Body) (int64, error) {
	var id int64
	hash := b.Hash()
	err := t.QueryRow(`SELECT id FROM bodies WHERE hash=?`, hash[:]).Scan(&id)
	if err == nil {
		_, err = t.Exec(`UPDATE bodies SET refs=refs+1 WHERE id=?`, id)
		return id, err
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if err := t.store.space.admit(b.Size()); err != nil {
		return 0, err
	}
	in := b.Info()
	header, err := b.Header()
	if err != nil {
		return 0, err
	}
	res, err := t.Exec(`INSERT INTO bodies(hash, size, header_len, refs, header, envelope, body, bodystructure, analysis)
		VALUES(?,?,?,1,?,?,?,?,?)`,
		hash[:], b.Size(), in.HeaderLen, header, in.Envelope, in.Body, in.BodyStructure, mimeinfo.Version)
	if err != nil {
		return 0, err
	}
	id, _ = res.LastInsertId()
	if _, err := t.Exec(`INSERT INTO body_search(body_id, `+searchColumns+`)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, append([]any{id}, searchValues(in)...)...); err != nil {
		return 0, err
	}
	err = b.EachChunk(chunkSize, func(n int, chunk []byte) error {
		_, err := t.Exec(`INSERT INTO body_chunks(body_id, n, data) VALUES(?,?,?)`, id, n, chunk)
		return err
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// bodyReader reads a stored body chunk by chunk. It holds no transaction between
// reads, so a slow client cannot pin the database; instead it pins the body:
// until Close, the body is not deleted even if its last message is expunged
// (see bodyPins). Close it when done.
type bodyReader struct {
	ctx    context.Context
	st     *Store
	id     int64
	size   int64
	off    int64
	pinned bool

	chunkN   int64 // index of the cached chunk, -1 if none
	chunkBuf []byte
}

// OpenBody opens a stored body for reading. The first chunk comes with the
// size in one query: most messages are one chunk, read with no further query.
// In a context scoped to an account (WithAccount) only a body one of its
// messages refers to is found.
func (s *Store) OpenBody(ctx context.Context, bodyID int64) (storage.BodyReader, error) {
	ctx = ctxOrBackground(ctx)
	// Pinned before the read: a body found from here on stays.
	if !s.pins.pin(bodyID) {
		return nil, fmt.Errorf("body %d: %w (being deleted)", bodyID, storage.ErrNotFound)
	}
	q := `SELECT (SELECT size FROM bodies WHERE id=?1), data FROM body_chunks WHERE body_id=?1 AND n=0`
	args := []any{bodyID}
	if acct, ok := storage.AccountScope(ctx); ok {
		q += ` AND EXISTS (SELECT 1 FROM messages m JOIN mailboxes b ON b.id=m.mailbox_id WHERE m.body_id=?1 AND b.account_id=?2)`
		args = append(args, acct)
	}
	var size int64
	var first []byte
	err := s.rdb.QueryRowContext(ctx, q, args...).Scan(&size, &first)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("body %d: %w", bodyID, storage.ErrNotFound)
	}
	if err != nil {
		s.unpin(bodyID)
		return nil, err
	}
	return &bodyReader{ctx: ctx, st: s, id: bodyID, size: size, pinned: true, chunkN: 0, chunkBuf: first}, nil
}

func (s *Store) unpin(bodyID int64) {
	if s.pins.unpin(bodyID) {
		go s.purgeBody(bodyID)
	}
}

// OpenMessage opens the body of message uid of a mailbox: what a session
// reads a message through, so that the body is the one that message has
// now, never one an earlier listing pointed to.
func (s *Store) OpenMessage(ctx context.Context, mailboxID int64, uid uint32) (storage.BodyReader, error) {
	ctx = ctxOrBackground(ctx)
	mb, args := mailboxArg(ctx, mailboxID)
	var bodyID, size int64
	var first []byte
	// Subqueries rather than joins: SQLite runs this form in about two
	// thirds of the time.
	err := s.rdb.QueryRowContext(ctx, `SELECT m.body_id, (SELECT size FROM bodies WHERE id=m.body_id),
		(SELECT data FROM body_chunks WHERE body_id=m.body_id AND n=0)
		FROM messages m WHERE m.mailbox_id=`+mb+` AND m.uid=?`, append(args, uid)...).Scan(&bodyID, &size, &first)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("message uid %d of mailbox id %d: %w", uid, mailboxID, storage.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	gone := fmt.Errorf("message uid %d of mailbox id %d: %w (expunged while opened)", uid, mailboxID, storage.ErrNotFound)
	if !s.pins.pin(bodyID) {
		return nil, gone
	}
	r := &bodyReader{ctx: ctx, st: s, id: bodyID, size: size, pinned: true, chunkN: 0, chunkBuf: first}
	if int64(len(first)) < size {
		// The body was found before it was pinned: make sure it was not
		// deleted in between, or the next chunk would be missing.
		var one int
		err := s.rdb.QueryRowContext(ctx, `SELECT 1 FROM bodies WHERE id=?`, bodyID).Scan(&one)
		if err != nil {
			r.Close()
			if errors.Is(err, sql.ErrNoRows) {
				err = gone
			}
			return nil, err
		}
	}
	return r, nil
}

// ReadBody returns a whole stored body.
func (s *Store) ReadBody(ctx context.Context, bodyID int64) ([]byte, error) {
	r, err := s.OpenBody(ctx, bodyID)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	buf := make([]byte, r.Size())
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// Size is the body's size in octets.
func (r *bodyReader) Size() int64 { return r.size }

func (r *bodyReader) chunk(n int64) ([]byte, error) {
	if n == r.chunkN {
		return r.chunkBuf, nil
	}
	var data []byte
	err := r.st.rdb.QueryRowContext(r.ctx, `SELECT data FROM body_chunks WHERE body_id=? AND n=?`, r.id, n).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("body %d chunk %d: %w (the message was expunged while being read)", r.id, n, storage.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	r.chunkN, r.chunkBuf = n, data
	return data, nil
}

// ReadAt implements io.ReaderAt.
func (r *bodyReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("storage: negative offset")
	}
	total := 0
	for len(p) > 0 {
		if off >= r.size {
			return total, io.EOF
		}
		c, err := r.chunk(off / chunkSize)
		if err != nil {
			return total, err
		}
		in := off % chunkSize
		if in >= int64(len(c)) {
			return total, io.ErrUnexpectedEOF
		}
		n := copy(p, c[in:])
		total += n
		p = p[n:]
		off += int64(n)
	}
	return total, nil
}

// Read implements io.Reader.
func (r *bodyReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if max := r.size - r.off; int64(len(p)) > max {
		p = p[:max]
	}
	n, err := r.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker.
func (r *bodyReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	}
	if offset < 0 {
		return 0, errors.New("storage: negative seek")
	}
	r.off = offset
	return offset, nil
}

// Close releases the cached chunk and the pin on the body.
func (r *bodyReader) Close() error {
	r.chunkBuf = nil
	r.chunkN = -1
	if r.pinned {
		r.pinned = false
		r.st.unpin(r.id)
	}
	return nil
}

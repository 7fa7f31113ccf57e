package pop3d

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"postern/storage"
)

// fetchBatch is how many messages one FetchMessages call loads.
const fetchBatch = 500

// message is one entry of the maildrop, numbered from 1 in UID order.
type message struct {
	uid       uint32
	size      int64 // octets RETR sends before dot-stuffing (CRLF, as stored)
	headerLen int64
	seen      bool // \Seen is set, or will be at the next flush
	deleted   bool // DELE in this session, undone by RSET
	gone      bool // expunged by another session since the snapshot
}

// maildrop is the INBOX as the session saw it at login (RFC 1939 §5:
// message numbers do not change during a session). Changes other sessions
// commit later reach it as store events: an expunge marks a message gone.
type maildrop struct {
	st        storage.Maildrop
	accountID int64
	box       storage.Mailbox
	msgs      []message
	sub       *storage.Subscription

	// \Seen for retrieved messages is stored in the background, so that a
	// client that waits for each reply does not also wait for an fsync.
	// While one StoreFlags runs, new UIDs queue and go in the next call.
	seenMu    sync.Mutex
	seenQueue []uint32      // retrieved, \Seen not yet committed
	seenBusy  chan struct{} // non-nil while a commit runs; closed when it ends
	seenErr   error         // the last background failure, reported once
}

// openMaildrop snapshots the INBOX of an account.
func openMaildrop(ctx context.Context, st storage.Maildrop, accountID int64) (*maildrop, error) {
	box, err := st.Mailbox(ctx, accountID, "INBOX")
	if err != nil {
		return nil, fmt.Errorf("INBOX: %w", err)
	}
	// Subscribe before listing, so that no expunge after the listing is missed.
	sub := st.Subscribe(accountID)
	states, err := st.MessageUIDs(ctx, box.ID)
	if err != nil {
		sub.Close()
		return nil, err
	}
	d := &maildrop{st: st, accountID: accountID, box: box, sub: sub, msgs: make([]message, 0, len(states))}
	uids := make([]uint32, 0, fetchBatch)
	for i := 0; i < len(states); i += fetchBatch {
		uids = uids[:0]
		for _, m := range states[i:min(i+fetchBatch, len(states))] {
			uids = append(uids, m.UID)
		}
		rows, err := st.FetchMessages(ctx, box.ID, uids, storage.FetchWant{})
		if err != nil {
			sub.Close()
			return nil, err
		}
		// A message expunged between the two queries is simply not listed.
		for _, r := range rows {
			d.msgs = append(d.msgs, message{
				uid: r.UID, size: r.Size, headerLen: r.HeaderLen,
				seen: r.Flags.Has(storage.FlagSeen),
			})
		}
	}
	return d, nil
}

func (d *maildrop) close() { d.sub.Close() }

// errEventsLost: more changes came than the subscription queues, so an
// expunge may have gone unseen and the listing can no longer be trusted.
var errEventsLost = errors.New("events were lost")

// sync applies the events other sessions caused since the last call.
func (d *maildrop) sync() error {
	if d.sub.Lost() {
		return errEventsLost
	}
	select {
	case <-d.sub.Ready():
	default:
		return nil
	}
	for _, ev := range d.sub.Drain() {
		switch ev.Kind {
		case storage.EventExpunge:
			if ev.MailboxID == d.box.ID {
				for _, uid := range ev.UIDs {
					if m := d.byUID(uid); m != nil {
						m.gone = true
					}
				}
			}
		case storage.EventFlags:
			if ev.MailboxID == d.box.ID {
				for i, uid := range ev.UIDs {
					if m := d.byUID(uid); m != nil && i < len(ev.Flags) && !m.deleted {
						m.seen = m.seen || ev.Flags[i].Has(storage.FlagSeen)
					}
				}
			}
		case storage.EventMailboxRename:
			// Renaming INBOX moves its messages away (RFC 3501 §6.3.5).
			if ev.MailboxID == d.box.ID || strings.EqualFold(ev.Mailbox, "INBOX") {
				for i := range d.msgs {
					d.msgs[i].gone = true
				}
			}
		}
	}
	return nil
}

func (d *maildrop) byUID(uid uint32) *message {
	i := sort.Search(len(d.msgs), func(i int) bool { return d.msgs[i].uid >= uid })
	if i < len(d.msgs) && d.msgs[i].uid == uid {
		return &d.msgs[i]
	}
	return nil
}

// stat counts the messages not marked deleted and their octets.
func (d *maildrop) stat() (n int, octets int64) {
	for i := range d.msgs {
		if !d.msgs[i].deleted {
			n++
			octets += d.msgs[i].size
		}
	}
	return n, octets
}

// markSeen queues \Seen for message i (DESIGN: POP3 RETR sets \Seen).
func (d *maildrop) markSeen(i int) {
	m := &d.msgs[i]
	if !m.seen {
		m.seen = true
		d.seenMu.Lock()
		d.seenQueue = append(d.seenQueue, m.uid)
		d.seenMu.Unlock()
	}
}

// startSeen commits the queued \Seen flags in the background unless a
// commit is already running; that one picks the queue up when it is done.
// It returns the error of an earlier background commit, if any.
func (d *maildrop) startSeen() error {
	d.seenMu.Lock()
	defer d.seenMu.Unlock()
	err := d.seenErr
	d.seenErr = nil
	if d.seenBusy != nil || len(d.seenQueue) == 0 {
		return err
	}
	busy := make(chan struct{})
	d.seenBusy = busy
	go func() {
		defer close(busy)
		for {
			d.seenMu.Lock()
			uids := d.seenQueue
			d.seenQueue = nil
			if len(uids) == 0 {
				d.seenBusy = nil
				d.seenMu.Unlock()
				return
			}
			d.seenMu.Unlock()
			// Not the session's context: a session that ends must still
			// record what it handed out.
			_, err := d.st.StoreFlags(storage.WithAccount(context.Background(), d.accountID), d.box.ID, uids, storage.FlagsAdd, storage.FlagSet{System: storage.FlagSeen})
			if err != nil {
				d.seenMu.Lock()
				d.seenErr = err
				d.seenMu.Unlock()
			}
		}
	}()
	return err
}

// finishSeen waits for a background commit and stores what is still
// queued, so that after it returns every retrieved message has \Seen.
func (d *maildrop) finishSeen(ctx context.Context) error {
	for {
		d.seenMu.Lock()
		busy := d.seenBusy
		d.seenMu.Unlock()
		if busy == nil {
			break
		}
		select {
		case <-busy:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	d.seenMu.Lock()
	uids, err := d.seenQueue, d.seenErr
	d.seenQueue, d.seenErr = nil, nil
	d.seenMu.Unlock()
	if len(uids) > 0 {
		if _, err2 := d.st.StoreFlags(storage.WithAccount(ctx, d.accountID), d.box.ID, uids, storage.FlagsAdd, storage.FlagSet{System: storage.FlagSeen}); err2 != nil {
			return err2
		}
	}
	return err
}

// deletedUIDs lists the messages marked deleted that still exist.
func (d *maildrop) deletedUIDs() []uint32 {
	var uids []uint32
	for _, m := range d.msgs {
		if m.deleted && !m.gone {
			uids = append(uids, m.uid)
		}
	}
	return uids
}

// errNoTrash: the trash policy found no mailbox with the \Trash special use.
var errNoTrash = errors.New("no \\Trash mailbox")

// commitDeletes is the UPDATE state (RFC 1939 §6): the messages marked
// deleted leave the maildrop in one store transaction, as policy says. It
// returns how many messages were affected.
func (d *maildrop) commitDeletes(ctx context.Context, policy string) (int, error) {
	uids := d.deletedUIDs()
	if len(uids) == 0 {
		return 0, nil
	}
	switch policy {
	case DeleteFlag:
		_, err := d.st.StoreFlags(ctx, d.box.ID, uids, storage.FlagsAdd, storage.FlagSet{System: storage.FlagDeleted})
		return len(uids), err
	case DeleteTrash:
		trash, err := d.trash(ctx)
		if err != nil {
			return 0, err
		}
		res, err := d.st.Move(ctx, d.box.ID, uids, trash)
		return len(res.SrcUIDs), err
	default:
		gone, err := d.st.Expunge(ctx, d.box.ID, uids)
		return len(gone), err
	}
}

func (d *maildrop) trash(ctx context.Context) (int64, error) {
	boxes, err := d.st.Mailboxes(ctx, d.accountID)
	if err != nil {
		return 0, err
	}
	for _, b := range boxes {
		if b.SpecialUse == `\Trash` && b.ID != d.box.ID {
			return b.ID, nil
		}
	}
	return 0, errNoTrash
}

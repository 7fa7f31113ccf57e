package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// EventKind says what changed. The values are stored in the change log:
// a kind keeps its number, and new kinds take new numbers.
type EventKind uint8

const (
	EventAppend         EventKind = 1  // UIDs were added to a mailbox
	EventFlags          EventKind = 2  // flags of UIDs changed (Flags, ModSeqs parallel to UIDs)
	EventExpunge        EventKind = 3  // UIDs were removed from a mailbox
	EventMailboxCreate  EventKind = 4  // a mailbox was created
	EventMailboxDelete  EventKind = 5  // a mailbox was deleted
	EventMailboxRename  EventKind = 6  // a mailbox was renamed to NewName
	EventAccountDisable EventKind = 7  // the account was disabled: its sessions end
	EventAccountDelete  EventKind = 8  // the account was deleted: its sessions end
	EventPasswordChange EventKind = 9  // the account's password was changed
	EventAccountEnable  EventKind = 10 // the account was enabled again
	EventAccountCreate  EventKind = 11 // the account was created (Address)
	EventAliasChange    EventKind = 12 // the alias Address was added to or deleted (AccountID 0)
)

var kindNames = [...]string{
	EventAppend:         "append",
	EventFlags:          "flags",
	EventExpunge:        "expunge",
	EventMailboxCreate:  "mailbox-create",
	EventMailboxDelete:  "mailbox-delete",
	EventMailboxRename:  "mailbox-rename",
	EventAccountDisable: "account-disable",
	EventAccountDelete:  "account-delete",
	EventAccountEnable:  "account-enable",
	EventAccountCreate:  "account-create",
	EventPasswordChange: "password-change",
	EventAliasChange:    "alias-change",
}

func (k EventKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("event-kind-%d", k)
}

// Why a subscription ended (Subscription.Err).
var (
	ErrAccountDeleted  = errors.New("account deleted")
	ErrAccountDisabled = errors.New("account disabled")
)

// Event is one committed change, published after the transaction that made it.
// Every event is also written to the change log, in the same transaction.
type Event struct {
	Kind      EventKind
	AccountID int64 // 0 for a change of no account (EventAliasChange)
	MailboxID int64
	Mailbox   string // the mailbox's name at the time of the change
	NewName   string // EventMailboxRename only
	Address   string // account and alias events: the address
	UIDs      []uint32
	Flags     []FlagSet // EventFlags: the new flags, parallel to UIDs
	ModSeqs   []uint64  // EventFlags: the new MODSEQ, parallel to UIDs
	// ModSeq is the mailbox's HIGHESTMODSEQ after the change, for the
	// events of a mailbox (RFC 7162 §3.1.2).
	ModSeq uint64
	// Seq is the change's position in the change log: positions grow in
	// commit order, store-wide.
	Seq    uint64
	Origin uint64 // the origin id of the writer (see WithOrigin), 0 if none
}

// Bus carries change events from the store to live sessions of one
// process. The store publishes its own commits on it at once and those of
// other processes as it reads them from the change log (Feed).
type Bus interface {
	Publish(events []Event)
	Subscribe(accountID int64) *Subscription
	// Resync tells every subscription that events may have been missed
	// (Lost), and ends those of accounts for which check returns
	// ErrAccountDeleted or ErrAccountDisabled.
	Resync(check func(accountID int64) error)
}

// MaxQueuedEvents caps the events a subscription holds between two Drains, so
// that a client that never reads cannot make the server grow without bound.
const MaxQueuedEvents = 10000

// maxQueuedUIDs caps the UIDs in the events a subscription holds: one event
// may carry the UIDs (and flags) of a whole mailbox. One event above it is
// still queued on its own.
const maxQueuedUIDs = 256 << 10

// Subscription receives the events of one account. Events queue until Drain; Ready
// wakes a waiting session without blocking the publisher. When the account is
// deleted or disabled the subscription ends (Ended): every session of the
// account must then end.
type Subscription struct {
	account int64
	bus     *memBus
	ready   chan struct{}
	// end is cancelled, with the reason, when the account goes; a context
	// gives AfterEnd without a goroutine per waiting session.
	end     context.Context
	stopEnd context.CancelCauseFunc

	notify atomic.Pointer[func()] // see Notify

	mu      sync.Mutex
	queue   []Event
	uids    int  // UIDs in queue
	lost    bool // events were dropped since the last Lost call
	closed  bool
	discard bool // keep no events (WatchAccount)
}

func newSubscription(accountID int64, bus *memBus) *Subscription {
	end, stop := context.WithCancelCause(context.Background())
	return &Subscription{account: accountID, bus: bus, ready: make(chan struct{}, 1), end: end, stopEnd: stop}
}

// Ended is closed when the account is deleted or disabled.
func (s *Subscription) Ended() <-chan struct{} { return s.end.Done() }

// Err says why the subscription ended: ErrAccountDeleted or
// ErrAccountDisabled; nil while it has not.
func (s *Subscription) Err() error {
	if s.end.Err() == nil {
		return nil
	}
	return context.Cause(s.end)
}

// AfterEnd arranges for f to run in its own goroutine once the subscription
// ends (at once if it has), as context.AfterFunc does: nothing runs until
// then. stop cancels it and reports whether it did so before f started.
func (s *Subscription) AfterEnd(f func()) (stop func() bool) {
	return context.AfterFunc(s.end, f)
}

// End ends the subscription for good, with why (ErrAccountDeleted or
// ErrAccountDisabled): the session it serves must end. A backend calls it
// when a subscription is made for an account that is already gone.
func (s *Subscription) End(why error) {
	s.mu.Lock()
	closed := s.closed
	s.queue, s.uids = nil, 0
	s.mu.Unlock()
	if closed {
		return
	}
	s.stopEnd(why)
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// KeepNothing turns the subscription into a watch of the account's end:
// only Ended, Err and AfterEnd are of use then.
func (s *Subscription) KeepNothing() {
	s.mu.Lock()
	s.discard, s.queue, s.uids = true, nil, 0
	s.mu.Unlock()
}

// Lost reports, once, that events were dropped because the queue was full. A
// session that keeps a view of a mailbox can no longer trust it and must end
// (IMAP: BYE) or reload it.
func (s *Subscription) Lost() bool {
	s.mu.Lock()
	lost := s.lost
	s.lost = false
	s.mu.Unlock()
	return lost
}

// Ready is signalled (capacity 1) when events are waiting.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Notify makes f run, on the publisher's goroutine, each time events are
// queued, after Ready is signalled: a session waiting in a read can be
// woken (by a read deadline) without a goroutine of its own waiting on
// Ready. f must not block. stop removes it.
func (s *Subscription) Notify(f func()) (stop func()) {
	s.notify.Store(&f)
	return func() { s.notify.CompareAndSwap(&f, nil) }
}

// Drain returns and clears the queued events, oldest first.
func (s *Subscription) Drain() []Event {
	s.mu.Lock()
	q := s.queue
	s.queue, s.uids = nil, 0
	s.mu.Unlock()
	return q
}

// Pending reports how many events are queued, cheaply (no allocation).
func (s *Subscription) Pending() int {
	s.mu.Lock()
	n := len(s.queue)
	s.mu.Unlock()
	return n
}

// Close stops delivery to this subscription.
func (s *Subscription) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.queue, s.uids = nil, 0
	s.mu.Unlock()
	if s.bus != nil {
		s.bus.remove(s)
	}
}

// lose drops the queued events and marks the subscription Lost.
func (s *Subscription) lose() {
	s.mu.Lock()
	if s.closed || s.end.Err() != nil {
		s.mu.Unlock()
		return
	}
	s.queue, s.uids, s.lost = nil, 0, true
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

func (s *Subscription) push(ev Event) {
	switch ev.Kind {
	case EventAccountDelete:
		s.End(ErrAccountDeleted)
		return
	case EventAccountDisable:
		s.End(ErrAccountDisabled)
		return
	case EventPasswordChange, EventAccountEnable, EventAccountCreate, EventAliasChange:
		return // no session shows them
	}
	s.mu.Lock()
	if s.closed || s.discard || s.end.Err() != nil {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= MaxQueuedEvents || len(s.queue) > 0 && s.uids+len(ev.UIDs) > maxQueuedUIDs {
		s.queue, s.uids, s.lost = nil, 0, true
	} else {
		s.queue = append(s.queue, ev)
		s.uids += len(ev.UIDs)
	}
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
	if f := s.notify.Load(); f != nil {
		(*f)()
	}
}

type memBus struct {
	mu   sync.RWMutex
	subs map[int64]map[*Subscription]struct{}
}

// NewBus returns the in-process event bus.
func NewBus() Bus {
	return &memBus{subs: make(map[int64]map[*Subscription]struct{})}
}

func (b *memBus) Subscribe(accountID int64) *Subscription {
	s := newSubscription(accountID, b)
	b.mu.Lock()
	m := b.subs[accountID]
	if m == nil {
		m = make(map[*Subscription]struct{})
		b.subs[accountID] = m
	}
	m[s] = struct{}{}
	b.mu.Unlock()
	return s
}

func (b *memBus) remove(s *Subscription) {
	b.mu.Lock()
	if m := b.subs[s.account]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(b.subs, s.account)
		}
	}
	b.mu.Unlock()
}

func (b *memBus) Resync(check func(accountID int64) error) {
	b.mu.RLock()
	subs := make(map[int64][]*Subscription, len(b.subs))
	for acct, m := range b.subs {
		for s := range m {
			subs[acct] = append(subs[acct], s)
		}
	}
	b.mu.RUnlock()
	for acct, list := range subs {
		var why error
		if check != nil {
			why = check(acct)
		}
		for _, s := range list {
			if errors.Is(why, ErrAccountDeleted) || errors.Is(why, ErrAccountDisabled) {
				s.End(why)
				continue
			}
			s.lose()
		}
	}
}

func (b *memBus) Publish(events []Event) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, ev := range events {
		for s := range b.subs[ev.AccountID] {
			s.push(ev)
		}
	}
}

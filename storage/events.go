package storage

import (
	"context"
	"sync"
	"sync/atomic"
)

// EventKind says what changed.
type EventKind uint8

const (
	EventAppend        EventKind = iota + 1 // UIDs were added to a mailbox
	EventFlags                              // flags of UIDs changed (Flags, ModSeqs parallel to UIDs)
	EventExpunge                            // UIDs were removed from a mailbox
	EventMailboxCreate                      // a mailbox was created
	EventMailboxDelete                      // a mailbox was deleted
	EventMailboxRename                      // a mailbox was renamed to NewName
)

// Event is one committed change, published after the transaction that made it.
type Event struct {
	Kind      EventKind
	AccountID int64
	MailboxID int64
	Mailbox   string // the mailbox's name at the time of the change
	NewName   string // EventMailboxRename only
	UIDs      []uint32
	Flags     []FlagSet // EventFlags: the new flags, parallel to UIDs
	ModSeqs   []uint64  // EventFlags: the new MODSEQ, parallel to UIDs
	Origin    uint64    // the origin id of the writer (see WithOrigin), 0 if none
}

// Bus carries change events from the store to live sessions. The in-process bus
// serves one server; a multi-node deployment would carry events between nodes
// behind the same interface.
type Bus interface {
	Publish(events []Event)
	Subscribe(accountID int64) *Subscription
}

// MaxQueuedEvents caps the events a subscription holds between two Drains, so
// that a client that never reads cannot make the server grow without bound.
const MaxQueuedEvents = 10000

// Subscription receives the events of one account. Events queue until Drain; Ready
// wakes a waiting session without blocking the publisher.
type Subscription struct {
	account int64
	bus     *memBus
	ready   chan struct{}

	mu     sync.Mutex
	queue  []Event
	lost   bool // events were dropped since the last Lost call
	closed bool
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

// Drain returns and clears the queued events, oldest first.
func (s *Subscription) Drain() []Event {
	s.mu.Lock()
	q := s.queue
	s.queue = nil
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
	s.queue = nil
	s.mu.Unlock()
	if s.bus != nil {
		s.bus.remove(s)
	}
}

func (s *Subscription) push(ev Event) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= MaxQueuedEvents {
		s.queue, s.lost = nil, true
	} else {
		s.queue = append(s.queue, ev)
	}
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
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
	s := &Subscription{account: accountID, bus: b, ready: make(chan struct{}, 1)}
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

func (b *memBus) Publish(events []Event) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, ev := range events {
		for s := range b.subs[ev.AccountID] {
			s.push(ev)
		}
	}
}

type originKey struct{}

var originSeq atomic.Uint64

// NewOriginID returns a process-unique id for WithOrigin.
func NewOriginID() uint64 { return originSeq.Add(1) }

// WithOrigin marks the writes made with ctx, so that the events they cause carry
// id and a session can tell its own changes from those of others.
func WithOrigin(ctx context.Context, id uint64) context.Context {
	return context.WithValue(ctx, originKey{}, id)
}

func originFrom(ctx context.Context) uint64 {
	id, _ := ctx.Value(originKey{}).(uint64)
	return id
}

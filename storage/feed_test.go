package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// memLog is a change log in memory, for the feed's tests.
type memLog struct {
	mu        sync.Mutex
	entries   []Change
	pruned    uint64
	compacted []time.Time
}

func (l *memLog) add(node uint64, e Event) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.Seq = max(l.pruned, l.last()) + 1
	l.entries = append(l.entries, Change{Event: e, Node: node, Time: time.Now()})
	return e
}

func (l *memLog) last() uint64 {
	if len(l.entries) == 0 {
		return 0
	}
	return l.entries[len(l.entries)-1].Seq
}

func (l *memLog) ChangesAfter(_ context.Context, pos uint64, limit int) ([]Change, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pruned > pos {
		return nil, ErrChangesPruned
	}
	var out []Change
	for _, c := range l.entries {
		if c.Seq > pos && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

func (l *memLog) LastChange(context.Context) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(l.pruned, l.last()), nil
}

func (l *memLog) PruneChanges(_ context.Context, through uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var keep []Change
	for _, c := range l.entries {
		if c.Seq > through {
			keep = append(keep, c)
		}
	}
	l.entries, l.pruned = keep, max(l.pruned, through)
	return nil
}

func (l *memLog) CompactExpunges(_ context.Context, before time.Time) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.compacted = append(l.compacted, before)
	return 0, nil
}

const me, other = 0x1111111100000001, 0x2222222200000002

func uidsOf(evs []Event) string {
	var out []uint32
	for _, e := range evs {
		out = append(out, e.UIDs...)
	}
	return fmt.Sprint(out)
}

// Before its own change at position n, the store publishes every change
// of another node below n: one order for both.
func TestFeedPublishesInLogOrder(t *testing.T) {
	log := &memLog{}
	bus := NewBus()
	sub := bus.Subscribe(1)
	f := NewFeed(FeedOptions{Log: log, Bus: bus, Node: me, Follow: true})
	ctx := context.Background()
	log.add(other, Event{Kind: EventAppend, AccountID: 1, UIDs: []uint32{1}})
	log.add(other, Event{Kind: EventAppend, AccountID: 1, UIDs: []uint32{2}})
	mine := log.add(me, Event{Kind: EventAppend, AccountID: 1, UIDs: []uint32{3}})
	f.Publish(ctx, []Event{mine})
	if got := uidsOf(sub.Drain()); got != "[1 2 3]" {
		t.Fatalf("published %s, want [1 2 3]", got)
	}
	// A poll then finds nothing new: nothing is published twice.
	if err := f.Poll(ctx); err != nil || sub.Pending() != 0 {
		t.Fatalf("poll after catching up: %d events, %v", sub.Pending(), err)
	}
	log.add(other, Event{Kind: EventAppend, AccountID: 1, UIDs: []uint32{4}})
	if err := f.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := uidsOf(sub.Drain()); got != "[4]" {
		t.Fatalf("poll published %s, want [4]", got)
	}
}

// A poll stops at a change this store committed that its writer has not
// published yet, so that the changes after it are not published before
// it; after ownGrace it publishes it itself.
func TestFeedPollWaitsForTheWriter(t *testing.T) {
	log := &memLog{}
	bus := NewBus()
	sub := bus.Subscribe(1)
	f := NewFeed(FeedOptions{Log: log, Bus: bus, Node: me, Follow: true})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.now = func() time.Time { return now }
	ctx := context.Background()
	log.add(other, Event{Kind: EventAppend, AccountID: 1, UIDs: []uint32{1}})
	mine := log.add(me, Event{Kind: EventAppend, AccountID: 1, UIDs: []uint32{2}})
	log.add(other, Event{Kind: EventAppend, AccountID: 1, UIDs: []uint32{3}})
	f.Poll(ctx)
	if got := uidsOf(sub.Drain()); got != "[1]" {
		t.Fatalf("poll published %s before the writer's change, want [1]", got)
	}
	f.Publish(ctx, []Event{mine})
	f.Poll(ctx)
	if got := uidsOf(sub.Drain()); got != "[2 3]" {
		t.Fatalf("then %s, want [2 3]", got)
	}
	// A change of this store that its writer never publishes.
	log.add(me, Event{Kind: EventAppend, AccountID: 1, UIDs: []uint32{4}})
	f.Poll(ctx)
	if sub.Pending() != 0 {
		t.Fatal("published before the grace period")
	}
	now = now.Add(ownGrace)
	f.Poll(ctx)
	if got := uidsOf(sub.Drain()); got != "[4]" {
		t.Fatalf("after the grace period: %s, want [4]", got)
	}
}

// A reader whose position was pruned resyncs: every subscription is Lost,
// and those of accounts that went meanwhile end.
func TestFeedResyncsWhenPruned(t *testing.T) {
	log := &memLog{}
	bus := NewBus()
	live := bus.Subscribe(1)
	gone := bus.Subscribe(2)
	disabled := bus.Subscribe(3)
	f := NewFeed(FeedOptions{Log: log, Bus: bus, Node: me, Follow: true,
		Check: func(_ context.Context, acct int64) error {
			switch acct {
			case 2:
				return ErrAccountDeleted
			case 3:
				return ErrAccountDisabled
			}
			return nil
		}})
	ctx := context.Background()
	log.add(other, Event{Kind: EventAppend, AccountID: 1, UIDs: []uint32{1}})
	log.add(other, Event{Kind: EventAccountDelete, AccountID: 2})
	log.PruneChanges(ctx, 2)
	if err := f.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if !live.Lost() || live.Pending() != 0 {
		t.Error("a live subscription was not told that events were lost")
	}
	if !errors.Is(gone.Err(), ErrAccountDeleted) || !errors.Is(disabled.Err(), ErrAccountDisabled) {
		t.Errorf("subscriptions of accounts that went: %v, %v", gone.Err(), disabled.Err())
	}
	// From the end of the log on, changes arrive again.
	log.add(other, Event{Kind: EventAppend, AccountID: 1, UIDs: []uint32{9}})
	f.Poll(ctx)
	if got := uidsOf(live.Drain()); got != "[9]" || live.Lost() {
		t.Errorf("after the resync: %s", got)
	}
}

// A store that does not follow (a CLI command) publishes its own changes
// and reads nothing.
func TestFeedWithoutFollowing(t *testing.T) {
	log := &memLog{}
	bus := NewBus()
	sub := bus.Subscribe(1)
	f := NewFeed(FeedOptions{Log: log, Bus: bus, Node: me})
	log.add(other, Event{Kind: EventAppend, AccountID: 1, UIDs: []uint32{1}})
	mine := log.add(me, Event{Kind: EventAppend, AccountID: 1, UIDs: []uint32{2}})
	f.Publish(context.Background(), []Event{mine})
	if got := uidsOf(sub.Drain()); got != "[2]" {
		t.Errorf("published %s", got)
	}
}

// The log is pruned by position: what was the newest entry ChangeRetention
// ago goes; the expunge history is compacted to ExpungeHistory.
func TestFeedMaintenance(t *testing.T) {
	log := &memLog{}
	f := NewFeed(FeedOptions{Log: log, Bus: NewBus(), Node: me, Follow: true, ExpungeHistory: 48 * time.Hour})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.now = func() time.Time { return now }
	ctx := context.Background()
	log.add(other, Event{Kind: EventAppend})
	if err := f.maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(log.compacted) != 1 || !log.compacted[0].Equal(now.Add(-48*time.Hour)) {
		t.Errorf("compaction cut-off %v", log.compacted)
	}
	log.add(other, Event{Kind: EventAppend})
	now = now.Add(ChangeRetention - time.Second)
	f.maintain(ctx)
	if log.pruned != 0 {
		t.Fatalf("pruned through %d before the retention", log.pruned)
	}
	now = now.Add(time.Second)
	f.maintain(ctx)
	if log.pruned != 1 || len(log.entries) != 1 {
		t.Errorf("pruned through %d, %d entries left; want 1 and 1", log.pruned, len(log.entries))
	}
	if len(log.compacted) != 1 {
		t.Error("compacted again within the hour")
	}
}

// An entry that cannot be read does not stop the reader: sessions resync
// past it, and what follows arrives.
func TestFeedResyncsPastAnUnreadableEntry(t *testing.T) {
	log := &memLog{}
	bus := NewBus()
	sub := bus.Subscribe(1)
	f := NewFeed(FeedOptions{Log: log, Bus: bus, Node: me, Follow: true})
	ctx := context.Background()
	log.add(other, Event{Kind: EventAppend, AccountID: 1, UIDs: []uint32{1}})
	log.add(other, Event{AccountID: 1}) // kind 0: unreadable
	log.add(other, Event{Kind: EventAppend, AccountID: 1, UIDs: []uint32{3}})
	if err := f.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if !sub.Lost() {
		t.Error("no resync past an unreadable entry")
	}
	if got := uidsOf(sub.Drain()); got != "[3]" {
		t.Errorf("after the unreadable entry: %s, want [3]", got)
	}
}

package storage

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Feed publishes a store's changes on its bus in the order of the change
// log: the store's own commits at once (Publish, which the writer calls
// after each commit: the fast path of live sessions), and those of other
// nodes as Poll reads them from the log. Both go through one order: a
// session that was told of flags another process set, and then of flags
// this one set on the same message, must learn them in that order, and
// appends to one mailbox must arrive in UID order. So before publishing
// its own change at position n, the store publishes every change of
// another node below n that it has not yet read.
//
// A store that does not follow the log (a CLI command: it has no
// sessions) publishes its own changes and nothing else.
type Feed struct {
	log    ChangeLog
	bus    Bus
	node   uint64
	follow bool
	check  func(ctx context.Context, accountID int64) error
	logger *slog.Logger
	now    func() time.Time

	expungeHistory time.Duration
	samples        []sample // log positions seen by maintain, oldest first
	compacted      time.Time

	mu  sync.Mutex
	pos uint64 // every change up to here has been published
	// An own change Poll met before the writer published it, and since
	// when: the writer publishes it in a moment, and Poll waits for that.
	waiting      uint64
	waitingSince time.Time
}

// FeedOptions configure a Feed.
type FeedOptions struct {
	Log  ChangeLog
	Bus  Bus
	Node uint64 // the node id the store logs its changes with
	// Follow makes the feed publish what other nodes commit (Poll, Run)
	// from position Pos on, in order with the store's own changes.
	Follow bool
	Pos    uint64
	// Check says whether an account may keep its sessions: nil, or
	// ErrAccountDeleted or ErrAccountDisabled. A resync asks it for
	// every account with sessions, since the changes that said so may
	// be among those missed.
	Check  func(ctx context.Context, accountID int64) error
	Logger *slog.Logger
	// ExpungeHistory is how long Run keeps expunged UIDs on record
	// (0: DefaultExpungeHistory).
	ExpungeHistory time.Duration
}

// feedBatch is how many changes one read of the log returns.
const feedBatch = 1000

// ownGrace is how long Poll waits for the writer to publish a change it
// committed. It always does, at once; only a commit that reported an
// error although it went through would leave one unpublished, which Poll
// then publishes as if another node had made it.
const ownGrace = 2 * time.Second

// NewFeed returns a Feed.
func NewFeed(o FeedOptions) *Feed {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ExpungeHistory <= 0 {
		o.ExpungeHistory = DefaultExpungeHistory
	}
	return &Feed{log: o.Log, bus: o.Bus, node: o.Node, follow: o.Follow, pos: o.Pos, check: o.Check, logger: o.Logger, now: time.Now,
		expungeHistory: o.ExpungeHistory}
}

// Publish publishes changes the store has just committed, in log order.
func (f *Feed) Publish(ctx context.Context, events []Event) {
	if len(events) == 0 {
		return
	}
	if !f.follow {
		f.bus.Publish(events)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if first := events[0].Seq; first > f.pos+1 {
		if err := f.read(ctx, first-1); err != nil {
			// Changes of other nodes before these may never be
			// published: every session must treat its view as stale.
			f.logger.Error("storage: reading the change log; live sessions resync", "err", err)
			f.resyncAt(ctx, events[len(events)-1].Seq)
		}
	}
	f.bus.Publish(events)
	f.pos = max(f.pos, events[len(events)-1].Seq)
}

// Poll publishes the changes other nodes committed since the last call.
func (f *Feed) Poll(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.read(ctx, 0)
}

// read publishes the changes of other nodes after f.pos, up to position
// until (0: all), and stops early at a change of this store that its
// writer has not published yet.
func (f *Feed) read(ctx context.Context, until uint64) error {
	for until == 0 || f.pos < until {
		changes, err := f.log.ChangesAfter(ctx, f.pos, feedBatch)
		if errors.Is(err, ErrChangesPruned) {
			return f.resync(ctx)
		}
		if err != nil {
			return err
		}
		var out []Event
		done := len(changes) < feedBatch
		for _, c := range changes {
			if until != 0 && c.Seq > until {
				done = true
				break
			}
			if c.Kind == 0 {
				// Unreadable: what it changed is unknown.
				f.bus.Publish(out)
				out = nil
				f.logger.Warn("storage: an entry of the change log cannot be read; live sessions resync", "seq", c.Seq)
				f.resyncAt(ctx, c.Seq)
				continue
			}
			if c.Node == f.node && until == 0 {
				now := f.now()
				if f.waiting != c.Seq {
					f.waiting, f.waitingSince = c.Seq, now
				}
				if now.Sub(f.waitingSince) < ownGrace {
					done = true
					break
				}
				f.logger.Warn("storage: a change this server committed was not published by its writer; publishing it from the change log", "seq", c.Seq)
			}
			out = append(out, c.Event)
			f.pos = c.Seq
		}
		if len(out) > 0 {
			f.bus.Publish(out)
		}
		if done {
			return nil
		}
	}
	return nil
}

// resync starts again from the end of the log after changes were missed:
// every subscription is told (Lost), so that sessions end their view of a
// mailbox or reload it, and those of accounts that went meanwhile end.
func (f *Feed) resync(ctx context.Context) error {
	last, err := f.log.LastChange(ctx)
	if err != nil {
		return err
	}
	f.logger.Warn("storage: changes were pruned from the change log before this server read them; live sessions resync",
		"position", f.pos, "now", last)
	f.resyncAt(ctx, last)
	return nil
}

// resyncAt marks every subscription Lost and goes on from position pos.
func (f *Feed) resyncAt(ctx context.Context, pos uint64) {
	f.bus.Resync(func(acct int64) error {
		if f.check == nil {
			return nil
		}
		return f.check(ctx, acct)
	})
	f.pos = max(f.pos, pos)
}

// sample is the newest log position at one time.
type sample struct {
	at  time.Time
	pos uint64
}

// Maintenance periods: how often the log is pruned and the expunge
// history compacted.
const (
	pruneEvery   = time.Minute
	compactEvery = time.Hour
)

// maintain keeps the log and the expunge history bounded. Every entry at
// or below a position read ChangeRetention ago is older than that, so it
// prunes by position, which needs no index on time.
func (f *Feed) maintain(ctx context.Context) error {
	now := f.now()
	last, err := f.log.LastChange(ctx)
	if err != nil {
		return err
	}
	f.samples = append(f.samples, sample{now, last})
	var through uint64
	for len(f.samples) > 0 && now.Sub(f.samples[0].at) >= ChangeRetention {
		through = f.samples[0].pos
		f.samples = f.samples[1:]
	}
	if through > 0 {
		if err := f.log.PruneChanges(ctx, through); err != nil {
			return err
		}
	}
	if now.Sub(f.compacted) >= compactEvery {
		n, err := f.log.CompactExpunges(ctx, now.Add(-f.expungeHistory))
		if err != nil {
			return err
		}
		f.compacted = now
		if n > 0 {
			f.logger.Debug("storage: expunge history compacted", "expunges", n, "kept", f.expungeHistory)
		}
	}
	return nil
}

// Run polls the log every interval until ctx ends, and keeps it and the
// expunge history bounded (a server runs it; a CLI command does not).
// Errors are logged once until a poll succeeds again.
func (f *Feed) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	var maintained time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := f.Poll(ctx)
		if err == nil && f.now().Sub(maintained) >= pruneEvery {
			maintained = f.now()
			if err := f.maintain(ctx); err != nil && ctx.Err() == nil {
				f.logger.Warn("storage: pruning the change log", "err", err)
			}
		}
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			f.logger.Error("storage: reading the change log", "err", err)
			failing = true
		case err == nil && failing:
			f.logger.Info("storage: reading the change log works again")
			failing = false
		}
	}
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"postern/storage"
)

// tx is a write transaction handed to one request inside a group commit. Events
// added to it are published only if the request succeeds and the group commits.
type tx struct {
	*sql.Tx
	ctx    context.Context
	store  *Store
	origin uint64
	events []storage.Event
	ended  *[]func() // run once the group transaction has ended, see atEnd
}

func (t *tx) publish(ev storage.Event) {
	ev.Origin = t.origin
	t.events = append(t.events, ev)
}

// atEnd runs f once the group transaction has ended, committed or not.
func (t *tx) atEnd(f func()) { *t.ended = append(*t.ended, f) }

type writeReq struct {
	ctx    context.Context
	fn     func(*tx) error
	events []storage.Event
	result chan error
}

// write runs fn inside the writer's next group transaction and returns once that
// transaction is durably committed (or fn failed). fn must not block on anything
// but the database: it runs while every other writer waits.
func (s *Store) write(ctx context.Context, fn func(*tx) error) error {
	ctx = ctxOrBackground(ctx)
	req := &writeReq{ctx: ctx, fn: fn, result: make(chan error, 1)}
	select {
	case <-s.closed:
		return storage.ErrClosed
	default:
	}
	select {
	case s.writes <- req:
	case <-s.closed:
		return storage.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the request is carried out even if ctx ends: the caller must learn
	// whether it was committed, so we wait for the answer.
	return noSpace(<-req.result)
}

// writer is the single goroutine that owns the write connection. It takes every
// request waiting at the moment, runs each in a SAVEPOINT of one transaction so a
// failing request rolls back alone, commits once (one fsync under synchronous=FULL),
// then publishes the events in commit order and answers the callers.
func (s *Store) writer() {
	defer close(s.done)
	batch := make([]*writeReq, 0, s.opts.MaxBatch)
	for {
		var first *writeReq
		select {
		case first = <-s.writes:
		case <-s.closed:
			// Drain what was queued before Close, then stop.
			for {
				select {
				case r := <-s.writes:
					s.commit([]*writeReq{r})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r := <-s.writes:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.commit(batch)
		// The slots are reused by the next batch; until then they would
		// keep the answered requests alive, and with them every message
		// body they carried.
		clear(batch)
	}
}

func (s *Store) commit(batch []*writeReq) {
	// Run before the callers are answered: what they see next includes it.
	var ended []func()
	runEnded := func() {
		for _, f := range ended {
			f()
		}
		ended = nil
	}
	fail := func(err error) {
		runEnded()
		for _, r := range batch {
			r.result <- err
		}
	}
	sqltx, err := s.wdb.BeginTx(context.Background(), nil)
	if err != nil {
		fail(fmt.Errorf("storage: begin: %w", err))
		return
	}
	errs := make([]error, len(batch))
	ok := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if len(batch) > 1 {
			if _, err := sqltx.Exec("SAVEPOINT req"); err != nil {
				errs[i] = err
				continue
			}
		}
		t := &tx{Tx: sqltx, ctx: r.ctx, store: s, origin: storage.OriginFrom(r.ctx), ended: &ended}
		err := r.fn(t)
		if err == nil && len(t.events) > 0 {
			// No change commits without its entry in the log.
			err = s.logEvents(sqltx, t.events)
		}
		if len(batch) > 1 {
			if err != nil {
				if _, rerr := sqltx.Exec("ROLLBACK TO req"); rerr != nil {
					sqltx.Rollback()
					fail(fmt.Errorf("storage: rollback to savepoint: %w", rerr))
					return
				}
			}
			if _, rerr := sqltx.Exec("RELEASE req"); rerr != nil {
				sqltx.Rollback()
				fail(fmt.Errorf("storage: release savepoint: %w", rerr))
				return
			}
		}
		errs[i] = err
		if err == nil {
			r.events = t.events
			ok++
		}
	}
	if ok == 0 {
		sqltx.Rollback()
	} else if err := sqltx.Commit(); err != nil {
		fail(fmt.Errorf("storage: commit: %w", err))
		return
	}
	runEnded()
	var events []storage.Event
	for i, r := range batch {
		if errs[i] == nil {
			events = append(events, r.events...)
		}
	}
	s.feed.Publish(context.Background(), events)
	for i, r := range batch {
		r.result <- errs[i]
	}
}

package sqlite

import (
	"sync"

	"postern/storage"
)

// accountWatchers run a function for every committed change to an account
// itself: deleted, disabled, password changed. The login path's cache of
// verified passwords listens here.
type accountWatchers struct {
	mu   sync.RWMutex
	next int
	fns  map[int]func(storage.Event)
}

// WatchAccounts runs f after every commit that deletes or disables an
// account or changes its password, with that event: on the writer's
// goroutine for this store's commits, and, when the store follows the
// change log, on the reader's for those of other processes (a password
// set with "postern user passwd"). f must not block. stop removes it.
func (s *Store) WatchAccounts(f func(storage.Event)) (stop func()) {
	w := &s.accountWatch
	w.mu.Lock()
	if w.fns == nil {
		w.fns = make(map[int]func(storage.Event))
	}
	id := w.next
	w.next++
	w.fns[id] = f
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		delete(w.fns, id)
		w.mu.Unlock()
	}
}

func (w *accountWatchers) notify(events []storage.Event) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if len(w.fns) == 0 {
		return
	}
	for _, ev := range events {
		switch ev.Kind {
		case storage.EventAccountDelete, storage.EventAccountDisable, storage.EventPasswordChange:
			for _, f := range w.fns {
				f(ev)
			}
		}
	}
}

// watchedBus is the bus the feed publishes on: it tells the account
// watchers too, so that they hear of the changes other processes commit
// (a password set with "postern user passwd") as of this one's.
type watchedBus struct {
	storage.Bus
	w *accountWatchers
}

func (b watchedBus) Publish(events []storage.Event) {
	b.Bus.Publish(events)
	b.w.notify(events)
}

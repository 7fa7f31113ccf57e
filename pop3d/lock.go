package pop3d

import (
	"context"
	"sync"
	"time"
)

// lockTable holds the maildrop locks: RFC 1939 §8 has the server lock a
// maildrop for the length of a session, so one POP3 session per account runs
// at a time. The lock lives in this process only; IMAP sessions ignore it.
type lockTable struct {
	mu    sync.Mutex
	held  map[int64]chan struct{} // closed when released
	owner map[int64]string        // remote address of the holder, for the log
}

func newLockTable() *lockTable {
	return &lockTable{held: map[int64]chan struct{}{}, owner: map[int64]string{}}
}

// acquire takes the lock of account id, waiting up to wait for a holder that
// is going away (a client reconnecting after a drop often beats the server's
// cleanup of the dead connection by a few milliseconds). It returns the
// release function, or ok false if the lock is still held after wait.
func (lt *lockTable) acquire(ctx context.Context, id int64, who string, wait time.Duration) (release func(), ok bool) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		lt.mu.Lock()
		ch, busy := lt.held[id]
		if !busy {
			done := make(chan struct{})
			lt.held[id] = done
			lt.owner[id] = who
			lt.mu.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					lt.mu.Lock()
					delete(lt.held, id)
					delete(lt.owner, id)
					lt.mu.Unlock()
					close(done)
				})
			}, true
		}
		lt.mu.Unlock()
		if timer == nil {
			if wait <= 0 {
				return nil, false
			}
			timer = time.NewTimer(wait)
		}
		select {
		case <-ch:
		case <-timer.C:
			return nil, false
		case <-ctx.Done():
			return nil, false
		}
	}
}

// holder returns the remote address of the session holding id's lock.
func (lt *lockTable) holder(id int64) string {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return lt.owner[id]
}

package auth

import (
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// loginMemory gives the memory of a burst of logins back to the system
// once the burst is over. Each password hash allocates 19 MiB (argon2id),
// and each new session leaves garbage and a goroutine stack grown by its
// first commands; an idle server runs no garbage collection that would
// hand those pages back or shrink the stacks, so after a burst the process
// would keep tens of MiB it no longer uses. A second after the last login
// ends (at most every ten seconds), two collections run (buffers pooled by
// the sessions' first commands outlive one, in sync.Pool's victim cache)
// and the free pages go back to the system.
var loginMemory = burstRelease{quiet: time.Second, every: 10 * time.Second, release: func() {
	runtime.GC()
	debug.FreeOSMemory()
}}

type burstRelease struct {
	quiet   time.Duration // after the last login
	every   time.Duration // at most this often
	release func()

	mu     sync.Mutex
	active int
	timer  *time.Timer
	last   time.Time
}

func (b *burstRelease) start() {
	b.mu.Lock()
	b.active++
	b.mu.Unlock()
}

func (b *burstRelease) end() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.active--
	if b.active > 0 {
		return
	}
	wait := max(b.quiet, time.Until(b.last.Add(b.every)))
	if b.timer == nil {
		b.timer = time.AfterFunc(wait, b.fire)
	} else {
		b.timer.Reset(wait)
	}
}

func (b *burstRelease) fire() {
	b.mu.Lock()
	idle := b.active == 0
	if idle {
		b.last = time.Now()
	}
	b.mu.Unlock()
	if idle {
		b.release()
	}
}

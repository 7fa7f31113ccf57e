package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3"

	"postern/storage"
)

// ReserveFile is the file in data_dir that holds disk space back for
// deletions (see Options.ReserveBytes).
const ReserveFile = "postern.reserve"

// DefaultReserveBytes is the size of the reserve: ample for the few pages
// that an EXPUNGE, a POP3 DELE or a mailbox deletion writes.
const DefaultReserveBytes = 8 << 20

// noSpace wraps err with ErrNoSpace if the disk was full.
func noSpace(err error) error {
	var se sqlite3.Error
	if err == nil || errors.Is(err, storage.ErrNoSpace) {
		return err
	}
	if errors.As(err, &se) && se.Code == sqlite3.ErrFull || errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: %w", storage.ErrNoSpace, err)
	}
	return err
}

// space keeps the reserve: a file of ReserveBytes in data_dir. When the
// disk is full, SQLite still needs a few free pages to delete mail (the
// write-ahead log grows before anything is freed), and once nothing is
// free, deleting mail, the one thing that would help, fails too. So a write
// that deletes mail and finds the disk full gives the reserve up and runs
// again (Store.writeFreeing). Until the reserve can be made again, new mail
// is stored only if the disk keeps ReserveBytes free, so the space stays
// for deletions. Deleting mail does not give space back to the file system
// (SQLite reuses the freed pages for new mail), so the reserve comes back
// once the disk has room for it twice over, checked after deletions (the
// write-ahead log is then truncated) and new mail: typically when an
// administrator has freed space.
//
// A reserve file rather than a threshold on free space: the file also
// holds its space against other programs that fill the same disk.
type space struct {
	dir       string
	size      int64
	wdb       *sql.DB
	log       *slog.Logger
	freeSpace func(dir string) (uint64, error) // statfs; tests replace it

	mu        sync.Mutex
	held      bool           // the reserve file exists
	free      uint64         // last free-space reading, when degraded
	freeAt    time.Time      // when it was taken
	restoring chan struct{}  // non-nil while a restore runs; closed when it ends
	closed    bool           // the store is closing: no more restores
	wg        sync.WaitGroup // restores in the background, waited for by close
}

func newSpace(dir string, size int64, wdb *sql.DB, log *slog.Logger) *space {
	sp := &space{dir: dir, size: size, wdb: wdb, log: log, freeSpace: freeSpace}
	if size <= 0 {
		os.Remove(sp.path())
		return sp
	}
	if fi, err := os.Stat(sp.path()); err == nil && fi.Size() == size {
		sp.held = true
	} else if err := sp.make(); errors.Is(err, syscall.ENOSPC) {
		log.Warn("the disk of data_dir is full: no space is held back for deleting mail until it has room",
			"file", sp.path(), "bytes", size)
	} else if err != nil {
		log.Warn("cannot hold disk space back for deleting mail", "file", sp.path(), "err", err)
	}
	return sp
}

func (sp *space) path() string { return filepath.Join(sp.dir, ReserveFile) }

// make writes the reserve file; on a disk without room for it, it leaves
// none and the store runs degraded until there is.
func (sp *space) make() error {
	f, err := os.CreateTemp(sp.dir, ReserveFile+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	buf := make([]byte, 1<<20)
	for left := sp.size; left > 0 && err == nil; left -= int64(len(buf)) {
		_, err = f.Write(buf[:min(left, int64(len(buf)))])
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, sp.path())
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	sp.mu.Lock()
	sp.held = true
	sp.mu.Unlock()
	return nil
}

// release gives the reserve up; false if there was none to give. A
// restore in progress is waited for: it may be about to make one.
func (sp *space) release() bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for sp.restoring != nil {
		ch := sp.restoring
		sp.mu.Unlock()
		<-ch
		sp.mu.Lock()
	}
	if !sp.held {
		return false
	}
	sp.held = false
	sp.freeAt = time.Time{}
	if os.Remove(sp.path()) != nil {
		return false
	}
	sp.log.Warn("the disk of data_dir is full: the space held back is given up so that mail can be deleted; new mail is refused until the disk has room",
		"file", sp.path(), "bytes", sp.size)
	return true
}

func (sp *space) degraded() bool {
	if sp.size <= 0 {
		return false
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return !sp.held
}

// forget drops the cached free-space reading.
func (sp *space) forget() {
	sp.mu.Lock()
	sp.freeAt = time.Time{}
	sp.mu.Unlock()
}

// freeNow returns the free space of data_dir, read at most once a second.
func (sp *space) freeNow() (uint64, bool) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if time.Since(sp.freeAt) > time.Second {
		n, err := sp.freeSpace(sp.dir)
		if err != nil {
			return 0, false
		}
		sp.free, sp.freeAt = n, time.Now()
	}
	return sp.free, true
}

// admit decides whether n more bytes of mail may be stored. With the
// reserve held SQLite decides (a full disk fails the write); without it the
// disk must keep the reserve's size free, and with room for that the
// reserve is made again.
func (sp *space) admit(n int64) error {
	if !sp.degraded() {
		return nil
	}
	free, ok := sp.freeNow()
	if !ok {
		return nil
	}
	if free < uint64(sp.size+n) {
		return fmt.Errorf("%w: %d bytes free, %d held back for deletions", storage.ErrNoSpace, free, sp.size)
	}
	sp.goRestore()
	return nil
}

// goRestore runs restore in the background.
func (sp *space) goRestore() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.held || sp.restoring != nil || sp.closed {
		return
	}
	done := make(chan struct{})
	sp.restoring = done
	sp.wg.Add(1)
	go func() {
		defer sp.wg.Done()
		sp.restore()
		sp.mu.Lock()
		sp.restoring = nil
		sp.freeAt = time.Time{}
		sp.mu.Unlock()
		close(done)
	}()
}

// restore makes the reserve again once the disk has room for it twice:
// the reserve and as much again free, so that the next deletion does not
// need it at once. The write-ahead log, which keeps its largest size, is
// truncated first. The caller has set restoring.
func (sp *space) restore() {
	if free, err := sp.freeSpace(sp.dir); err == nil && free < uint64(2*sp.size) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		sp.wdb.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		cancel()
	}
	if free, err := sp.freeSpace(sp.dir); err == nil && free >= uint64(2*sp.size) && sp.make() == nil {
		sp.log.Info("the disk of data_dir has room again: space is held back for deleting mail", "file", sp.path(), "bytes", sp.size)
	}
}

// close waits for a restore in progress and starts no more.
func (sp *space) close() {
	sp.mu.Lock()
	sp.closed = true
	sp.mu.Unlock()
	sp.wg.Wait()
}

// writeFreeing runs a write that frees space or needs very little: an
// expunge, a deletion, a flag change. On a full disk it gives the reserve
// up and runs once more, so that users can always delete mail.
func (s *Store) writeFreeing(ctx context.Context, fn func(*tx) error) error {
	err := s.write(ctx, fn)
	if errors.Is(err, storage.ErrNoSpace) && s.space.release() {
		err = s.write(ctx, fn)
	}
	if err == nil && s.space.degraded() {
		s.space.goRestore()
	}
	return err
}

// Package sqlite is Postern's default mail store: one SQLite database in
// data_dir holding accounts, aliases, mailboxes, messages and their
// bodies, and the outbound queue. It implements the
// interfaces of package storage; every SQL statement of Postern is here.
//
// Writes go through a single writer goroutine that commits concurrent requests in
// groups: one transaction and one fsync for every request waiting at that moment.
// Reads use a separate pool of read-only connections (WAL mode lets them run beside
// the writer).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"postern/storage"
)

// DBFile is the name of the database file inside the data directory.
const DBFile = "postern.db"

// Options tunes a Store. The zero value is what production uses.
type Options struct {
	// Bus carries change events to live sessions. Nil means an in-process bus.
	Bus storage.Bus
	// MaxBatch caps how many write requests share one transaction (default 256).
	MaxBatch int
	// NoGroupCommit commits every write request in its own transaction. It exists
	// only to measure what group commit buys; never set it in production.
	NoGroupCommit bool
	// AnalysisMemory bounds the memory of received messages being hashed and
	// analysed at once, across all connections (default
	// storage.DefaultAnalysisMemory; see SpoolBody).
	AnalysisMemory int64
	// ReserveBytes is the disk space held back in data_dir (ReserveFile) so
	// that mail can still be deleted when the disk is full (see space).
	// 0 means DefaultReserveBytes; negative means none.
	ReserveBytes int64
	// Logger receives what an administrator must know of (a full disk).
	// Nil means slog.Default().
	Logger *slog.Logger

	// Follow makes the store publish on its bus, besides its own
	// changes, those other processes commit (a CLI command, an import),
	// read from the change log every FollowInterval (default 200ms), and
	// keep the log and the expunge history bounded. The server sets it;
	// a CLI command, which has no sessions, does not.
	Follow         bool
	FollowInterval time.Duration
	// ExpungeHistory is how long expunged UIDs stay on record for
	// storage.History ([storage] expunge_history; 0 means
	// storage.DefaultExpungeHistory).
	ExpungeHistory time.Duration
	// NodeID identifies the writer in the change log; 0 means
	// storage.NewNodeID().
	NodeID uint64
}

// The store is a whole backend.
var _ storage.Backend = (*Store)(nil)

// Store is an open mail store. It is safe for concurrent use.
type Store struct {
	dir  string
	wdb  *sql.DB // one connection, owned by the writer goroutine
	rdb  *sql.DB // read-only pool
	bus  storage.Bus
	opts Options

	recent           recentClaims    // see ClaimRecent
	accountWatch     accountWatchers // see WatchAccounts
	pins             bodyPins        // see BodyReader
	space            *space          // see writeFreeing
	*storage.Spooler                 // SpoolBody
	node             uint64
	feed             *storage.Feed
	stopFollow       context.CancelFunc
	following        chan struct{} // closed when the follower has stopped

	writes chan *writeReq
	done   chan struct{} // closed when the writer goroutine has exited
	closed chan struct{} // closed by Close to stop accepting writes
}

// Open opens (creating if needed) the store in dir and brings its schema up to date.
func Open(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir %s: %w", dir, err)
	}
	if err := checkWritable(dir); err != nil {
		return nil, err
	}
	if err := checkDatabaseWritable(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, DBFile)
	// DSN parameters run on every pooled connection. _synchronous must be given after
	// _journal_mode, or WAL mode silently resets it to NORMAL, which could lose a
	// committed (250-acknowledged) message on power loss.
	wq := url.Values{}
	wq.Set("_journal_mode", "WAL")
	wq.Set("_synchronous", "FULL")
	wq.Set("_busy_timeout", "10000")
	wq.Set("_foreign_keys", "on")
	wq.Set("_txlock", "immediate")
	// The driver re-prepares every statement otherwise; the same few dozen
	// run all day.
	wq.Set("_stmt_cache_size", "64")
	wdb, err := sql.Open("sqlite3", "file:"+path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	if err := wdb.Ping(); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := migrate(wdb, opts.Logger); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}

	rq := url.Values{}
	rq.Set("_busy_timeout", "10000")
	rq.Set("_foreign_keys", "on")
	rq.Set("_query_only", "1")
	rq.Set("_stmt_cache_size", "64")
	rdb, err := sql.Open("sqlite3", "file:"+path+"?"+rq.Encode())
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	n := 2 * runtime.NumCPU()
	if n < 4 {
		n = 4
	}
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)

	if opts.Bus == nil {
		opts.Bus = storage.NewBus()
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.NoGroupCommit {
		opts.MaxBatch = 1
	}
	if opts.ReserveBytes == 0 {
		opts.ReserveBytes = DefaultReserveBytes
	}
	if opts.NodeID == 0 {
		opts.NodeID = storage.NewNodeID()
	}
	if opts.FollowInterval <= 0 {
		opts.FollowInterval = 200 * time.Millisecond
	}
	s := &Store{
		dir:       dir,
		wdb:       wdb,
		rdb:       rdb,
		bus:       opts.Bus,
		opts:      opts,
		node:      opts.NodeID,
		Spooler:   storage.NewSpooler(dir, opts.AnalysisMemory),
		space:     newSpace(dir, opts.ReserveBytes, wdb, opts.Logger),
		writes:    make(chan *writeReq, 1024),
		done:      make(chan struct{}),
		closed:    make(chan struct{}),
		following: make(chan struct{}),
	}
	// The position to follow from is read before the writer starts: the
	// store's sessions see every change committed after it opened.
	pos, err := s.LastChange(context.Background())
	if err != nil {
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("open %s: reading the change log: %w", path, err)
	}
	s.feed = storage.NewFeed(storage.FeedOptions{Log: s, Bus: watchedBus{opts.Bus, &s.accountWatch}, Node: s.node, Follow: opts.Follow, Pos: pos,
		Check: s.accountState, Logger: opts.Logger, ExpungeHistory: opts.ExpungeHistory})
	go s.writer()
	ctx, cancel := context.WithCancel(context.Background())
	s.stopFollow = cancel
	go func() {
		defer close(s.following)
		if opts.Follow {
			s.feed.Run(ctx, opts.FollowInterval)
		}
	}()
	return s, nil
}

// checkWritable fails early, with a message an admin can act on, when the data
// directory cannot be written (a read-only volume, wrong owner in a container).
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data_dir %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// Dir returns the data directory the store lives in.
func (s *Store) Dir() string { return s.dir }

// Close stops the writer after the writes already queued and closes the database.
func (s *Store) Close() error {
	select {
	case <-s.closed:
		return nil
	default:
	}
	s.stopFollow()
	<-s.following
	close(s.closed)
	<-s.done
	s.space.close()
	err1 := s.rdb.Close()
	// A TRUNCATE checkpoint folds the WAL back into the database so that a backup of
	// the stopped server's data_dir is the single file.
	s.wdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	err2 := s.wdb.Close()
	return errors.Join(err1, err2)
}

// Subscribe returns a subscription to change events of one account. It is
// ended from the start if the account is already gone or disabled: a
// login that raced with DeleteAccount or DisableAccount ends as well.
func (s *Store) Subscribe(accountID int64) *storage.Subscription {
	sub := s.bus.Subscribe(accountID)
	// Read after subscribing: a change committed before this read is seen
	// here, one committed after it reaches the subscription as an event.
	var disabled bool
	err := s.rdb.QueryRow(`SELECT disabled FROM accounts WHERE id=?`, accountID).Scan(&disabled)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		sub.End(storage.ErrAccountDeleted)
	case err == nil && disabled:
		sub.End(storage.ErrAccountDisabled)
	}
	return sub
}

// WatchAccount returns a subscription that keeps no events: only Ended and
// AfterEnd are of use. It is for sessions that show no mailbox (SMTP
// submission), so that mail arriving for the account costs them nothing.
func (s *Store) WatchAccount(accountID int64) *storage.Subscription {
	sub := s.Subscribe(accountID)
	sub.KeepNothing()
	return sub
}

// ctxOrBackground guards against nil contexts from callers.
func ctxOrBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

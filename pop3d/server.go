// Package pop3d is Postern's POP3 server (RFC 1939) with the extensions
// RFC 2449 (CAPA, response codes, pipelining), RFC 2595 (STLS) and RFC 5034
// (SASL AUTH). The maildrop is the account's INBOX in the store, so POP3
// shares UIDs, flags and deletions with IMAP.
package pop3d

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"time"

	"postern/auth"
	"postern/internal/connserver"
	"postern/storage"
)

// Delete policies: what QUIT does with the messages a session deleted.
const (
	DeleteExpunge = "expunge" // remove them from INBOX (the default)
	DeleteFlag    = "flag"    // set \Deleted and leave them for an IMAP client to expunge
	DeleteTrash   = "trash"   // move them to the \Trash mailbox
)

// Defaults for zero Config fields.
const (
	// DefaultIdleTimeout is RFC 1939 §3's autologout timer: at least ten minutes.
	DefaultIdleTimeout = 10 * time.Minute
	// DefaultLockWait is how long a login waits for the maildrop lock of a
	// session that is going away before answering [IN-USE].
	DefaultLockWait = 2 * time.Second
	// DefaultMaxErrors is how many bad commands a connection may send
	// before it is closed.
	DefaultMaxErrors = 20
)

// Config configures a Server.
type Config struct {
	Store    storage.Maildrop
	Hostname string      // shown in the greeting
	TLS      *tls.Config // for STLS and implicit TLS; nil means no TLS offered
	// Auth is the login path shared with the other protocols: plaintext
	// policy, throttling, lockouts, the failed-login log. Nil means one
	// over Store with its defaults (no plaintext passwords at all).
	Auth   *auth.Service
	Logger *slog.Logger

	// DeletePolicy is DeleteExpunge (also for ""), DeleteFlag or DeleteTrash.
	DeletePolicy string
	// LockWait: see DefaultLockWait. Negative means do not wait.
	LockWait time.Duration
	// IdleTimeout: see DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxErrors: see DefaultMaxErrors.
	MaxErrors int
}

// Server serves POP3 on any number of listeners.
type Server struct {
	cfg   Config
	log   *slog.Logger
	locks *lockTable

	conns connserver.Server
}

// New returns a Server for cfg. cfg.Store is required.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Auth == nil {
		cfg.Auth = auth.New(auth.Options{Accounts: cfg.Store, Logger: cfg.Logger})
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.DeletePolicy == "" {
		cfg.DeletePolicy = DeleteExpunge
	}
	if cfg.LockWait == 0 {
		cfg.LockWait = DefaultLockWait
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxErrors <= 0 {
		cfg.MaxErrors = DefaultMaxErrors
	}
	return &Server{
		cfg:   cfg,
		log:   cfg.Logger,
		locks: newLockTable(),
		conns: connserver.Server{Log: cfg.Logger},
	}
}

// ErrServerClosed is returned by Serve and ServeTLS when called after Shutdown.
var ErrServerClosed = connserver.ErrClosed

// Serve accepts plain connections on l (STLS is offered when Config.TLS is
// set). It returns nil after Shutdown, or the listener's error.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(l, false)
}

// ServeTLS accepts connections on l and speaks TLS on them from the first
// byte (implicit TLS, RFC 8314, port 995).
func (s *Server) ServeTLS(l net.Listener) error {
	if s.cfg.TLS == nil {
		return errors.New("pop3d: ServeTLS needs Config.TLS")
	}
	return s.serve(l, true)
}

func (s *Server) serve(l net.Listener, implicit bool) error {
	return s.conns.Serve(l, func(c net.Conn) connserver.Conn {
		if implicit {
			c = tls.Server(c, s.cfg.TLS)
		}
		return newSession(s, c, implicit)
	})
}

// Shutdown stops accepting connections, interrupts sessions waiting for a
// command, lets commands in progress finish until ctx ends, and then closes
// every connection. A session ended this way commits nothing (RFC 1939 §6:
// only QUIT enters the UPDATE state).
func (s *Server) Shutdown(ctx context.Context) error { return s.conns.Shutdown(ctx) }

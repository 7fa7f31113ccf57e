// Package imapd is Postern's IMAP server, IMAP4rev1 (RFC 3501) and, once a
// client enables it, IMAP4rev2 (RFC 9051), over the Postern store, with
// IDLE, UIDPLUS, MOVE, MULTIAPPEND, LITERAL+, SASL-IR, NAMESPACE, UNSELECT,
// ENABLE, ID, CHILDREN, APPENDLIMIT, ESEARCH, SEARCHRES, CONTEXT=SEARCH,
// LIST-EXTENDED, LIST-STATUS, SPECIAL-USE, CREATE-SPECIAL-USE, STATUS=SIZE,
// BINARY, CATENATE, URLAUTH, URLAUTH=BINARY, UTF8=ACCEPT and
// COMPRESS=DEFLATE.
//
// The protocol engine (reader, parsers, encoder) is in internal/wire, IMAP
// URLs in internal/imapurl, the DEFLATE reader of COMPRESS in
// internal/inflate; each command is one file here (cmd_*.go) that
// registers itself in the command table, so a new command or capability is
// one new file.
package imapd

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

// Config configures a Server.
type Config struct {
	Store    storage.MailStore
	Hostname string      // greeting name
	TLS      *tls.Config // for STARTTLS and implicit TLS; nil = no TLS offered
	// Auth is the login path shared with the other protocols: plaintext
	// policy, throttling, lockouts, the failed-login log. Nil means one
	// over Store with its defaults (no plaintext passwords at all).
	Auth   *auth.Service
	Logger *slog.Logger
	// MaxMessageBytes caps an appended message; it is advertised as
	// APPENDLIMIT (RFC 7889). 0 means 25 MiB.
	MaxMessageBytes int64
	// IdleTimeout is how long an authenticated connection may be silent
	// (RFC 3501 §5.4: at least 30 minutes). 0 means 30 minutes.
	IdleTimeout time.Duration
	// PreAuthTimeout is how long a connection may be silent before it logs
	// in. 0 means one minute.
	PreAuthTimeout time.Duration
	// URLAuthKeys keeps the URLAUTH mailbox access keys (RFC 4467); nil
	// keeps them in memory, so that they do not outlive the process.
	URLAuthKeys URLAuthKeys
}

// Defaults for zero Config fields.
const (
	DefaultMaxMessageBytes = 25 << 20
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultPreAuthTimeout  = time.Minute
	writeTimeout           = 5 * time.Minute
	// refuseTimeout is how long a connection over a cap has to take its
	// answer (and with implicit TLS, the handshake before it).
	refuseTimeout = 10 * time.Second
)

// Limits of the command reader: what one command can make the server
// read and hold before it runs. Dovecot caps a whole command, string
// literals included, at 64 KiB (imap_max_line_length); Postern allows as
// much text and 256 KiB of string literals besides, since literals are how
// clients send long or 8-bit strings. APPEND's messages are not counted:
// they are streamed to the store under APPENDLIMIT. A command over a limit
// is refused with BAD [LIMIT] (RFC 5530 §3) and the rest of it is skipped.
const (
	maxLine            = 64 << 10  // text bytes of one command, over all its lines, literals excluded
	maxStringLiteral   = 64 << 10  // one literal used as a string argument
	maxCommandLiterals = 256 << 10 // all the string literals of one command
)

// Server serves IMAP on any number of listeners.
type Server struct {
	cfg Config
	log *slog.Logger

	conns connserver.Server
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.PreAuthTimeout <= 0 {
		cfg.PreAuthTimeout = DefaultPreAuthTimeout
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.URLAuthKeys == nil {
		cfg.URLAuthKeys = newMemoryKeys()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Auth == nil {
		cfg.Auth = auth.New(auth.Options{Accounts: cfg.Store, Logger: log})
	}
	return &Server{cfg: cfg, log: log, conns: connserver.Server{Log: log}}
}

// Serve accepts plain connections on l; STARTTLS is offered when the
// Config has TLS. It returns nil after Shutdown.
func (s *Server) Serve(l net.Listener) error { return s.serve(l, false) }

// ServeTLS accepts connections on l and speaks TLS on them from the first
// byte (port 993).
func (s *Server) ServeTLS(l net.Listener) error {
	if s.cfg.TLS == nil {
		return errors.New("imapd: ServeTLS needs Config.TLS")
	}
	return s.serve(l, true)
}

func (s *Server) serve(l net.Listener, implicitTLS bool) error {
	return s.conns.Serve(l, func(nc net.Conn) connserver.Conn { return newConn(s, nc, implicitTLS) })
}

// Shutdown stops accepting connections, tells connections waiting for a
// command to log out, lets commands in progress finish until ctx ends,
// and then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error { return s.conns.Shutdown(ctx) }

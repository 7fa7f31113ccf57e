// Package managesieve is a ManageSieve server (RFC 5804): users upload,
// check, list, fetch, rename, delete and activate their Sieve scripts over
// it, with STARTTLS and SASL PLAIN or LOGIN. Scripts are checked with
// package sieve before they are stored; the scripts themselves live
// behind ScriptStore and logins go through Authenticator, both the
// caller's.
package managesieve

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"time"

	"postern/internal/connserver"
	"postern/sieve"
)

// Authenticator checks a password login. The caller's implementation is
// the shared login path of all protocols: it throttles and logs failures
// itself. It returns the account the scripts belong to.
type Authenticator interface {
	Authenticate(ctx context.Context, remote net.Addr, username, password string) (account string, err error)
}

// ScriptInfo describes one stored script.
type ScriptInfo struct {
	Name   string
	Active bool
}

// Errors a ScriptStore returns, which the server answers with the
// response codes of RFC 5804 §1.3.
var (
	ErrNonexistent   = errors.New("managesieve: no script by that name")       // NONEXISTENT
	ErrActive        = errors.New("managesieve: the script is active")         // ACTIVE
	ErrAlreadyExists = errors.New("managesieve: a script by that name exists") // ALREADYEXISTS
)

// ScriptStore keeps each account's scripts, one of them at most active.
// Names are checked by the server before they get here. PutScript
// replaces a script of the same name, keeping it active if it was.
type ScriptStore interface {
	ListScripts(ctx context.Context, account string) ([]ScriptInfo, error)
	GetScript(ctx context.Context, account, name string) ([]byte, error)
	PutScript(ctx context.Context, account, name string, script []byte) error
	// DeleteScript refuses the active script with ErrActive.
	DeleteScript(ctx context.Context, account, name string) error
	// RenameScript refuses an existing new name with ErrAlreadyExists;
	// the active script stays active under its new name.
	RenameScript(ctx context.Context, account, oldName, newName string) error
	// SetActive makes name the active script; "" deactivates any.
	SetActive(ctx context.Context, account, name string) error
}

// Defaults for zero Config fields.
const (
	DefaultMaxScriptSize = 1 << 20
	DefaultMaxScripts    = 100
	// DefaultMaxNameLength is the least RFC 5804 §1.6 lets a server take,
	// in characters.
	DefaultMaxNameLength = 128
	// DefaultIdleTimeout is RFC 5804 §1.2's least autologout time after
	// login; DefaultLoginTimeout bounds the wait before it.
	DefaultIdleTimeout  = 30 * time.Minute
	DefaultLoginTimeout = 2 * time.Minute
	// DefaultMaxErrors is how many bad commands a connection may send
	// before it is closed; DefaultMaxAuthFailures how many failed logins.
	DefaultMaxErrors       = 20
	DefaultMaxAuthFailures = 3
)

// Config configures a Server.
type Config struct {
	Auth    Authenticator
	Scripts ScriptStore
	// TLS enables STARTTLS (and ServeTLS); nil offers no TLS.
	TLS *tls.Config
	// PlaintextOnLoopback allows passwords without TLS from loopback;
	// other clients must use STARTTLS first.
	PlaintextOnLoopback bool
	// Sieve are the options scripts are checked with; its MaxRedirects
	// is announced as MAXREDIRECTS.
	Sieve  *sieve.Options
	Logger *slog.Logger

	// MaxScriptSize caps a script in octets, MaxScripts the scripts of one
	// account, MaxNameLength a script name in characters.
	MaxScriptSize, MaxScripts, MaxNameLength int
	IdleTimeout, LoginTimeout                time.Duration
	MaxErrors, MaxAuthFailures               int
}

// Server serves ManageSieve on any number of listeners.
type Server struct {
	cfg   Config
	log   *slog.Logger
	conns connserver.Server
}

// New returns a Server for cfg; cfg.Auth and cfg.Scripts are required.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.MaxScriptSize, DefaultMaxScriptSize)
	def(&cfg.MaxScripts, DefaultMaxScripts)
	def(&cfg.MaxNameLength, DefaultMaxNameLength)
	def(&cfg.MaxErrors, DefaultMaxErrors)
	def(&cfg.MaxAuthFailures, DefaultMaxAuthFailures)
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.LoginTimeout <= 0 {
		cfg.LoginTimeout = DefaultLoginTimeout
	}
	if cfg.Sieve == nil {
		cfg.Sieve = &sieve.Options{}
	}
	return &Server{cfg: cfg, log: cfg.Logger, conns: connserver.Server{Log: cfg.Logger}}
}

// Serve accepts plain connections on l; STARTTLS is offered when
// Config.TLS is set. It returns nil after Shutdown, or the listener's
// error.
func (s *Server) Serve(l net.Listener) error { return s.serve(l, false) }

// ServeTLS accepts connections on l and speaks TLS from the first byte.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.cfg.TLS == nil {
		return errors.New("managesieve: ServeTLS needs Config.TLS")
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

// Shutdown stops accepting connections, ends idle sessions with BYE, lets
// commands in progress finish until ctx ends, then closes every
// connection.
func (s *Server) Shutdown(ctx context.Context) error { return s.conns.Shutdown(ctx) }

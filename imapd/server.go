// Package imapd is Postern's IMAP4rev1 server (RFC 3501) with IDLE, UIDPLUS,
// MOVE, MULTIAPPEND, LITERAL+, SASL-IR, NAMESPACE, UNSELECT, ENABLE, ID,
// SPECIAL-USE, CHILDREN and APPENDLIMIT, over the Postern store.
//
// The protocol engine (reader, parsers, encoder) is in internal/wire; each
// command is one file here (cmd_*.go) that registers itself in the command
// table, so a new command or capability is one new file.
package imapd

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"postern/authlimit"
	"postern/storage"
)

// Config configures a Server.
type Config struct {
	Store    *storage.Store
	Hostname string      // greeting name
	TLS      *tls.Config // for STARTTLS and implicit TLS; nil = no TLS offered
	Limiter  *authlimit.Limiter
	// PlaintextOnLoopback allows LOGIN and AUTHENTICATE without TLS from
	// loopback addresses.
	PlaintextOnLoopback bool
	Logger              *slog.Logger
	// MaxMessageBytes caps an appended message; it is advertised as
	// APPENDLIMIT (RFC 7889). 0 means 25 MiB.
	MaxMessageBytes int64
	// IdleTimeout is how long an authenticated connection may be silent
	// (RFC 3501 §5.4: at least 30 minutes). 0 means 30 minutes.
	IdleTimeout time.Duration
	// PreAuthTimeout is how long a connection may be silent before it logs
	// in. 0 means one minute.
	PreAuthTimeout time.Duration
}

// Defaults for zero Config fields.
const (
	DefaultMaxMessageBytes = 25 << 20
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultPreAuthTimeout  = time.Minute
	writeTimeout           = 5 * time.Minute
)

// Limits of the command reader.
const (
	maxLine          = 64 << 10 // bytes of one command line, literals excluded
	maxStringLiteral = 64 << 10 // a literal used as a string argument
)

// Server serves IMAP on any number of listeners.
type Server struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   bool
	connWG    sync.WaitGroup
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
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Server{cfg: cfg, log: log, listeners: map[net.Listener]struct{}{}, conns: map[*conn]struct{}{}}
}

// ErrServerClosed is returned by Serve after Shutdown... never: Serve
// returns nil after Shutdown, like the other Postern servers.
var errClosed = errors.New("imapd: server is shut down")

// Serve accepts plain connections on l; STARTTLS is offered when the
// Config has TLS.
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
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return errClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := newConn(s, nc, implicitTLS)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.connWG.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.connWG.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Shutdown stops accepting connections, tells connections waiting for a
// command to log out, lets commands in progress finish until ctx ends,
// and then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.shutdown()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.connWG.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

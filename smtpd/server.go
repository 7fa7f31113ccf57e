// Package smtpd is Postern's SMTP front end, built on go-smtp: the MX
// listener that receives mail for the served domains from the internet, and
// the submission listeners where authenticated users send mail. Both hand
// accepted messages to package delivery, and answer 250 to DATA or BDAT only
// once every local copy is durably stored.
package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"postern/auth"
	"postern/delivery"
	"postern/storage"
)

// Defaults for zero Config fields.
const (
	// DefaultReadTimeout is long because go-smtp applies it to the whole DATA
	// upload, not to each read (a slow but steady sender must get through).
	DefaultReadTimeout  = 10 * time.Minute
	DefaultWriteTimeout = time.Minute
	// DefaultMaxLineLength is RFC 5321 §4.5.3.1.4's 512 for a command line,
	// with room for ESMTP parameters; go-smtp answers 500 5.4.0 and closes
	// the connection on a longer line.
	DefaultMaxLineLength = 2000
	// DefaultMaxErrors caps refused commands and recipients per connection;
	// past it the connection is closed with 421.
	DefaultMaxErrors = 20
)

// Config is what an SMTP server needs. Store and Hostname are required.
type Config struct {
	Store    storage.Submission
	Hostname string
	TLS      *tls.Config // STARTTLS and implicit TLS; nil offers no TLS
	// Auth is the login path shared with the other protocols (plaintext
	// policy, throttling, lockouts, the failed-login log); the MX counts
	// unknown recipients in its Limiter. Nil means one over Store with
	// its defaults (no plaintext passwords at all).
	Auth   *auth.Service
	Logger *slog.Logger

	Domains         []string       // served domains
	MaxMessageBytes int64          // SIZE; 0 means no limit
	MaxRecipients   int            // per transaction; 0 means no limit
	Queue           delivery.Queue // remote recipients; nil refuses them (451 4.3.0)
	// AllowFromDomains are domains any authenticated user may name in the
	// From and Sender fields of submitted mail (see checkAuthor).
	AllowFromDomains []string

	ReadTimeout   time.Duration
	WriteTimeout  time.Duration
	MaxLineLength int
	MaxErrors     int
}

// Server is one SMTP service (MX or submission) on any number of listeners.
type Server struct {
	cfg        Config
	submission bool
	router     *delivery.Router
	smtp       *smtp.Server
	tls        *tls.Config // cfg.TLS, watching handshakes
	log        *slog.Logger

	// ctx ends at Shutdown; it cuts short what sessions wait for, such
	// as the delay before refusing an unknown recipient.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	conns    map[*trackedConn]struct{}
	shutdown bool
}

// NewMX returns the server for mail from the internet: STARTTLS offered, no
// AUTH, recipients only in the served domains, never a relay.
func NewMX(cfg Config) *Server { return newServer(cfg, false) }

// NewSubmission returns the server for users' mail clients: AUTH PLAIN and
// LOGIN (after TLS, or on loopback if allowed), the sender must belong to the
// authenticated account, remote recipients go to the outbound queue.
func NewSubmission(cfg Config) *Server { return newServer(cfg, true) }

func newServer(cfg Config, submission bool) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Auth == nil {
		cfg.Auth = auth.New(auth.Options{Accounts: cfg.Store, Logger: cfg.Logger})
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.MaxLineLength <= 0 {
		cfg.MaxLineLength = DefaultMaxLineLength
	}
	if cfg.MaxErrors <= 0 {
		cfg.MaxErrors = DefaultMaxErrors
	}
	name := "smtp"
	if submission {
		name = "submission"
	}
	s := &Server{
		cfg:        cfg,
		submission: submission,
		router:     delivery.NewRouter(cfg.Store, cfg.Domains, cfg.Queue),
		log:        cfg.Logger.With("proto", name),
		conns:      map[*trackedConn]struct{}{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.TLS != nil {
		s.tls = s.watchHandshakes(cfg.TLS)
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = cfg.Hostname
	srv.TLSConfig = s.tls
	// The size limit is enforced here (session.Mail and session.Data), not
	// by go-smtp: its DATA reader refuses a message of exactly
	// MaxMessageBytes, because it stops at the limit before it can see the
	// terminating dot. A limit advertised as "SIZE n" must take a message
	// of n octets (RFC 1870 §4), and go-smtp advertises exactly the value
	// its reader enforces, so the limit cannot be given to go-smtp at all.
	// With MaxMessageBytes 0 go-smtp advertises SIZE without a number and
	// passes the SIZE parameter of MAIL on; session.Mail refuses a
	// declared size over the limit (RFC 1870 §6.1) and Data an actual one
	// (RFC 5321 §4.5.3.1.10: 552).
	srv.MaxMessageBytes = 0
	srv.MaxRecipients = cfg.MaxRecipients
	srv.MaxLineLength = cfg.MaxLineLength
	srv.ReadTimeout = cfg.ReadTimeout
	srv.WriteTimeout = cfg.WriteTimeout
	srv.EnableSMTPUTF8 = true
	srv.EnableDSN = true
	// AUTH is offered and refused per session (see
	// authSession.AuthMechanisms and Auth), which logs the refusal:
	// go-smtp's own rule would either never or always allow it without TLS.
	srv.AllowInsecureAuth = submission
	srv.ErrorLog = log.New(&slogWriter{s.log}, "", 0)
	s.smtp = srv
	return s
}

// Serve accepts plain connections on l (STARTTLS is offered when TLS is
// configured). It returns nil after Shutdown.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(&trackingListener{Listener: l, srv: s})
}

// ServeTLS accepts implicit-TLS connections on l (RFC 8314 §3.3, port 465).
func (s *Server) ServeTLS(l net.Listener) error {
	if s.cfg.TLS == nil {
		return errors.New("smtpd: ServeTLS needs Config.TLS")
	}
	// The tracking wrapper goes under TLS: go-smtp recognises TLS only by a
	// bare *tls.Conn.
	return s.serve(tls.NewListener(&trackingListener{Listener: l, srv: s, implicit: true}, s.tls))
}

// watchHandshakes returns a copy of cfg that tells the trackedConn under a
// starting handshake that plain text can no longer be written to its
// client (see trackedConn.top).
func (s *Server) watchHandshakes(cfg *tls.Config) *tls.Config {
	cfg = cfg.Clone()
	next := cfg.GetConfigForClient
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if tc := trackedOf(hello.Conn); tc != nil {
			tc.setTop(nil)
		}
		if next != nil {
			return next(hello)
		}
		return nil, nil
	}
	return cfg
}

func (s *Server) serve(l net.Listener) error {
	s.mu.Lock()
	closed := s.shutdown
	s.mu.Unlock()
	if closed {
		l.Close()
		return nil
	}
	err := s.smtp.Serve(l)
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, closes idle connections, lets transactions in
// progress finish until ctx ends, then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	for c := range s.conns {
		c.drain()
	}
	s.mu.Unlock()
	s.cancel()
	err := s.smtp.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.smtp.Close()
		return nil
	}
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// slogWriter carries go-smtp's internal error log into slog.
type slogWriter struct{ l *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	w.l.Warn("smtp server", "msg", string(trimNL(p)))
	return len(p), nil
}

func trimNL(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}

var _ io.Writer = (*slogWriter)(nil)

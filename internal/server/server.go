// Package server wires Postern together: it opens the store, sets up TLS and
// the shared login throttle, binds every configured listener and runs the
// protocol front ends on them. "postern serve" and the end-to-end tests both
// start the server through it, so the tests run what users run.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"postern/acmecert"
	"postern/auth"
	"postern/config"
	"postern/delivery"
	"postern/delivery/outbound"
	"postern/internal/metrics"
	"postern/internal/netlimit"
	"postern/mimeinfo"
	"postern/storage"
	"postern/storage/sqlite"
	"postern/tlsutil"
)

// frontend is what every protocol server offers (imapd, pop3d, smtpd).
type frontend interface {
	Serve(l net.Listener) error
	ServeTLS(l net.Listener) error
	Shutdown(ctx context.Context) error
}

type listener struct {
	key      string // config key, e.g. "[imap] listen_tls"
	ln       net.Listener
	fe       frontend
	implicit bool // implicit TLS
}

// Server is a running (or ready to run) Postern.
type Server struct {
	Config config.Config
	Store  storage.Backend
	// TLS is the configuration every listener uses; it takes its
	// certificate from Certificate at each handshake (with [tls] acme,
	// from ACME, and Certificate is the fallback).
	TLS         *tls.Config
	Certificate *tlsutil.Certificate
	// Auth is the login path of every protocol.
	Auth   *auth.Service
	Logger *slog.Logger
	// Outbound delivers the outbound queue; it is built by Listen.
	Outbound *outbound.Runner
	// TuneOutbound, if set before Listen, adjusts the outbound runner's
	// options (tests point it at a fake DNS and a loopback MX port).
	TuneOutbound func(*outbound.Options)
	// Metrics are the server's Prometheus metrics, served on /metrics.
	Metrics *metrics.Metrics
	// ACME obtains certificates when [tls] acme is on (set up by Listen).
	ACME *acmecert.Manager
	// ACMEClient, if set before Listen, talks to the ACME CA (tests set
	// one that trusts a test CA).
	ACMEClient *http.Client

	failed    atomic.Bool // a listener stopped on its own
	stopACME  context.CancelFunc
	stopWatch chan struct{} // ends watchCertificate
	unlock    func()        // releases data_dir's LockFile

	listeners []listener
	wg        sync.WaitGroup
	errs      chan error
}

// NewLogger returns the slog logger for log_format ("text" or "json").
func NewLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// New takes data_dir's lock (LockFile) and opens the store and TLS
// material of cfg. Call Listen, then Serve; Shutdown or Close release
// them.
func New(cfg config.Config, logger *slog.Logger) (*Server, error) {
	// Before the store is opened: a second server must not start
	// deleting bodies the first one still streams.
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	// The server follows the change log: its sessions see what CLI
	// commands and imports commit.
	st, err := sqlite.Open(cfg.DataDir, sqlite.Options{Logger: logger, Follow: true, ExpungeHistory: cfg.Storage.ExpungeHistory})
	if err != nil {
		unlock()
		return nil, err
	}
	// Bodies a reader kept past their last expunge when the server stopped.
	if n, err := st.DeleteUnreferencedBodies(context.Background()); err != nil {
		logger.Warn("could not delete unreferenced message bodies", "err", err)
	} else if n > 0 {
		logger.Info("deleted unreferenced message bodies", "count", n)
	}
	// Messages an older analysis computed lack what newer features use.
	if n, err := st.StaleBodies(context.Background()); err != nil {
		logger.Warn("could not count the messages to analyse again", "err", err)
	} else if n > 0 {
		logger.Warn("messages were analysed by an older version of postern; run `postern reindex` (the server keeps serving meanwhile)",
			"count", n, "analysis_version", mimeinfo.Version)
	}
	generated := generatesCertificate(cfg.TLS.Cert, cfg.DataDir)
	cert, err := tlsutil.LoadCertificate(cfg.TLS.Cert, cfg.TLS.Key, cfg.DataDir, cfg.Hostname)
	if err != nil {
		st.Close()
		unlock()
		return nil, err
	}
	if generated && !cfg.TLS.ACME {
		logger.Warn("generated a self-signed TLS certificate: mail clients will warn about it until [tls] cert and key name one from a CA (or [tls] acme is on)",
			"hostname", cfg.Hostname, "cert", filepath.Join(cfg.DataDir, tlsutil.GeneratedCertFile),
			"not_after", cert.Leaf().NotAfter.UTC().Format(time.RFC3339))
	}
	s := &Server{
		Config:      cfg,
		Store:       st,
		TLS:         cert.ServerConfig(),
		Certificate: cert,
		Logger:      logger,
		errs:        make(chan error, 16),
		unlock:      unlock,
	}
	s.Metrics = s.newMetrics()
	s.Auth = newAuth(cfg, st, logger, func(protocol string, ok bool) {
		if protocol == "smtp" {
			protocol = metrics.Submission // logins happen on submission only
		}
		s.Metrics.Login(protocol, ok)
	})
	return s, nil
}

// newAuth builds the login path from [auth]: lockouts kept in the store
// (and those in force taken from it, so a restart lifts none), and the
// cache of verified passwords dropped for an account the moment its
// password changes or it is deleted or disabled.
func newAuth(cfg config.Config, st storage.Logins, logger *slog.Logger, observe func(string, bool)) *auth.Service {
	a := cfg.Auth
	lim := auth.NewLimiter(auth.LimiterOptions{
		Failures:           a.LockoutFailures,
		FailuresPerAddress: a.LockoutFailuresPerAddress,
		Lockout:            a.LockoutDuration,
		SlowdownFailures:   a.SlowdownFailuresPerAccount,
		Trusted:            config.Prefixes(a.TrustedNetworks),
		Blocks:             st,
		Logger:             logger,
	})
	if err := lim.Load(context.Background()); err != nil {
		logger.Warn("could not read the lockouts in force from the store", "err", err)
	}
	ttl := a.CacheTTL
	if ttl == 0 {
		ttl = -1 // [auth] cache_ttl = "0s" turns the cache off
	}
	svc := auth.New(auth.Options{Accounts: st, Limiter: lim, PlaintextOnLoopback: a.PlaintextOnLoopback,
		CacheTTL: ttl, Logger: logger, Observe: observe})
	st.WatchAccounts(func(ev storage.Event) { svc.Forget(ev.AccountID) })
	return svc
}

// Listen binds every configured listener. If one cannot be bound (a port in
// use, a bad address) none stays bound and the error names the config key.
func (s *Server) Listen() error {
	if s.Outbound == nil {
		r, err := s.outboundRunner()
		if err != nil {
			return err
		}
		s.Outbound = r
	}
	if err := s.setupACME(); err != nil {
		return err
	}
	fes := s.frontends()
	lim := s.Config.Limits
	trusted := config.Prefixes(s.Config.Auth.TrustedNetworks)
	accounts := netlimit.NewAccounts(lim.ConnectionsPerAccountIP, trusted, s.Logger)
	for _, l := range s.Config.Listeners() {
		if l.Addr == "" {
			continue // turned off
		}
		fe, implicit := fes.forKey(l.Key)
		if fe == nil {
			continue
		}
		raw, err := net.Listen("tcp", l.Addr)
		if err != nil {
			s.closeListeners()
			return listenError(l.Key, l.Addr, err)
		}
		ln := netlimit.Wrap(s.wrapListener(l.Key, raw), netlimit.Options{PerIP: lim.ConnectionsPerIP, Total: lim.Connections,
			Trusted: trusted, Accounts: accounts, Logger: s.Logger})
		s.listeners = append(s.listeners, listener{key: l.Key, ln: ln, fe: fe, implicit: implicit})
	}
	if err := s.listenHTTP(); err != nil {
		s.closeListeners()
		return err
	}
	return nil
}

func (s *Server) closeListeners() {
	for _, l := range s.listeners {
		l.ln.Close()
	}
	s.listeners = nil
}

// Serve runs every front end on its listeners in the background.
func (s *Server) Serve() {
	s.Outbound.Start()
	s.startACME()
	s.checkPostmaster()
	s.checkCertificate(time.Now())
	s.stopWatch = make(chan struct{})
	go s.watchCertificate(s.stopWatch)
	for _, l := range s.listeners {
		s.Logger.Info("listening", "listener", l.key, "addr", l.ln.Addr().String())
		s.wg.Add(1)
		go func(l listener) {
			defer s.wg.Done()
			var err error
			if l.implicit {
				err = l.fe.ServeTLS(l.ln)
			} else {
				err = l.fe.Serve(l.ln)
			}
			if err != nil && !errors.Is(err, net.ErrClosed) {
				s.Logger.Error("listener failed", "listener", l.key, "err", err)
				s.failed.Store(true)
				select {
				case s.errs <- fmt.Errorf("%s: %w", l.key, err):
				default:
				}
			}
		}(l)
	}
}

// checkPostmaster warns about served domains where postmaster@ leads to no
// mailbox: RFC 5321 §4.5.1 requires every domain to take mail for it.
func (s *Server) checkPostmaster() {
	r := delivery.NewRouter(s.Store, s.Config.Domains, delivery.NoQueue{})
	for _, d := range s.Config.Domains {
		addr := "postmaster@" + d
		if _, err := r.Resolve(context.Background(), addr); err != nil {
			s.Logger.Warn("no mailbox takes mail for "+addr+" (RFC 5321 §4.5.1 requires one)",
				"domain", d, "fix", "postern alias add "+addr+" YOU@"+d)
		}
	}
}

// Reload re-reads what can change without a restart: the TLS certificate
// and key ([tls] cert and key, or the generated pair in data_dir). New
// connections on every listener get the new certificate; connections open
// keep theirs. A pair that cannot be used is refused, and logged with what
// is wrong, and the certificate in use stays.
func (s *Server) Reload() error {
	if err := s.Certificate.Reload(); err != nil {
		s.Logger.Error("reload: new TLS certificate refused, keeping the one in use", "err", err)
		return err
	}
	leaf := s.Certificate.Leaf()
	msg := "reload: TLS certificate loaded"
	if s.ACME != nil {
		// ACME certificates are renewed by the manager on its own.
		msg = "reload: fallback TLS certificate loaded (ACME certificates renew by themselves)"
	}
	s.Logger.Info(msg, "subject", leaf.Subject.String(),
		"names", leaf.DNSNames, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	s.checkCertificate(time.Now())
	return nil
}

// Errors reports listeners that stopped on their own.
func (s *Server) Errors() <-chan error { return s.errs }

// Addr returns the bound address of the listener with that config key, or nil.
func (s *Server) Addr(key string) net.Addr {
	for _, l := range s.listeners {
		if l.key == key {
			return l.ln.Addr()
		}
	}
	return nil
}

// Shutdown stops accepting, lets in-flight commands finish until ctx ends, then
// closes every connection and the store.
func (s *Server) Shutdown(ctx context.Context) error {
	var wg sync.WaitGroup
	seen := map[frontend]bool{}
	var mu sync.Mutex
	var errs []error
	for _, l := range s.listeners {
		if seen[l.fe] {
			continue
		}
		seen[l.fe] = true
		wg.Add(1)
		go func(fe frontend) {
			defer wg.Done()
			if err := fe.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}(l.fe)
	}
	wg.Wait()
	if s.stopACME != nil {
		s.stopACME()
	}
	if s.stopWatch != nil {
		close(s.stopWatch)
		s.stopWatch = nil
	}
	s.closeListeners()
	s.wg.Wait()
	if s.Outbound != nil {
		if err := s.Outbound.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.Close())
	return errors.Join(errs...)
}

// Close closes the store and releases data_dir: what Shutdown ends with,
// and what a server that could not Listen is closed with.
func (s *Server) Close() error {
	err := s.Store.Close()
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
	return err
}

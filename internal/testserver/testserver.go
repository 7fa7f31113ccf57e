// Package testserver starts the whole Postern server in-process, on free
// loopback ports with a temporary data directory, for end-to-end tests.
package testserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"postern/config"
	"postern/delivery/outbound"
	"postern/internal/server"
	"postern/storage"
	"postern/tlsutil"
)

// Options adjust the server a test gets.
type Options struct {
	// Configure, if set, changes the config before the server starts (listen
	// addresses are already 127.0.0.1:0; set one to "" to turn it off).
	Configure func(*config.Config)
	// Log receives the server's log; nil discards it (set POSTERN_TEST_LOG=1 to
	// see it on stderr).
	Log io.Writer
	// Dir is the data directory; "" makes a fresh one. A test restarts the
	// server by calling Stop and starting another on the same Dir.
	Dir string
	// TuneOutbound adjusts the outbound runner (fake DNS, MX port, clock).
	TuneOutbound func(*outbound.Options)
	// ACMEClient talks to a test ACME CA when the config turns [tls] acme on.
	ACMEClient *http.Client
}

// Server is a running test server.
type Server struct {
	*server.Server
	Dir string

	SMTPAddr, SubmissionAddr, SubmissionTLSAddr string
	IMAPAddr, IMAPTLSAddr                       string
	POP3Addr, POP3TLSAddr                       string
	HTTPAddr, HTTPSAddr                         string

	// TLSConfig is a client config that trusts the server's certificate.
	TLSConfig *tls.Config

	stopOnce sync.Once
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	dir := opts.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := config.Default()
	cfg.Hostname = "localhost"
	cfg.DataDir = dir
	cfg.Domains = []string{"example.test"}
	for _, p := range []*string{&cfg.SMTP.Listen, &cfg.Submission.Listen, &cfg.Submission.ListenTLS,
		&cfg.IMAP.Listen, &cfg.IMAP.ListenTLS, &cfg.POP3.Listen, &cfg.POP3.ListenTLS, &cfg.HTTP.Listen, &cfg.HTTP.ListenTLS} {
		*p = "127.0.0.1:0"
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("testserver: config: %v", err)
	}
	w := opts.Log
	if w == nil {
		w = io.Discard
		if os.Getenv("POSTERN_TEST_LOG") != "" {
			w = os.Stderr
		}
	}
	srv, err := server.New(cfg, slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	srv.TuneOutbound = opts.TuneOutbound
	srv.ACMEClient = opts.ACMEClient
	if err := srv.Listen(); err != nil {
		srv.Close()
		t.Fatalf("testserver: %v", err)
	}
	srv.Serve()

	pem, err := os.ReadFile(filepath.Join(dir, tlsutil.GeneratedCertFile))
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	s := &Server{Server: srv, Dir: dir, TLSConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("testserver: shutdown: %v", err)
		}
	})
	addr := func(key string) string {
		if a := srv.Addr(key); a != nil {
			return a.String()
		}
		return ""
	}
	s.SMTPAddr = addr("[smtp] listen")
	s.SubmissionAddr = addr("[submission] listen")
	s.SubmissionTLSAddr = addr("[submission] listen_tls")
	s.IMAPAddr = addr("[imap] listen")
	s.IMAPTLSAddr = addr("[imap] listen_tls")
	s.POP3Addr = addr("[pop3] listen")
	s.POP3TLSAddr = addr("[pop3] listen_tls")
	s.HTTPAddr = addr("[http] listen")
	s.HTTPSAddr = addr("[http] listen_tls")
	return s
}

// Stop shuts the server down (as SIGTERM does); later calls do nothing.
func (s *Server) Stop() error {
	var err error
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = s.Shutdown(ctx)
	})
	return err
}

// AddUser creates an account.
func (s *Server) AddUser(t testing.TB, address, password string) storage.Account {
	t.Helper()
	a, err := s.Store.CreateAccount(context.Background(), address, password)
	if err != nil {
		t.Fatalf("testserver: add user %s: %v", address, err)
	}
	return a
}

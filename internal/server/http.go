package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"postern/acmecert"
	"postern/config"
	"postern/httpd"
	"postern/internal/metrics"
	"postern/internal/proxyproto"
	"postern/mtasts"
	"postern/storage/sqlite"
)

// setupACME, with [tls] acme on, makes the ACME manager the certificate
// source of the shared TLS config; the certificate loaded before (the
// self-signed one) stays as the fallback while the CA has not answered.
//
// Certificate files ([tls] cert/key) and ACME exclude each other (config
// checks it): files are reloaded by tlsutil, ACME certificates are renewed
// by autocert, and both reach the listeners through s.TLS.
func (s *Server) setupACME() error {
	c := s.Config
	if !c.TLS.ACME {
		return nil
	}
	base := s.TLS.Clone()
	fallback := func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if base.GetCertificate != nil {
			return base.GetCertificate(h)
		}
		if len(base.Certificates) == 0 {
			return nil, errors.New("no fallback certificate")
		}
		return &base.Certificates[0], nil
	}
	m, err := acmecert.New(acmecert.Config{
		Hostname: c.Hostname, Domains: c.Domains, Email: c.TLS.ACMEEmail, Directory: c.TLS.ACMEDirectory,
		DataDir: c.DataDir, Fallback: fallback, HTTPClient: s.ACMEClient, Logger: s.Logger,
	})
	if err != nil {
		return err
	}
	s.ACME = m
	// crypto/tls answers a client without SNI from Certificates without
	// asking GetCertificate: clear them, the fallback keeps them.
	s.TLS.Certificates = nil
	s.TLS.GetCertificate = m.GetCertificate
	return nil
}

// httpFrontend runs the HTTP server on the [http] listeners like a mail
// front end: listen is plain HTTP, listen_tls HTTPS.
type httpFrontend struct {
	srv *httpd.Server
	tls *tls.Config
}

func (h *httpFrontend) Serve(l net.Listener) error         { return h.srv.Serve(l) }
func (h *httpFrontend) ServeTLS(l net.Listener) error      { return h.srv.ServeTLS(l, h.tls) }
func (h *httpFrontend) Shutdown(ctx context.Context) error { return h.srv.Shutdown(ctx) }

// newMetrics makes the server's metrics, reading queue and database size
// from the store at scrape time.
func (s *Server) newMetrics() *metrics.Metrics {
	return metrics.New(metrics.State{
		Queue: func() (int, time.Time, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			q, err := s.Store.QueueList(ctx)
			if err != nil || len(q) == 0 {
				return 0, time.Time{}, err
			}
			return len(q), q[0].Created, nil // oldest first
		},
		DatabaseBytes: func() (int64, error) {
			var n int64
			for _, suffix := range []string{"", "-wal", "-shm"} {
				fi, err := os.Stat(filepath.Join(s.Config.DataDir, sqlite.DBFile+suffix))
				if err != nil && !errors.Is(err, os.ErrNotExist) {
					return 0, err
				}
				if err == nil {
					n += fi.Size()
				}
			}
			return n, nil
		},
	})
}

// protocolOf maps a listener key to its metrics protocol.
var protocolOf = map[string]string{
	"[smtp] listen": metrics.SMTP, "[submission] listen": metrics.Submission, "[submission] listen_tls": metrics.Submission,
	"[imap] listen": metrics.IMAP, "[imap] listen_tls": metrics.IMAP, "[pop3] listen": metrics.POP3, "[pop3] listen_tls": metrics.POP3,
}

// wrapListener puts the PROXY protocol reader ([limits] proxy_protocol_from)
// and the connection counter around a freshly bound listener. The caps
// (netlimit) go outside, so that they count the real client addresses.
func (s *Server) wrapListener(key string, raw net.Listener) net.Listener {
	ln := proxyproto.Wrap(raw, config.Prefixes(s.Config.Limits.ProxyProtocolFrom), s.Logger)
	if p, ok := protocolOf[key]; ok {
		ln = &countingListener{Listener: ln, count: func() { s.Metrics.Connection(p) }}
	}
	return ln
}

type countingListener struct {
	net.Listener
	count func()
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.count()
	}
	return c, err
}

// listenHTTP binds the [http] listeners and adds them to s.listeners.
func (s *Server) listenHTTP() error {
	c := s.Config
	var ports config.MailPorts
	port := func(key string) int {
		if a, ok := s.Addr(key).(*net.TCPAddr); ok {
			return a.Port
		}
		return 0
	}
	// The ports actually bound (the same as configured unless a test asks
	// for any free port).
	ports = config.MailPorts{
		SMTP: port("[smtp] listen"), Submission: port("[submission] listen"), SubmissionTLS: port("[submission] listen_tls"),
		IMAP: port("[imap] listen"), IMAPTLS: port("[imap] listen_tls"), POP3: port("[pop3] listen"), POP3TLS: port("[pop3] listen_tls"),
	}
	hc := httpd.Config{
		Hostname:    c.Hostname,
		Domains:     c.Domains,
		Ports:       ports,
		MTASTS:      mtasts.FromConfig(&c),
		Health:      s.Health,
		Metrics:     s.Metrics.Handler(),
		MetricsFrom: config.Prefixes(c.HTTP.MetricsFrom),
		Logger:      s.Logger,
	}
	tlsCfg := s.TLS
	if s.ACME != nil {
		hc.ACMEHTTP = s.ACME.HTTPHandler
		tlsCfg = s.ACME.TLSConfig(s.TLS)
	}
	fe := &httpFrontend{srv: httpd.New(hc), tls: tlsCfg}
	for _, l := range c.HTTPListeners() {
		if l.Addr == "" {
			continue
		}
		raw, err := net.Listen("tcp", l.Addr)
		if err != nil {
			return fmt.Errorf("config %s = %q: %w", l.Key, l.Addr, err)
		}
		s.listeners = append(s.listeners, listener{key: l.Key, ln: s.wrapListener(l.Key, raw), fe: fe, implicit: l.Key == "[http] listen_tls"})
	}
	return nil
}

// startACME obtains the certificates in the background until Shutdown.
func (s *Server) startACME() {
	if s.ACME == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopACME = cancel
	s.ACME.Start(ctx)
}

// Health reports whether the server can do its job: every listener is
// serving, the data directory takes a file, and the store commits.
func (s *Server) Health(ctx context.Context) error {
	if s.failed.Load() {
		return errors.New("a listener has stopped (see the log)")
	}
	f, err := os.CreateTemp(s.Config.DataDir, ".health-*")
	if err != nil {
		return fmt.Errorf("data_dir not writable: %w", err)
	}
	_, werr := f.WriteString("ok")
	serr := f.Sync()
	f.Close()
	os.Remove(f.Name())
	if err := errors.Join(werr, serr); err != nil {
		return fmt.Errorf("data_dir not writable: %w", err)
	}
	if err := s.Store.CheckWritable(ctx); err != nil {
		return fmt.Errorf("store not writable: %w", err)
	}
	return nil
}

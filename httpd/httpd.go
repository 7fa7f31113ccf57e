// Package httpd is Postern's one HTTP listener for what is not mail: ACME
// challenges, /metrics, /healthz, client autoconfiguration (Thunderbird,
// Outlook, Apple) and the MTA-STS policy of each served domain.
//
// Everything it serves is small, so requests are bounded tightly: headers,
// bodies and the time a client may take to send them.
package httpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"postern/config"
	"postern/mtasts"
)

// Limits on every request.
const (
	MaxHeaderBytes    = 16 << 10
	MaxBodyBytes      = 16 << 10 // an autodiscover request is well under 1 KiB
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 20 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 60 * time.Second
	HealthTimeout     = 5 * time.Second
)

// Config is what the HTTP server serves.
type Config struct {
	// Hostname is the mail server's name that clients connect to.
	Hostname string
	// Domains are the served mail domains.
	Domains []string
	// Ports are the mail ports, for autoconfiguration.
	Ports config.MailPorts
	// MTASTS is the policy served at mta-sts.DOMAIN for each domain; with
	// an empty Mode no policy is served.
	MTASTS mtasts.Policy
	// Health reports whether the server can do its job (store writable,
	// listeners up); nil means healthy.
	Health func(ctx context.Context) error
	// Metrics serves /metrics; nil turns it off.
	Metrics http.Handler
	// MetricsFrom are the networks allowed to read /metrics.
	MetricsFrom []netip.Prefix
	// ACMEHTTP, if set, wraps the plain-HTTP handler to answer ACME
	// HTTP-01 challenges (autocert.Manager.HTTPHandler).
	ACMEHTTP func(fallback http.Handler) http.Handler
	// Logger receives errors; nil discards them.
	Logger *slog.Logger
}

// Server serves Config over plain HTTP and HTTPS listeners.
type Server struct {
	cfg     Config
	plain   *http.Server
	secure  *http.Server
	domains map[string]bool
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, domains: map[string]bool{}}
	for _, d := range cfg.Domains {
		s.domains[strings.ToLower(d)] = true
	}
	if s.cfg.Logger == nil {
		s.cfg.Logger = slog.New(slog.DiscardHandler)
	}
	mux := s.Handler()
	plain := http.Handler(mux)
	if cfg.ACMEHTTP != nil {
		plain = cfg.ACMEHTTP(mux)
	}
	s.plain = s.newHTTPServer(plain)
	s.secure = s.newHTTPServer(mux)
	return s
}

func (s *Server) newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           limitBody(h),
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelDebug),
	}
}

// limitBody caps every request body; a larger one fails to read.
func limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		h.ServeHTTP(w, r)
	})
}

// Handler is the request router, the same for both listeners; handlers
// that need TLS (MTA-STS) check r.TLS.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("GET /mail/config-v1.1.xml", s.thunderbird)
	mux.HandleFunc("GET /.well-known/autoconfig/mail/config-v1.1.xml", s.thunderbird)
	mux.HandleFunc("POST /autodiscover/autodiscover.xml", s.autodiscover)
	mux.HandleFunc("POST /Autodiscover/Autodiscover.xml", s.autodiscover)
	mux.HandleFunc("GET /mobileconfig", s.mobileconfig)
	mux.HandleFunc("GET /.well-known/mta-sts.txt", s.mtaSTS)
	return mux
}

// Serve serves plain HTTP on l (ACME HTTP-01, and everything but MTA-STS).
func (s *Server) Serve(l net.Listener) error { return ignoreClosed(s.plain.Serve(l)) }

// ServeTLS serves HTTPS on l with tlsCfg, which must hold the certificates
// (and, for ACME TLS-ALPN-01, the "acme-tls/1" protocol).
func (s *Server) ServeTLS(l net.Listener, tlsCfg *tls.Config) error {
	cfg := tlsCfg.Clone()
	for _, p := range []string{"h2", "http/1.1"} {
		if !contains(cfg.NextProtos, p) {
			cfg.NextProtos = append(cfg.NextProtos, p)
		}
	}
	return ignoreClosed(s.secure.Serve(tls.NewListener(l, cfg)))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops both listeners, letting requests in flight finish until
// ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	return errors.Join(s.plain.Shutdown(ctx), s.secure.Shutdown(ctx))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.cfg.Health != nil {
		ctx, cancel := context.WithTimeout(r.Context(), HealthTimeout)
		defer cancel()
		if err := s.cfg.Health(ctx); err != nil {
			s.cfg.Logger.Warn("health check failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "unhealthy: %v\n", err)
			return
		}
	}
	fmt.Fprintln(w, "ok")
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Metrics == nil {
		http.NotFound(w, r)
		return
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !containsAddr(s.cfg.MetricsFrom, ap.Addr().Unmap()) {
		http.Error(w, "forbidden: allow this address in [http] metrics_from", http.StatusForbidden)
		return
	}
	s.cfg.Metrics.ServeHTTP(w, r)
}

func containsAddr(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// requestHost is the request's host name, without port or trailing dot,
// in lower case.
func requestHost(r *http.Request) string {
	h := r.Host
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// mtaSTS serves the policy at https://mta-sts.DOMAIN/.well-known/mta-sts.txt
// (RFC 8461 §3.2): over HTTPS only, as text/plain, for served domains only.
func (s *Server) mtaSTS(w http.ResponseWriter, r *http.Request) {
	domain, ok := strings.CutPrefix(requestHost(r), "mta-sts.")
	if !ok || !s.domains[domain] || s.cfg.MTASTS.Mode == "" || r.TLS == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=300")
	fmt.Fprint(w, s.cfg.MTASTS.Text())
}

// Package acmecert obtains and renews the server's certificates from an
// ACME CA (Let's Encrypt by default) with golang.org/x/crypto/acme/autocert,
// for the hostname and the mta-sts., autoconfig. and autodiscover. names of
// each served domain, and hands them to every listener through one
// GetCertificate.
//
// What autocert leaves to its user, done here:
//   - Clients that send no SNI (many mail clients) get the hostname's
//     certificate instead of "missing server name".
//   - A name is obtained in the background at start with an ECDSA key
//     ("pre-warming"); until it is there, and whenever the CA fails, the
//     fallback (self-signed or configured) certificate is served and the
//     reason logged, so a handshake never waits for the CA.
//   - The host policy ignores a port in the name: an HTTP-01 request's Host
//     may carry one.
//   - The cache lives in data_dir, one directory per CA directory URL, so
//     certificates from a staging CA never reach production.
//
// Certificates from [tls] cert/key files are reloaded elsewhere (tlsutil);
// with ACME on, those files are not used and this package renews instead.
package acmecert

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// LetsEncrypt is the default directory: Let's Encrypt's production CA.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// Retry delays after a failed issuance. autocert itself refuses to try a
// name again within a minute of a failure.
const (
	firstRetry = 2 * time.Minute
	maxRetry   = 6 * time.Hour
)

// Config sets up a Manager.
type Config struct {
	Hostname  string
	Domains   []string
	Email     string // the CA's contact for expiry and policy notices
	Directory string // ACME directory URL; "" is LetsEncrypt
	DataDir   string
	// Fallback gives the certificate served while a name has none from
	// the CA (the self-signed or configured one).
	Fallback func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// HTTPClient talks to the CA; nil uses http.DefaultClient. Tests set
	// one that trusts a test CA.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Manager is the certificate source.
type Manager struct {
	cfg   Config
	m     *autocert.Manager
	names map[string]bool

	mu      sync.Mutex
	ready   map[string]bool // names whose ECDSA certificate is in hand
	running map[string]bool // names being obtained in the background
	ctx     context.Context
}

// Names lists the names a certificate is obtained for: the hostname, then
// mta-sts., autoconfig. and autodiscover. of each domain.
func Names(hostname string, domains []string) []string {
	out := []string{strings.ToLower(hostname)}
	for _, d := range domains {
		d = strings.ToLower(d)
		out = append(out, "mta-sts."+d, "autoconfig."+d, "autodiscover."+d)
	}
	return out
}

// CacheDir is where certificates from directory are kept in dataDir.
func CacheDir(dataDir, directory string) string {
	host := "ca"
	if u, err := url.Parse(directory); err == nil && u.Host != "" {
		host = strings.NewReplacer(":", "_", "/", "_").Replace(u.Host)
	}
	return filepath.Join(dataDir, "acme", host)
}

// New returns a Manager; call Start to obtain the certificates.
func New(cfg Config) (*Manager, error) {
	if cfg.Directory == "" {
		cfg.Directory = LetsEncrypt
	}
	if cfg.Fallback == nil {
		return nil, errors.New("acmecert: no fallback certificate")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	dir := CacheDir(cfg.DataDir, cfg.Directory)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("[tls] acme: certificate cache: %w", err)
	}
	m := &Manager{cfg: cfg, names: map[string]bool{}, ready: map[string]bool{}, running: map[string]bool{}, ctx: context.Background()}
	for _, n := range Names(cfg.Hostname, cfg.Domains) {
		m.names[n] = true
	}
	m.m = &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(dir),
		HostPolicy: m.hostPolicy,
		Email:      cfg.Email,
		Client:     &acme.Client{DirectoryURL: cfg.Directory, HTTPClient: cfg.HTTPClient, UserAgent: "postern"},
	}
	return m, nil
}

// hostPolicy allows our names only, with any port stripped (an HTTP-01
// request's Host may carry one).
func (m *Manager) hostPolicy(_ context.Context, host string) error {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if !m.names[strings.ToLower(strings.TrimSuffix(host, "."))] {
		return fmt.Errorf("acmecert: %q is not one of this server's names", host)
	}
	return nil
}

// Start obtains every name's certificate in the background (from the
// cache when it is there) until ctx ends.
func (m *Manager) Start(ctx context.Context) {
	m.mu.Lock()
	m.ctx = ctx
	m.mu.Unlock()
	for _, n := range Names(m.cfg.Hostname, m.cfg.Domains) {
		m.obtain(n)
	}
}

// Ready reports whether name's certificate has been obtained.
func (m *Manager) Ready(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ready[name]
}

// ecdsaHello is a ClientHello that makes autocert choose an ECDSA key.
func ecdsaHello(name string) *tls.ClientHelloInfo {
	return &tls.ClientHelloInfo{
		ServerName:        name,
		CipherSuites:      []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305},
		SupportedCurves:   []tls.CurveID{tls.X25519, tls.CurveP256},
		SignatureSchemes:  []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
		SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS12},
	}
}

// obtain starts getting name's certificate in the background, retrying
// with growing pauses, unless that is already under way.
func (m *Manager) obtain(name string) {
	m.mu.Lock()
	if m.running[name] || m.ready[name] {
		m.mu.Unlock()
		return
	}
	m.running[name] = true
	ctx := m.ctx
	m.mu.Unlock()
	go func() {
		defer func() {
			m.mu.Lock()
			delete(m.running, name)
			m.mu.Unlock()
		}()
		wait := firstRetry
		for {
			start := time.Now()
			_, err := m.m.GetCertificate(ecdsaHello(name))
			if err == nil {
				m.mu.Lock()
				m.ready[name] = true
				m.mu.Unlock()
				m.cfg.Logger.Info("ACME certificate ready", "name", name, "took", time.Since(start).Round(time.Millisecond))
				return
			}
			m.cfg.Logger.Warn("ACME certificate not obtained; serving the fallback certificate for now",
				"name", name, "err", err, "retry_in", wait,
				"check", "DNS of "+name+" points here, ports 80 and 443 reach this server, [tls] acme_directory")
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, maxRetry)
		}
	}()
}

// GetCertificate is the tls.Config hook every listener shares.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	// TLS-ALPN-01 validation (RFC 8737): the CA's handshake wants the
	// challenge certificate, never the fallback.
	for _, p := range hello.SupportedProtos {
		if p == acme.ALPNProto {
			return m.m.GetCertificate(hello)
		}
	}
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name == "" {
		// No SNI: most mail clients connect to the hostname.
		name = strings.ToLower(m.cfg.Hostname)
	}
	if !m.names[name] {
		return m.cfg.Fallback(hello)
	}
	if !m.Ready(name) {
		m.obtain(name)
		return m.cfg.Fallback(hello)
	}
	h := *hello
	h.ServerName = name
	cert, err := m.m.GetCertificate(&h)
	if err != nil {
		m.cfg.Logger.Warn("ACME certificate unavailable; serving the fallback certificate", "name", name, "err", err)
		return m.cfg.Fallback(hello)
	}
	return cert, nil
}

// HTTPHandler answers HTTP-01 challenges and passes other requests to
// fallback.
func (m *Manager) HTTPHandler(fallback http.Handler) http.Handler {
	return m.m.HTTPHandler(fallback)
}

// TLSConfig returns base with the certificates of m and, for TLS-ALPN-01,
// the "acme-tls/1" protocol: for the HTTPS listener, where the CA connects.
// Mail listeners use GetCertificate alone: a mail client offering an ALPN
// protocol must not meet a server that knows only "acme-tls/1".
func (m *Manager) TLSConfig(base *tls.Config) *tls.Config {
	c := base.Clone()
	c.Certificates = nil
	c.GetCertificate = m.GetCertificate
	c.NextProtos = append([]string{acme.ALPNProto}, c.NextProtos...)
	return c
}

package acmecert

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/acmecert/acmetest"
	"postern/httpd"
)

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startPebble runs the test CA against the site's ports.
func startPebble(t *testing.T, httpPort, tlsPort int) *acmetest.CA {
	return acmetest.Start(t, httpPort, tlsPort)
}

// fallbackCert is a throwaway certificate standing for the self-signed one.
func fallbackCert(t *testing.T) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fallback.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// site runs the HTTP listeners (plain and TLS) the CA validates against.
type site struct {
	plain, secure net.Listener
	httpPort      int
	tlsPort       int
}

func listenSite(t *testing.T) *site {
	t.Helper()
	p, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &site{plain: p, secure: s, httpPort: p.Addr().(*net.TCPAddr).Port, tlsPort: s.Addr().(*net.TCPAddr).Port}
}

func (s *site) serve(t *testing.T, m *Manager) {
	h := httpd.New(httpd.Config{Hostname: "mail.example.test", Domains: []string{"example.test"}, ACMEHTTP: m.HTTPHandler})
	go h.Serve(s.plain)
	go h.ServeTLS(s.secure, m.TLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Shutdown(ctx)
	})
}

func newManager(t *testing.T, dataDir, directory string, client *http.Client, logw io.Writer) *Manager {
	t.Helper()
	fb := fallbackCert(t)
	m, err := New(Config{
		Hostname: "mail.example.test", Domains: []string{"example.test"}, Email: "postmaster@example.test",
		Directory: directory, DataDir: dataDir, HTTPClient: client,
		Fallback: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return fb, nil },
		Logger:   slog.New(slog.NewTextHandler(logw, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func waitReady(t *testing.T, m *Manager, names ...string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for _, n := range names {
		for !m.Ready(n) {
			if time.Now().After(deadline) {
				t.Fatalf("no certificate for %s within 90 s", n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// handshake connects to addr with serverName ("" sends no SNI) and returns
// the leaf the server presented, verified against roots for verifyName.
func handshake(t *testing.T, addr, serverName, verifyName string, roots *x509.CertPool, protos ...string) *x509.Certificate {
	t.Helper()
	var leaf *x509.Certificate
	cfg := &tls.Config{
		ServerName:         serverName,
		InsecureSkipVerify: true, // verified below, so that a missing SNI can be tested
		NextProtos:         protos,
		VerifyConnection: func(cs tls.ConnectionState) error {
			leaf = cs.PeerCertificates[0]
			if roots == nil {
				return nil
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := leaf.Verify(x509.VerifyOptions{DNSName: verifyName, Roots: roots, Intermediates: inter})
			return err
		},
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("handshake with %s (SNI %q): %v", addr, serverName, err)
	}
	c.Close()
	return leaf
}

// Certificates come by TLS-ALPN-01 on the HTTPS listener, with ECDSA keys,
// for every name; clients without SNI get the hostname's; a mail listener
// sharing GetCertificate serves them too.
func TestTLSALPN01(t *testing.T) {
	s := listenSite(t)
	p := startPebble(t, s.httpPort, s.tlsPort)
	var logs lockedBuffer
	m := newManager(t, t.TempDir(), p.Directory, p.Client, &logs)
	s.serve(t, m)

	// Before the certificate is there the fallback is served at once.
	if leaf := handshake(t, s.secure.Addr().String(), "mail.example.test", "", nil); leaf.Subject.CommonName != "fallback.test" {
		t.Errorf("before issuance: got %q, want the fallback", leaf.Subject.CommonName)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.Start(ctx)
	names := Names("mail.example.test", []string{"example.test"})
	waitReady(t, m, names...)

	for _, n := range names {
		leaf := handshake(t, s.secure.Addr().String(), n, n, p.Roots)
		if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok {
			t.Errorf("%s: %T key, want ECDSA", n, leaf.PublicKey)
		}
	}
	// No SNI: the hostname's certificate.
	handshake(t, s.secure.Addr().String(), "", "mail.example.test", p.Roots)

	// A mail listener with GetCertificate alone, and a client offering an
	// ALPN protocol of its own (as some IMAP clients do).
	mailLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mailLn.Close()
	mailTLS := tls.NewListener(mailLn, &tls.Config{GetCertificate: m.GetCertificate})
	go func() {
		for {
			c, err := mailTLS.Accept()
			if err != nil {
				return
			}
			go func() {
				c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	handshake(t, mailLn.Addr().String(), "", "mail.example.test", p.Roots, "imap")

	// Unknown names get the fallback, and no certificate is requested.
	if leaf := handshake(t, s.secure.Addr().String(), "other.example.net", "", nil); leaf.Subject.CommonName != "fallback.test" {
		t.Errorf("unknown name: %q", leaf.Subject.CommonName)
	}

	// A restart finds the certificates in data_dir even with the CA gone.
	dataDir := m.cfg.DataDir
	p.Close()
	m2 := newManager(t, dataDir, p.Directory, p.Client, io.Discard)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	m2.Start(ctx2)
	waitReady(t, m2, names...)
}

// With TLS-ALPN-01 unreachable, HTTP-01 through the plain listener works,
// although the CA's Host header carries a port.
func TestHTTP01(t *testing.T) {
	s := listenSite(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	p := startPebble(t, s.httpPort, closedPort)
	m := newManager(t, t.TempDir(), p.Directory, p.Client, io.Discard)
	s.serve(t, m)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.Start(ctx)
	waitReady(t, m, "mail.example.test")
	handshake(t, s.secure.Addr().String(), "mail.example.test", "mail.example.test", p.Roots)
}

// A CA that cannot be reached leaves the fallback certificate in service
// and says why in the log.
func TestCAFailureKeepsServing(t *testing.T) {
	s := listenSite(t)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "https://" + dead.Addr().String() + "/dir"
	dead.Close()
	var logs lockedBuffer
	m := newManager(t, t.TempDir(), deadURL, nil, &logs)
	s.serve(t, m)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.Start(ctx)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(logs.String(), "ACME certificate not obtained") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line about the failure; log:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("log does not say why:\n%s", logs.String())
	}
	for _, sni := range []string{"mail.example.test", ""} {
		if leaf := handshake(t, s.secure.Addr().String(), sni, "", nil); leaf.Subject.CommonName != "fallback.test" {
			t.Errorf("SNI %q: got %q, want the fallback", sni, leaf.Subject.CommonName)
		}
	}
}

func TestHostPolicy(t *testing.T) {
	m := newManager(t, t.TempDir(), "https://127.0.0.1:1/dir", nil, io.Discard)
	for _, ok := range []string{"mail.example.test", "MAIL.example.test.", "mail.example.test:5002", "mta-sts.example.test",
		"autoconfig.example.test", "autodiscover.example.test"} {
		if err := m.hostPolicy(context.Background(), ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"example.test", "evil.example", "www.example.test", "mta-sts.example.net", ""} {
		if err := m.hostPolicy(context.Background(), bad); err == nil {
			t.Errorf("%s allowed", bad)
		}
	}
}

func TestCacheDir(t *testing.T) {
	a := CacheDir("/d", LetsEncrypt)
	b := CacheDir("/d", "https://acme-staging-v02.api.letsencrypt.org/directory")
	if a == b || !strings.HasPrefix(a, "/d/acme/") {
		t.Errorf("cache dirs %q %q: want one per CA under data_dir/acme", a, b)
	}
}

package httpd

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"postern/config"
	"postern/mtasts"
)

// testServer is a running Server on loopback, plain and TLS.
type testServer struct {
	srv           *Server
	plain, secure string // listener addresses
	client        *http.Client
}

var testPorts = config.MailPorts{IMAP: 143, IMAPTLS: 993, POP3: 110, POP3TLS: 995, Submission: 587, SubmissionTLS: 465}

func baseConfig() Config {
	return Config{
		Hostname:    "mail.example.com",
		Domains:     []string{"example.com", "example.org"},
		Ports:       testPorts,
		MTASTS:      mtasts.Policy{Mode: mtasts.Testing, MX: []string{"mail.example.com"}, MaxAge: 24 * time.Hour},
		MetricsFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "postern_up 1\n")
		}),
	}
}

// selfSigned makes a certificate for the names.
func selfSigned(t testing.TB, names ...string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func start(t *testing.T, cfg Config, tune func(*Server)) *testServer {
	t.Helper()
	s := New(cfg)
	if tune != nil {
		tune(s)
	}
	lp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cert, pool := selfSigned(t, "mail.example.com", "mta-sts.example.com", "mta-sts.example.org", "mta-sts.example.net",
		"autoconfig.example.org", "autodiscover.example.com")
	go s.Serve(lp)
	go s.ServeTLS(ls, &tls.Config{Certificates: []tls.Certificate{cert}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	ts := &testServer{srv: s, plain: lp.Addr().String(), secure: ls.Addr().String()}
	// Every name goes to the loopback listeners: the plain one for http,
	// the TLS one for https.
	ts.client = &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				_, port, _ := net.SplitHostPort(addr)
				to := ts.plain
				if port == "443" {
					to = ts.secure
				}
				var d net.Dialer
				return d.DialContext(ctx, network, to)
			},
		},
	}
	return ts
}

func (ts *testServer) get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := ts.client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestHealthz(t *testing.T) {
	var bad atomic.Bool
	cfg := baseConfig()
	cfg.Health = func(ctx context.Context) error {
		if bad.Load() {
			return errors.New("store not writable")
		}
		return nil
	}
	ts := start(t, cfg, nil)
	if resp, body := ts.get(t, "http://mail.example.com/healthz"); resp.StatusCode != 200 || body != "ok\n" {
		t.Errorf("healthy: %d %q", resp.StatusCode, body)
	}
	bad.Store(true)
	resp, body := ts.get(t, "http://mail.example.com/healthz")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "store not writable") {
		t.Errorf("unhealthy: %d %q", resp.StatusCode, body)
	}
}

func TestMetricsFrom(t *testing.T) {
	ts := start(t, baseConfig(), nil)
	if resp, body := ts.get(t, "http://mail.example.com/metrics"); resp.StatusCode != 200 || body != "postern_up 1\n" {
		t.Errorf("from loopback: %d %q", resp.StatusCode, body)
	}
	cfg := baseConfig()
	cfg.MetricsFrom = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	ts = start(t, cfg, nil)
	if resp, body := ts.get(t, "http://mail.example.com/metrics"); resp.StatusCode != http.StatusForbidden || strings.Contains(body, "postern_up") {
		t.Errorf("from outside metrics_from: %d %q", resp.StatusCode, body)
	}
}

func TestMTASTS(t *testing.T) {
	ts := start(t, baseConfig(), nil)
	resp, body := ts.get(t, "https://mta-sts.example.org/.well-known/mta-sts.txt")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, RFC 8461 §3.2 wants text/plain", ct)
	}
	want := "version: STSv1\r\nmode: testing\r\nmx: mail.example.com\r\nmax_age: 86400\r\n"
	if body != want {
		t.Errorf("policy %q, want %q", body, want)
	}
	// Not over plain HTTP, not for other domains, not on other names.
	for _, u := range []string{
		"http://mta-sts.example.org/.well-known/mta-sts.txt",
		"https://mta-sts.example.net/.well-known/mta-sts.txt",
		"https://mail.example.com/.well-known/mta-sts.txt",
	} {
		if resp, _ := ts.get(t, u); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", u, resp.StatusCode)
		}
	}
}

func TestMTASTSOff(t *testing.T) {
	cfg := baseConfig()
	cfg.MTASTS = mtasts.Policy{}
	ts := start(t, cfg, nil)
	if resp, _ := ts.get(t, "https://mta-sts.example.org/.well-known/mta-sts.txt"); resp.StatusCode != 404 {
		t.Errorf("status %d with MTA-STS off", resp.StatusCode)
	}
}

// ACME HTTP-01 goes to the wrapper on the plain listener only.
func TestACMEHTTPWrapper(t *testing.T) {
	cfg := baseConfig()
	cfg.ACMEHTTP = func(fallback http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
				io.WriteString(w, "token")
				return
			}
			fallback.ServeHTTP(w, r)
		})
	}
	ts := start(t, cfg, nil)
	if _, body := ts.get(t, "http://mail.example.com/.well-known/acme-challenge/x"); body != "token" {
		t.Errorf("challenge: %q", body)
	}
	if resp, _ := ts.get(t, "http://mail.example.com/healthz"); resp.StatusCode != 200 {
		t.Errorf("fallback: %d", resp.StatusCode)
	}
}

func TestHugeHeader(t *testing.T) {
	ts := start(t, baseConfig(), nil)
	req, _ := http.NewRequest("GET", "http://mail.example.com/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want 431", resp.StatusCode)
	}
}

func TestHugeBody(t *testing.T) {
	ts := start(t, baseConfig(), nil)
	body := "<Autodiscover><Request><EMailAddress>a@example.com</EMailAddress></Request>" + strings.Repeat("<x/>", 1<<20) + "</Autodiscover>"
	resp, err := ts.client.Post("http://mail.example.com/autodiscover/autodiscover.xml", "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("with Content-Length: status %d, want 413", resp.StatusCode)
	}
	// Chunked, so the size is not known up front: the read is cut off.
	resp, err = ts.client.Post("http://mail.example.com/autodiscover/autodiscover.xml", "text/xml",
		io.MultiReader(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("chunked: status %d, want 400", resp.StatusCode)
	}
}

// A client that sends its headers slowly is cut off by ReadHeaderTimeout.
func TestSlowClient(t *testing.T) {
	ts := start(t, baseConfig(), func(s *Server) { s.plain.ReadHeaderTimeout = 500 * time.Millisecond })
	c, err := net.Dial("tcp", ts.plain)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	// Keep dribbling a byte now and then; the server must close anyway.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 60 {
			if _, err := io.WriteString(c, "X"); err != nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	buf, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("slow client still connected after 30 s")
	}
	if strings.Contains(string(buf), "200 OK") {
		t.Errorf("slow client got an answer: %q", buf)
	}
	c.Close()
	<-done
}

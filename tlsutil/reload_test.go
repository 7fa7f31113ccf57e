package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serve runs a TLS listener with cfg that answers every handshake, and
// returns its address.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					io.WriteString(c, "ok\n")
				}
			}()
		}
	}()
	return l.Addr().String()
}

// TestCipherSuitesAEADOnly: TLS 1.2 offers only ECDHE with AES-GCM or
// ChaCha20-Poly1305; a client that offers only CBC suites (with SHA-1 or
// SHA-256 MACs) finds none in common. TLS 1.3 suites are all AEAD.
func TestCipherSuitesAEADOnly(t *testing.T) {
	cfg, err := Load("", "", t.TempDir(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, cfg)
	dial := func(suites ...uint16) (*tls.Conn, error) {
		return tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: suites})
	}
	for _, s := range []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	} {
		if c, err := dial(s); err == nil {
			c.Close()
			t.Errorf("TLS 1.2 handshake with only %s succeeded", tls.CipherSuiteName(s))
		}
	}
	for _, s := range []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	} {
		c, err := dial(s)
		if err != nil {
			t.Errorf("TLS 1.2 with %s: %v", tls.CipherSuiteName(s), err)
			continue
		}
		if got := c.ConnectionState().CipherSuite; got != s {
			t.Errorf("negotiated %s, offered only %s", tls.CipherSuiteName(got), tls.CipherSuiteName(s))
		}
		c.Close()
	}
	for _, s := range cfg.CipherSuites {
		if !strings.Contains(tls.CipherSuiteName(s), "_GCM_") && !strings.Contains(tls.CipherSuiteName(s), "CHACHA20_POLY1305") {
			t.Errorf("configured suite %s is not AEAD", tls.CipherSuiteName(s))
		}
	}
}

// serial returns the serial number of the certificate a server presents.
func serial(t *testing.T, addr string) *big.Int {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	install := func(host string) *x509.Certificate {
		c, k := writePair(t, host)
		for src, dst := range map[string]string{c: certPath, k: keyPath} {
			if err := os.WriteFile(dst, readFile(t, src), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		x, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			t.Fatal(err)
		}
		return x.Leaf
	}
	first := install("a.example")
	cert, err := LoadCertificate(certPath, keyPath, "", "ignored.example")
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, cert.ServerConfig())
	if got := serial(t, addr); got.Cmp(first.SerialNumber) != 0 {
		t.Fatalf("serving serial %v, want %v", got, first.SerialNumber)
	}

	second := install("b.example")
	if err := cert.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := serial(t, addr); got.Cmp(second.SerialNumber) != 0 {
		t.Fatalf("after Reload serving serial %v, want the new %v", got, second.SerialNumber)
	}
	if cert.Leaf().SerialNumber.Cmp(second.SerialNumber) != 0 {
		t.Fatal("Leaf is not the reloaded certificate")
	}

	// A broken pair is refused, naming the key at fault, and the
	// certificate in use stays.
	otherCert, _ := writePair(t, "c.example")
	os.WriteFile(certPath, readFile(t, otherCert), 0o600) // key no longer matches
	if err := cert.Reload(); err == nil || !strings.HasPrefix(err.Error(), "[tls] cert and key: ") {
		t.Fatalf("Reload of a mismatched pair: %v", err)
	}
	os.WriteFile(keyPath, []byte("garbage"), 0o600)
	if err := cert.Reload(); err == nil || !strings.HasPrefix(err.Error(), "[tls] key: ") {
		t.Fatalf("Reload of a garbage key: %v", err)
	}
	if got := serial(t, addr); got.Cmp(second.SerialNumber) != 0 {
		t.Fatalf("after a failed Reload serving serial %v, want the previous %v", got, second.SerialNumber)
	}
}

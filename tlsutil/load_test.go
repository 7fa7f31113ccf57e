package tlsutil

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func leaf(t *testing.T, cfg *tls.Config) *x509.Certificate {
	t.Helper()
	if len(cfg.Certificates) != 1 {
		t.Fatalf("%d certificates, want 1", len(cfg.Certificates))
	}
	c, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGenerateThenReuse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	cfg, err := Load("", "", dir, "mail.example.org")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("MinVersion = %x, want TLS 1.2", cfg.MinVersion)
	}
	certPath, keyPath := filepath.Join(dir, "tls-cert.pem"), filepath.Join(dir, "tls-key.pem")
	for path, want := range map[string]os.FileMode{keyPath: 0o600, certPath: 0o644} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("data dir holds %d entries, want just the pair (no temporary files)", len(ents))
	}

	c := leaf(t, cfg)
	if !slices.Equal(c.DNSNames, []string{"mail.example.org", "localhost"}) {
		t.Errorf("DNS names %q", c.DNSNames)
	}
	if len(c.IPAddresses) != 2 || !c.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) || !c.IPAddresses[1].Equal(net.ParseIP("::1")) {
		t.Errorf("IP addresses %v", c.IPAddresses)
	}
	if k, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", c.PublicKey)
	}
	if years := c.NotAfter.Sub(c.NotBefore).Hours() / 24 / 365; years < 9.99 || years > 10.01 {
		t.Errorf("validity %.2f years, want 10", years)
	}
	if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("ext key usage %v", c.ExtKeyUsage)
	}
	if pemBlock, _ := pem.Decode(readFile(t, keyPath)); pemBlock == nil || pemBlock.Type != "PRIVATE KEY" {
		t.Errorf("key file is not a PKCS #8 PEM block")
	}

	certBytes, keyBytes := readFile(t, certPath), readFile(t, keyPath)
	cfg2, err := Load("", "", dir, "mail.example.org")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, certPath), certBytes) || !bytes.Equal(readFile(t, keyPath), keyBytes) {
		t.Fatal("second Load rewrote the generated pair")
	}
	if !bytes.Equal(cfg2.Certificates[0].Certificate[0], cfg.Certificates[0].Certificate[0]) {
		t.Fatal("second Load serves a different certificate")
	}

	// A new data dir gets a different certificate (random key and serial).
	cfg3, err := Load("", "", t.TempDir(), "mail.example.org")
	if err != nil {
		t.Fatal(err)
	}
	if leaf(t, cfg3).SerialNumber.Cmp(c.SerialNumber) == 0 {
		t.Fatal("two generated certificates share a serial number")
	}
}

func TestGenerateHostnames(t *testing.T) {
	cases := []struct {
		hostname string
		dns      []string
		ips      int
	}{
		{"", []string{"localhost"}, 2},
		{"localhost", []string{"localhost"}, 2},
		{"192.0.2.10", []string{"localhost"}, 3},
		{"2001:db8::25", []string{"localhost"}, 3},
		{"::1", []string{"localhost"}, 2},
	}
	for _, tc := range cases {
		cfg, err := Load("", "", t.TempDir(), tc.hostname)
		if err != nil {
			t.Fatalf("%q: %v", tc.hostname, err)
		}
		c := leaf(t, cfg)
		if !slices.Equal(c.DNSNames, tc.dns) || len(c.IPAddresses) != tc.ips {
			t.Errorf("%q: DNS %q, IPs %v", tc.hostname, c.DNSNames, c.IPAddresses)
		}
		if tc.hostname != "" {
			if err := c.VerifyHostname(tc.hostname); err != nil {
				t.Errorf("%q: %v", tc.hostname, err)
			}
		}
	}

	// A hostname that cannot go into a certificate is an error, and
	// nothing is written.
	for _, bad := range []string{"bad\x00name", "a..b", "-x.example", "mail.example.", "with space", "ünï.example", strings.Repeat("a", 64) + ".example"} {
		dir := t.TempDir()
		_, err := Load("", "", dir, bad)
		if err == nil || !strings.HasPrefix(err.Error(), "[tls] generating a self-signed certificate in "+dir+": hostname") {
			t.Errorf("hostname %q: %v", bad, err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("hostname %q: %d files written", bad, len(ents))
		}
	}
}

func TestHalfPairRegenerated(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load("", "", dir, "h.example"); err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(dir, "tls-cert.pem")
	oldKey := readFile(t, filepath.Join(dir, "tls-key.pem"))
	os.Remove(certPath) // as if a first start died between the two writes
	cfg, err := Load("", "", dir, "h.example")
	if err != nil {
		t.Fatalf("half pair: %v", err)
	}
	if bytes.Equal(readFile(t, filepath.Join(dir, "tls-key.pem")), oldKey) {
		t.Fatal("key not regenerated with the certificate")
	}
	if !bytes.Equal(readFile(t, certPath), pemCert(cfg)) {
		t.Fatal("served certificate differs from the file")
	}
}

func pemCert(cfg *tls.Config) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cfg.Certificates[0].Certificate[0]})
}

func TestCorruptGeneratedPair(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load("", "", dir, "h.example"); err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(dir, "tls-cert.pem")
	os.WriteFile(certPath, []byte("not a certificate"), 0o644)
	_, err := Load("", "", dir, "h.example")
	if err == nil || !strings.Contains(err.Error(), "[tls] generated cert: "+certPath) ||
		!strings.Contains(err.Error(), "delete both files") {
		t.Fatalf("corrupt generated cert: %v", err)
	}
	if _, err := Load("", "", "", "h.example"); err == nil || !strings.Contains(err.Error(), "no data_dir") {
		t.Fatalf("no data dir: %v", err)
	}
}

// writePair generates a pair into a fresh directory and returns the paths.
func writePair(t *testing.T, hostname string) (certPath, keyPath string) {
	t.Helper()
	dir := t.TempDir()
	if _, err := Load("", "", dir, hostname); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "tls-cert.pem"), filepath.Join(dir, "tls-key.pem")
}

func TestExplicitFiles(t *testing.T) {
	certPath, keyPath := writePair(t, "mx.example.net")
	cfg, err := Load(certPath, keyPath, "", "ignored.example")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pemCert(cfg), readFile(t, certPath)) {
		t.Fatal("explicit certificate not served")
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("MinVersion = %x", cfg.MinVersion)
	}
}

func TestLoadErrors(t *testing.T) {
	certPath, keyPath := writePair(t, "a.example")
	otherCert, _ := writePair(t, "b.example")
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("-----BEGIN NOTHING-----\nzzz\n-----END NOTHING-----\n"), 0o600)
	badBase64 := filepath.Join(dir, "bad64.pem")
	os.WriteFile(badBase64, []byte("-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n"), 0o600)
	broken := filepath.Join(dir, "broken.pem")
	os.WriteFile(broken, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}), 0o600)

	cases := []struct {
		name, cert, key string
		want            string
	}{
		{"cert only", certPath, "", "[tls] cert and key: must both be set or both be empty"},
		{"key only", "", keyPath, "[tls] cert and key: must both be set or both be empty"},
		{"missing cert", "/x", keyPath, "[tls] cert: open /x: no such file or directory"},
		{"missing key", certPath, "/nonexistent/key.pem", "[tls] key: open /nonexistent/key.pem: no such file or directory"},
		{"cert is a directory", dir, keyPath, "[tls] cert: read " + dir + ": is a directory"},
		{"garbage cert", garbage, keyPath, "[tls] cert: " + garbage + ": no PEM CERTIFICATE block found; is this the certificate file?"},
		{"bad base64 cert", badBase64, keyPath, "[tls] cert: " + badBase64 + ": no PEM CERTIFICATE block found"},
		{"garbage key", certPath, garbage, "[tls] key: " + garbage + ": no PEM PRIVATE KEY block found; is this the key file?"},
		{"files swapped", keyPath, certPath, "[tls] cert: " + keyPath + ": no PEM CERTIFICATE block found"},
		{"mismatched pair", otherCert, keyPath, "[tls] cert and key: " + otherCert + " and " + keyPath + " are not a usable pair: tls: private key does not match public key"},
		{"undecodable certificate", broken, keyPath, "[tls] cert and key: " + broken + " and " + keyPath + " are not a usable pair: "},
	}
	for _, tc := range cases {
		cfg, err := Load(tc.cert, tc.key, t.TempDir(), "h.example")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if cfg != nil {
			t.Errorf("%s: config returned with an error", tc.name)
		}
	}
}

func TestHandshake(t *testing.T) {
	dir := t.TempDir()
	srvCfg, err := Load("", "", dir, "mail.example.org")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(readFile(t, filepath.Join(dir, "tls-cert.pem"))) {
		t.Fatal("generated certificate does not parse into a pool")
	}

	l, err := tls.Listen("tcp", "127.0.0.1:0", srvCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type result struct {
		state tls.ConnectionState
		ok    bool
		err   error
	}
	results := make(chan result, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if err := c.(*tls.Conn).Handshake(); err != nil {
					results <- result{err: err}
					return
				}
				st, ok := ConnectionState(c)
				c.Write([]byte("hello\n"))
				results <- result{state: st, ok: ok}
			}()
		}
	}()

	for _, name := range []string{"mail.example.org", "localhost", "127.0.0.1", "::1"} {
		conn, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool, ServerName: name})
		if err != nil {
			t.Fatalf("dial verifying %q: %v", name, err)
		}
		buf := make([]byte, 6)
		if _, err := conn.Read(buf); err != nil || string(buf) != "hello\n" {
			t.Fatalf("read over TLS: %q %v", buf, err)
		}
		if v := conn.ConnectionState().Version; v < tls.VersionTLS12 {
			t.Fatalf("negotiated version %x", v)
		}
		conn.Close()
		r := <-results
		if r.err != nil || !r.ok || !r.state.HandshakeComplete || r.state.ServerName != name && net.ParseIP(name) == nil {
			t.Fatalf("server side for %q: %+v", name, r)
		}
	}

	// A name the certificate does not carry fails verification.
	if c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "other.example"}); err == nil {
		c.Close()
		t.Fatal("certificate verified for a name it does not carry")
	}
	<-results

	// TLS 1.1 and older are refused.
	if c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost", MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Fatal("TLS 1.1 handshake succeeded")
	}
	if r := <-results; r.err == nil {
		t.Fatal("server accepted TLS 1.1")
	}
}

package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// lockedBuffer collects a child's output while the test reads it.
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

// writeCert writes a fresh self-signed certificate for localhost and its
// key, replacing the files in place, and returns its serial number.
func writeCert(t *testing.T, certPath, keyPath string) *big.Int {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 100))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return serial
}

// TestServeReloadsCertificateOnSIGHUP: SIGHUP makes a running `postern
// serve` re-read [tls] cert and key; new connections on every TLS listener
// (implicit TLS and STARTTLS) get the new certificate, the server keeps
// serving, and a broken pair is refused with a log line while the
// certificate in use stays.
func TestServeReloadsCertificateOnSIGHUP(t *testing.T) {
	bin := postern(t)
	addrs := freePorts(t, 7)
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeCert(t, certPath, keyPath)
	cfg := writeConfig(t, fmt.Sprintf(`
[tls]
cert = %q
key = %q
[smtp]
listen = %q
[submission]
listen = %q
listen_tls = %q
[imap]
listen = %q
listen_tls = %q
[pop3]
listen = %q
listen_tls = %q
[http]
listen = ""
listen_tls = ""
`, certPath, keyPath, addrs[0], addrs[1], addrs[2], addrs[3], addrs[4], addrs[5], addrs[6]))

	logs := &lockedBuffer{}
	cmd := exec.Command(bin, "serve", "-config", cfg)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	alive := func() {
		t.Helper()
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("postern serve exited (%v):\n%s", err, logs.String())
		default:
		}
	}

	// presented is the serial of the certificate each TLS listener shows
	// a new connection; "" when a listener cannot be reached.
	presented := func() []string {
		var out []string
		for _, a := range []string{addrs[2], addrs[4], addrs[6]} { // 465, 993, 995
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", a, &tls.Config{InsecureSkipVerify: true})
			if err != nil {
				out = append(out, "")
				continue
			}
			out = append(out, c.ConnectionState().PeerCertificates[0].SerialNumber.String())
			c.Close()
		}
		c, err := smtp.DialStartTLS(addrs[0], &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			return append(out, "")
		}
		defer c.Close()
		// The handshake runs with the first command after STARTTLS.
		if err := c.Noop(); err != nil {
			return append(out, "")
		}
		st, _ := c.TLSConnectionState()
		out = append(out, st.PeerCertificates[0].SerialNumber.String())
		return out
	}
	all := func(serial *big.Int) bool {
		for _, s := range presented() {
			if s != serial.String() {
				return false
			}
		}
		return true
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			alive()
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 20s; listeners show %v\n%s", what, presented(), logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("serving the first certificate", func() bool { return all(first) })

	second := writeCert(t, certPath, keyPath)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor("serving the new certificate after SIGHUP", func() bool { return all(second) })
	if !strings.Contains(logs.String(), "reload: TLS certificate loaded") {
		t.Errorf("no log line for the reload:\n%s", logs.String())
	}

	// A broken pair: the key no longer matches.
	os.WriteFile(keyPath, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor("a log line refusing the broken pair", func() bool {
		return strings.Contains(logs.String(), "new TLS certificate refused, keeping the one in use")
	})
	if !all(second) {
		t.Fatalf("after a refused reload the listeners show %v, want %v", presented(), second)
	}
	alive()

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15s after SIGTERM\n%s", logs.String())
	}
}

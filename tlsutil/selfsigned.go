package tlsutil

import (
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
	"path/filepath"
	"strings"
	"time"
)

// selfSignedValidity is long because nobody renews a quick-start
// certificate; clients that accept it pin it, and a real deployment
// configures cert and key.
const selfSignedValidity = 10 * 365 * 24 * time.Hour

// generate creates a self-signed ECDSA P-256 certificate for hostname,
// "localhost", 127.0.0.1 and ::1, writes it and its key into dataDir and
// returns it. The key is written first and the certificate last, each by
// an atomic rename, so a crash leaves either nothing usable (regenerated on
// the next start) or a complete pair.
func generate(dataDir, hostname string) (tls.Certificate, error) {
	fail := func(err error) (tls.Certificate, error) {
		return tls.Certificate{}, fmt.Errorf("[tls] generating a self-signed certificate in %s: %w", dataDir, err)
	}
	certPEM, keyPEM, err := newSelfSigned(hostname, time.Now())
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fail(err)
	}
	if err := writeFileAtomic(filepath.Join(dataDir, GeneratedKeyFile), keyPEM, 0o600); err != nil {
		return fail(err)
	}
	if err := writeFileAtomic(filepath.Join(dataDir, GeneratedCertFile), certPEM, 0o644); err != nil {
		return fail(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fail(err)
	}
	return cert, nil
}

// newSelfSigned returns PEM certificate and PKCS #8 key.
func newSelfSigned(hostname string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	// RFC 5280 §4.1.2.2: a positive serial of at most 20 octets; random
	// so that two generated certificates never share one.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}

	cn := hostname
	if cn == "" {
		cn = "localhost"
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Postern self-signed"}},
		NotBefore:             now.Add(-time.Hour), // tolerate clients whose clock is a little behind
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	// Names are matched against subjectAltName only (RFC 6125 §6.4.4), so
	// the hostname goes there, as an IP address if it is one.
	if ip := net.ParseIP(hostname); ip != nil {
		if !ip.IsLoopback() {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		}
	} else if hostname != "" && hostname != "localhost" {
		if !validDNSName(hostname) {
			return nil, nil, fmt.Errorf("hostname %q is neither a DNS name nor an IP address", hostname)
		}
		tmpl.DNSNames = append([]string{hostname}, tmpl.DNSNames...)
	}

	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// writeFileAtomic writes data to path with mode perm through a temporary
// file in the same directory, synced before and after the rename, so that
// path holds either its old content or all of data.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename this is a no-op
	// CreateTemp makes the file 0600, so the key is never readable by
	// others, not even for a moment; Chmod widens the certificate.
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// validDNSName reports whether name is a host name fit for a certificate:
// dot-separated labels of letters, digits and hyphens (RFC 1123 §2.1), each
// 1 to 63 octets, at most 253 in all. Without this check a stray byte in
// the configured hostname would end up in the certificate.
func validDNSName(name string) bool {
	if len(name) == 0 || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"sync/atomic"
)

// Certificate is the server's certificate and key, shared by every
// listener. Each handshake asks it for the pair (tls.Config.GetCertificate),
// so Reload replaces the certificate for every connection opened
// afterwards while the server runs: a renewed certificate is put in place
// with a SIGHUP instead of a restart.
type Certificate struct {
	certFile, keyFile, dataDir, hostname string

	cur atomic.Pointer[tls.Certificate]
}

// LoadCertificate loads the server certificate.
//
// With certFile and keyFile set it loads that PEM pair. With both empty it
// uses a self-signed ECDSA P-256 certificate kept in dataDir, generating it
// on first start (see generate for what it names). Errors begin with the
// config keys they concern, e.g. "[tls] cert: open /x: no such file or
// directory".
func LoadCertificate(certFile, keyFile, dataDir, hostname string) (*Certificate, error) {
	c := &Certificate{certFile: certFile, keyFile: keyFile, dataDir: dataDir, hostname: hostname}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the pair again from the same files. A pair that cannot be
// used (unreadable, not PEM, a key of another certificate) is refused with
// an error naming the config key at fault, and the certificate in use
// stays.
func (c *Certificate) Reload() error {
	pair, err := readPair(c.certFile, c.keyFile, c.dataDir, c.hostname)
	if err != nil {
		return err
	}
	if pair.Leaf == nil {
		// tls.X509KeyPair fills Leaf; parse it if it ever does not, so
		// that Leaf never fails later.
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return err
		}
	}
	c.cur.Store(&pair)
	return nil
}

// GetCertificate is the tls.Config callback: the pair in use.
func (c *Certificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// Leaf is the certificate in use, parsed.
func (c *Certificate) Leaf() *x509.Certificate { return c.cur.Load().Leaf }

// aeadSuites are the TLS 1.2 cipher suites offered: ECDHE key exchange for
// forward secrecy, with AES-GCM or ChaCha20-Poly1305 only (RFC 7525 §4.2,
// RFC 9325 §4.2); no CBC mode with its SHA-1 or SHA-256 MAC. TLS 1.3
// suites are all AEAD and not configurable.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ServerConfig returns the TLS configuration every listener uses: TLS 1.2
// or later, AEAD cipher suites only, and c's certificate at each handshake.
// (Certificates stays empty: crypto/tls asks GetCertificate only without
// them, or when the client sends a server name.)
func (c *Certificate) ServerConfig() *tls.Config {
	return &tls.Config{
		GetCertificate: c.GetCertificate,
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   aeadSuites,
	}
}

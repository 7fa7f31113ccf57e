// Package tlsutil builds the TLS configuration every listener shares and
// answers the two questions the protocols ask of a connection: is it
// encrypted, and does it come from loopback.
package tlsutil

import (
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Names of the self-signed pair inside the data directory.
const (
	GeneratedCertFile = "tls-cert.pem"
	GeneratedKeyFile  = "tls-key.pem"
)

// Load returns the server TLS configuration of ServerConfig with the pair
// of LoadCertificate set once, in Certificates, for callers that never
// reload it.
func Load(certFile, keyFile, dataDir, hostname string) (*tls.Config, error) {
	c, err := LoadCertificate(certFile, keyFile, dataDir, hostname)
	if err != nil {
		return nil, err
	}
	cfg := c.ServerConfig()
	cfg.GetCertificate = nil
	cfg.Certificates = []tls.Certificate{*c.cur.Load()}
	return cfg, nil
}

// readPair reads the certificate and key named by the config (see
// LoadCertificate).
func readPair(certFile, keyFile, dataDir, hostname string) (tls.Certificate, error) {
	switch {
	case certFile != "" && keyFile != "":
		return loadPair(certFile, keyFile)
	case certFile == "" && keyFile == "":
		return selfSigned(dataDir, hostname)
	}
	return tls.Certificate{}, errors.New("[tls] cert and key: must both be set or both be empty")
}

// loadPair reads and checks a configured certificate and key, reporting
// each problem against the key of the file at fault.
func loadPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("[tls] cert: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("[tls] key: %w", err)
	}
	return parsePair(certPEM, keyPEM, certFile, keyFile, "")
}

// parsePair builds a certificate from PEM bytes. Errors name the config
// key and the file at fault; kind is "" for configured files and
// "generated " for the self-signed pair.
func parsePair(certPEM, keyPEM []byte, certPath, keyPath, kind string) (tls.Certificate, error) {
	if !hasPEM(certPEM, func(t string) bool { return t == "CERTIFICATE" }) {
		return tls.Certificate{}, fmt.Errorf("[tls] %scert: %s: no PEM CERTIFICATE block found; is this the certificate file?", kind, certPath)
	}
	if !hasPEM(keyPEM, func(t string) bool { return strings.HasSuffix(t, "PRIVATE KEY") }) {
		return tls.Certificate{}, fmt.Errorf("[tls] %skey: %s: no PEM PRIVATE KEY block found; is this the key file?", kind, keyPath)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// Both files look right, so the pair is at fault: typically a
		// key that belongs to another certificate, or a corrupt block.
		return tls.Certificate{}, fmt.Errorf("[tls] %scert and key: %s and %s are not a usable pair: %w", kind, certPath, keyPath, err)
	}
	return cert, nil
}

// hasPEM reports whether data holds a PEM block whose type passes want.
func hasPEM(data []byte, want func(string) bool) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if want(b.Type) {
			return true
		}
	}
}

// selfSigned loads the generated pair from dataDir, generating it if
// neither file exists yet.
func selfSigned(dataDir, hostname string) (tls.Certificate, error) {
	if dataDir == "" {
		return tls.Certificate{}, errors.New("[tls] cert and key: both empty, and no data_dir to keep a self-signed certificate in")
	}
	certPath := filepath.Join(dataDir, GeneratedCertFile)
	keyPath := filepath.Join(dataDir, GeneratedKeyFile)

	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		cert, err := parsePair(certPEM, keyPEM, certPath, keyPath, "generated ")
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("%w (delete both files to generate a new pair)", err)
		}
		return cert, nil
	case missingOrOK(certErr) && missingOrOK(keyErr):
		// First start, or a start interrupted between writing the key
		// and the certificate: a half pair is useless, so start over.
		return generate(dataDir, hostname)
	case !missingOrOK(certErr):
		return tls.Certificate{}, fmt.Errorf("[tls] generated cert: %w", certErr)
	default:
		return tls.Certificate{}, fmt.Errorf("[tls] generated key: %w", keyErr)
	}
}

// missingOrOK reports whether a read succeeded or failed only because the
// file does not exist. Other failures, such as permission denied, must be
// reported: regenerating would hide them.
func missingOrOK(err error) bool { return err == nil || errors.Is(err, os.ErrNotExist) }

package tlsutil

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

// FuzzParsePair feeds arbitrary file contents to the pair loader: it must
// never panic, and every refusal must name the config key.
func FuzzParsePair(f *testing.F) {
	certPEM, keyPEM, err := newSelfSigned("seed.example", time.Now())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(certPEM, keyPEM)
	f.Add(keyPEM, certPEM)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), keyPEM)
	f.Add(certPEM, []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, c, k []byte) {
		_, err := parsePair(c, k, "/c", "/k", "")
		if err != nil && !strings.HasPrefix(err.Error(), "[tls] cert") && !strings.HasPrefix(err.Error(), "[tls] key") {
			t.Fatalf("error without the config key: %v", err)
		}
	})
}

// FuzzValidDNSName checks that every accepted hostname makes a certificate
// that verifies for that name.
func FuzzValidDNSName(f *testing.F) {
	for _, s := range []string{"mail.example.org", "a", "a-b.c", "-a", "a..b", "x.", "", "1.2.3.4", "xn--nxasmq6b.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !validDNSName(name) {
			return
		}
		certPEM, _, err := newSelfSigned(name, time.Now())
		if err != nil {
			t.Fatalf("accepted %q but generation failed: %v", name, err)
		}
		b, _ := pem.Decode(certPEM)
		if b == nil {
			t.Fatalf("no PEM block for %q", name)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("certificate for %q does not parse: %v", name, err)
		}
		if err := c.VerifyHostname(name); err != nil {
			t.Fatalf("certificate does not name %q: %v", name, err)
		}
	})
}

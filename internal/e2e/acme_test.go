package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"strconv"
	"testing"
	"time"

	"postern/acmecert/acmetest"
	"postern/config"
	"postern/internal/testserver"
)

// With [tls] acme on, the whole server obtains its certificate from the CA
// through its own HTTP listener, and every mail listener serves it, to
// clients with and without SNI.
func TestACMEWholeServer(t *testing.T) {
	// The CA must know where to validate before the server binds.
	var ports [2]int
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	ca := acmetest.Start(t, ports[0], ports[1])
	ts := testserver.Start(t, testserver.Options{
		ACMEClient: ca.Client,
		Configure: func(c *config.Config) {
			c.Hostname = "mail.example.test"
			c.HTTP.Listen = "127.0.0.1:" + strconv.Itoa(ports[0])
			c.HTTP.ListenTLS = "127.0.0.1:" + strconv.Itoa(ports[1])
			c.TLS.ACME = true
			c.TLS.ACMEDirectory = ca.Directory
			c.TLS.ACMEEmail = "postmaster@example.test"
		},
	})
	deadline := time.Now().Add(90 * time.Second)
	for !ts.ACME.Ready("mail.example.test") {
		if time.Now().After(deadline) {
			t.Fatal("no certificate from the CA within 90 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, addr := range []string{ts.IMAPTLSAddr, ts.POP3TLSAddr, ts.SubmissionTLSAddr, ts.HTTPSAddr} {
		for _, sni := range []string{"mail.example.test", ""} {
			c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
			if err != nil {
				t.Fatalf("%s SNI %q: %v", addr, sni, err)
			}
			chain := c.ConnectionState().PeerCertificates
			c.Close()
			inter := x509.NewCertPool()
			for _, ic := range chain[1:] {
				inter.AddCert(ic)
			}
			if _, err := chain[0].Verify(x509.VerifyOptions{DNSName: "mail.example.test", Roots: ca.Roots, Intermediates: inter}); err != nil {
				t.Errorf("%s SNI %q: not the CA's certificate: %v", addr, sni, err)
			}
		}
	}
}

package e2e

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"postern/internal/testserver"
)

// TestEveryListenerOffersAEADOnly: on each TLS listener, after
// STARTTLS or STLS where TLS is not implicit, a TLS 1.2 client that offers
// only CBC suites finds no suite in common, and one that offers AES-GCM
// gets through.
func TestEveryListenerOffersAEADOnly(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	listeners := []struct {
		name, addr string
		upgrade    func(c net.Conn, r *bufio.Reader) error // nil: implicit TLS
	}{
		{"[smtp] listen", ts.SMTPAddr, smtpStartTLS},
		{"[submission] listen", ts.SubmissionAddr, smtpStartTLS},
		{"[submission] listen_tls", ts.SubmissionTLSAddr, nil},
		{"[imap] listen", ts.IMAPAddr, imapStartTLS},
		{"[imap] listen_tls", ts.IMAPTLSAddr, nil},
		{"[pop3] listen", ts.POP3Addr, pop3STLS},
		{"[pop3] listen_tls", ts.POP3TLSAddr, nil},
		{"[http] listen_tls", ts.HTTPSAddr, nil},
	}
	handshake := func(t *testing.T, addr string, upgrade func(net.Conn, *bufio.Reader) error, suite uint16) error {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if upgrade != nil {
			if err := upgrade(c, bufio.NewReader(c)); err != nil {
				t.Fatalf("before TLS: %v", err)
			}
		}
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}})
		return tc.Handshake()
	}
	for _, l := range listeners {
		t.Run(l.name, func(t *testing.T) {
			for _, cbc := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA} {
				if err := handshake(t, l.addr, l.upgrade, cbc); err == nil {
					t.Errorf("TLS 1.2 handshake with only %s succeeded", tls.CipherSuiteName(cbc))
				}
			}
			if err := handshake(t, l.addr, l.upgrade, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256); err != nil {
				t.Errorf("TLS 1.2 with AES-GCM: %v", err)
			}
		})
	}
}

// expectLine reads lines until one starts with prefix.
func expectLine(r *bufio.Reader, prefix string) error {
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(l, prefix) {
			return nil
		}
	}
}

func smtpStartTLS(c net.Conn, r *bufio.Reader) error {
	if err := expectLine(r, "220 "); err != nil {
		return err
	}
	c.Write([]byte("EHLO client.test\r\n"))
	if err := expectLine(r, "250 "); err != nil {
		return err
	}
	c.Write([]byte("STARTTLS\r\n"))
	return expectLine(r, "220 ")
}

func imapStartTLS(c net.Conn, r *bufio.Reader) error {
	if err := expectLine(r, "* OK"); err != nil {
		return err
	}
	c.Write([]byte("a STARTTLS\r\n"))
	return expectLine(r, "a OK")
}

func pop3STLS(c net.Conn, r *bufio.Reader) error {
	if err := expectLine(r, "+OK"); err != nil {
		return err
	}
	c.Write([]byte("STLS\r\n"))
	return expectLine(r, "+OK")
}

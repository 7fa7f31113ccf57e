// Package acmetest runs an ACME CA (Pebble, Let's Encrypt's test CA) in the
// test process, on loopback, for the tests of certificate issuance.
package acmetest

import (
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// CA is a running Pebble.
type CA struct {
	// Directory is the ACME directory URL.
	Directory string
	// Client trusts the CA's HTTPS endpoint.
	Client *http.Client
	// Roots verify the certificates the CA issues.
	Roots *x509.CertPool

	srv *httptest.Server
}

// Close stops the CA's HTTPS endpoint.
func (c *CA) Close() { c.srv.Close() }

// Start runs a CA whose validation connects to 127.0.0.1: to httpPort for
// HTTP-01 and tlsPort for TLS-ALPN-01, for every name. It stops when the
// test ends. (Pebble's validation goroutine is never stopped.)
func Start(t testing.TB, httpPort, tlsPort int) *CA {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")      // no random sleep before validation
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0") // no rejected nonces
	t.Setenv("PEBBLE_AUTHZREUSE", "0")      // every order validates
	logger := log.New(io.Discard, "", 0)
	store := db.NewMemoryStore()
	c := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	v := va.New(logger, httpPort, tlsPort, false, startDNS(t), store)
	w := wfe.New(logger, store, v, c, []string{"pebble.letsencrypt.org"}, false, false, 1, 1)
	ts := httptest.NewTLSServer(w.Handler())
	t.Cleanup(ts.Close)
	roots := x509.NewCertPool()
	roots.AddCert(c.GetRootCert(0).Cert)
	return &CA{Directory: ts.URL + "/dir", Client: ts.Client(), Roots: roots, srv: ts}
}

// startDNS answers every A query with 127.0.0.1 and AAAA queries with
// nothing, over TCP (Pebble's validation asks over TCP only).
func startDNS(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(".", func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		for _, q := range r.Question {
			if q.Qtype == dns.TypeA {
				rr, _ := dns.NewRR(q.Name + " 60 IN A 127.0.0.1")
				m.Answer = append(m.Answer, rr)
			}
		}
		w.WriteMsg(m)
	})
	srv := &dns.Server{Listener: ln, Handler: mux}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

package outbound

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/foxcpp/go-mockdns"

	"postern/storage"
	"postern/storage/sqlite"
)

// received is one message as the fake mail exchanger got it.
type received struct {
	helo   string
	from   string
	rcpts  []string
	data   []byte
	tls    bool
	user   string // AUTH identity, "" if none
	notify [][]smtp.DSNNotify
	orcpt  []string       // per recipient, "TYPE;address" or ""
	ret    smtp.DSNReturn // MAIL RET=
	envid  string         // MAIL ENVID=
}

// fakeMX is a go-smtp server on loopback standing in for a remote mail
// exchanger or a relay. rcpt and data may refuse with an *smtp.SMTPError.
type fakeMX struct {
	srv  *smtp.Server
	addr string
	port int

	mu    sync.Mutex
	got   []received
	auths int // AUTH attempts
	rcpt  func(to string) error
	data  func() error
	users map[string]string // AUTH PLAIN credentials; nil: no AUTH
}

func (f *fakeMX) messages() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.got...)
}

func (f *fakeMX) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &fakeSession{f: f, cur: received{helo: c.Hostname(), tls: isTLS}}, nil
}

type fakeSession struct {
	f   *fakeMX
	cur received
}

func (s *fakeSession) AuthMechanisms() []string {
	if s.f.users == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *fakeSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		s.f.mu.Lock()
		defer s.f.mu.Unlock()
		s.f.auths++
		if s.f.users[user] != pass || pass == "" {
			return smtp.ErrAuthFailed
		}
		s.cur.user = user
		return nil
	}), nil
}

func (s *fakeSession) Mail(from string, o *smtp.MailOptions) error {
	if s.f.users != nil && s.cur.user == "" {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	if o != nil {
		s.cur.ret, s.cur.envid = o.Return, o.EnvelopeID
	}
	return nil
}

func (s *fakeSession) Rcpt(to string, o *smtp.RcptOptions) error {
	s.f.mu.Lock()
	fn := s.f.rcpt
	s.f.mu.Unlock()
	if fn != nil {
		if err := fn(to); err != nil {
			return err
		}
	}
	s.cur.rcpts = append(s.cur.rcpts, to)
	s.cur.notify = append(s.cur.notify, o.Notify)
	orcpt := ""
	if o.OriginalRecipient != "" {
		orcpt = string(o.OriginalRecipientType) + ";" + o.OriginalRecipient
	}
	s.cur.orcpt = append(s.cur.orcpt, orcpt)
	return nil
}

func (s *fakeSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.f.mu.Lock()
	fn := s.f.data
	s.f.mu.Unlock()
	if fn != nil {
		if err := fn(); err != nil {
			return err
		}
	}
	s.cur.data = b
	s.f.mu.Lock()
	s.f.got = append(s.f.got, s.cur)
	s.f.mu.Unlock()
	s.reset()
	return nil
}

func (s *fakeSession) reset() {
	s.cur.from, s.cur.rcpts, s.cur.data, s.cur.notify, s.cur.orcpt, s.cur.ret, s.cur.envid = "", nil, nil, nil, nil, "", ""
}

func (s *fakeSession) Reset()        { s.reset() }
func (s *fakeSession) Logout() error { return nil }

// startMX runs a fake MX on ip:port (port 0: any). tlsCfg nil: no STARTTLS.
// It offers DSN; tune may change that, or anything else, before it serves.
func startMX(t testing.TB, ip string, port int, tlsCfg *tls.Config, tune ...func(*smtp.Server)) *fakeMX {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeMX{addr: ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port}
	f.srv = smtp.NewServer(f)
	f.srv.Domain = "fake-mx.test"
	f.srv.TLSConfig = tlsCfg
	f.srv.EnableDSN = true
	f.srv.ReadTimeout = time.Minute
	f.srv.WriteTimeout = time.Minute
	for _, fn := range tune {
		fn(f.srv)
	}
	go f.srv.Serve(ln)
	t.Cleanup(func() { f.srv.Close() })
	return f
}

// noDSN makes a fake MX that does not offer DSN (RFC 3461).
func noDSN(s *smtp.Server) { s.EnableDSN = false }

// selfSigned makes a certificate for 127.0.0.1 and the given names.
func selfSigned(t testing.TB, names ...string) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: names, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// dnsServer runs a fake DNS server and returns a net.Resolver that asks it.
func dnsServer(t testing.TB, zones map[string]mockdns.Zone) (*mockdns.Server, *net.Resolver) {
	t.Helper()
	srv, err := mockdns.NewServerWithLogger(zones, silentLog{}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, srv.NewResolver()
}

type silentLog struct{}

func (silentLog) Printf(string, ...any) {}

// clock is a settable time source for the runner.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func openStore(t testing.TB, dir string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// eventually polls cond until it holds, failing the test after a generous
// bound (this waits for background work; it does not measure speed).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startRunner starts r and stops it at the end of the test.
func startRunner(t testing.TB, r *Runner) {
	t.Helper()
	r.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("shutdown: %v", err)
		}
	})
}

func queueLen(t testing.TB, st *sqlite.Store) int {
	t.Helper()
	l, err := st.QueueList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}

func inboxMessages(t testing.TB, st *sqlite.Store, acct int64) [][]byte {
	t.Helper()
	ctx := context.Background()
	mb, err := st.Mailbox(ctx, acct, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	states, err := st.MessageUIDs(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	var uids []uint32
	for _, s := range states {
		uids = append(uids, s.UID)
	}
	msgs, err := st.FetchMessages(ctx, mb.ID, uids, storage.FetchWant{})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range msgs {
		b, err := st.ReadBody(ctx, m.BodyID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func tlsListener(ln net.Listener, cfg *tls.Config) net.Listener { return tls.NewListener(ln, cfg) }

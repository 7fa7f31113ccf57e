package e2e

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/foxcpp/go-mockdns"

	"postern/internal/testserver"
)

// remoteMX is a go-smtp server on loopback standing in for another domain's
// mail exchanger. rcpt, if set, may refuse a recipient.
type remoteMX struct {
	port int
	mu   sync.Mutex
	got  []remoteMsg
	rcpt func(to string) error
}

type remoteMsg struct {
	helo, from string
	rcpts      []string
	data       []byte
	mail       smtp.MailOptions   // RET, ENVID, ... as given with MAIL
	rcptOpts   []smtp.RcptOptions // NOTIFY, ORCPT, ... per recipient
}

func (m *remoteMX) messages() []remoteMsg {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]remoteMsg(nil), m.got...)
}

func (m *remoteMX) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &remoteSession{mx: m, cur: remoteMsg{helo: c.Hostname()}}, nil
}

type remoteSession struct {
	mx  *remoteMX
	cur remoteMsg
}

func (s *remoteSession) Mail(from string, o *smtp.MailOptions) error {
	s.cur.from = from
	if o != nil {
		s.cur.mail = *o
	}
	return nil
}
func (s *remoteSession) Rcpt(to string, o *smtp.RcptOptions) error {
	s.mx.mu.Lock()
	f := s.mx.rcpt
	s.mx.mu.Unlock()
	if f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	s.cur.rcpts = append(s.cur.rcpts, to)
	if o != nil {
		s.cur.rcptOpts = append(s.cur.rcptOpts, *o)
	} else {
		s.cur.rcptOpts = append(s.cur.rcptOpts, smtp.RcptOptions{})
	}
	return nil
}
func (s *remoteSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.mx.mu.Lock()
	s.mx.got = append(s.mx.got, s.cur)
	s.mx.mu.Unlock()
	s.cur = remoteMsg{helo: s.cur.helo}
	return nil
}
func (s *remoteSession) Reset()        {}
func (s *remoteSession) Logout() error { return nil }

// startRemoteMX starts a remote MX without DSN; tune may change its server
// (EnableDSN, ...) before it serves.
func startRemoteMX(t *testing.T, tune ...func(*smtp.Server)) *remoteMX {
	t.Helper()
	mx := &remoteMX{}
	srv := smtp.NewServer(mx)
	srv.Domain = "mx.remote.test"
	srv.AllowInsecureAuth = true
	for _, fn := range tune {
		fn(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mx.port = ln.Addr().(*net.TCPAddr).Port
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return mx
}

type quietLog struct{}

func (quietLog) Printf(string, ...any) {}

// fakeDNS serves zones on loopback and returns a resolver that asks it.
func fakeDNS(t *testing.T, zones map[string]mockdns.Zone) (*mockdns.Server, *net.Resolver) {
	t.Helper()
	srv, err := mockdns.NewServerWithLogger(zones, quietLog{}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, srv.NewResolver()
}

// submit sends one message through submission with STARTTLS and AUTH PLAIN.
func submit(t *testing.T, ts *testserver.Server, user, pass, from string, to []string, msg string) {
	t.Helper()
	c, err := smtp.DialStartTLS(ts.SubmissionAddr, ts.TLSConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", user, pass)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail(from, to, bytes.NewReader([]byte(msg))); err != nil {
		t.Fatalf("submission: %v", err)
	}
	c.Quit()
}

// sendMX delivers one message through the MX listener, over STARTTLS.
func sendMX(t *testing.T, ts *testserver.Server, from string, to []string, msg string) {
	t.Helper()
	c, err := smtp.DialStartTLS(ts.SMTPAddr, ts.TLSConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail(from, to, strings.NewReader(msg)); err != nil {
		t.Fatalf("MX: %v", err)
	}
	c.Quit()
}

// eventually polls cond for up to 10 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// imapLogin opens an IMAP session over STARTTLS.
func imapLogin(t *testing.T, ts *testserver.Server, user, pass string, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	if opts == nil {
		opts = &imapclient.Options{}
	}
	opts.TLSConfig = ts.TLSConfig
	c, err := imapclient.DialStartTLS(ts.IMAPAddr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// fetchAll returns the full text of every message in a mailbox, by UID.
func fetchAll(t *testing.T, c *imapclient.Client, mailbox string) map[imap.UID][]byte {
	t.Helper()
	data, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	out := map[imap.UID][]byte{}
	if data.NumMessages == 0 {
		return out
	}
	set := imap.SeqSet{}
	set.AddRange(1, 0)
	bs := &imap.FetchItemBodySection{Peek: true}
	all, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{bs}}).Collect()
	if err != nil {
		var e *imap.Error
		if errors.As(err, &e) {
			t.Fatalf("FETCH: %v", e)
		}
		t.Fatal(err)
	}
	for _, m := range all {
		out[m.UID] = m.FindBodySection(bs)
	}
	return out
}

// syncLog collects the server's log for tests that read it.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// count counts the occurrences of sub in the log.
func (l *syncLog) count(sub string) int { return strings.Count(l.String(), sub) }

// lines returns the log lines that contain sub.
func (l *syncLog) lines(sub string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return out
}

package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"postern/auth"
	"postern/storage"
	"postern/storage/sqlite"
	"postern/tlsutil"
)

const testDomain = "example.test"

// env is a running MX and submission server pair over one temp store.
type env struct {
	st         *sqlite.Store
	mx, sub    *Server
	mxAddr     string
	subAddr    string
	subTLSAddr string
	clientTLS  *tls.Config
	log        *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startEnv starts both servers on 127.0.0.1:0. configure may change the
// Config before the servers are built.
func startEnv(t testing.TB, configure func(*Config)) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := tlsutil.Load("", "", dir, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(filepath.Join(dir, tlsutil.GeneratedCertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	logBuf := &syncBuffer{}
	cfg := Config{
		Store:           st,
		Hostname:        "mx.example.test",
		TLS:             tlsCfg,
		Logger:          slog.New(slog.NewTextHandler(logBuf, nil)),
		Domains:         []string{testDomain},
		MaxMessageBytes: 1 << 20,
		MaxRecipients:   10,
	}
	cfg.Auth = newAuth(&cfg, true, auth.LimiterOptions{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}, nil)
	if configure != nil {
		configure(&cfg)
	}
	e := &env{st: st, mx: NewMX(cfg), sub: NewSubmission(cfg), log: logBuf,
		clientTLS: &tls.Config{RootCAs: pool, ServerName: "localhost"}}
	serve := func(s *Server, implicit bool) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			if implicit {
				done <- s.ServeTLS(l)
			} else {
				done <- s.Serve(l)
			}
		}()
		t.Cleanup(func() {
			if err := <-done; err != nil {
				t.Errorf("Serve returned %v after Shutdown, want nil", err)
			}
		})
		return l.Addr().String()
	}
	e.mxAddr = serve(e.mx, false)
	e.subAddr = serve(e.sub, false)
	e.subTLSAddr = serve(e.sub, true)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.mx.Shutdown(ctx)
		e.sub.Shutdown(ctx)
		st.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logBuf.String())
		}
	})
	return e
}

// newAuth is a login path over c's store and logger for tests; sleep nil
// sleeps for real.
func newAuth(c *Config, plaintext bool, lim auth.LimiterOptions, sleep func(context.Context, time.Duration) error) *auth.Service {
	lim.Logger = c.Logger
	return auth.New(auth.Options{Accounts: c.Store, PlaintextOnLoopback: plaintext, Logger: c.Logger,
		Limiter: auth.NewLimiter(lim), Sleep: sleep})
}

func (e *env) addUser(t testing.TB, addr, pass string) storage.Account {
	t.Helper()
	a, err := e.st.CreateAccount(context.Background(), addr, pass)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) addAlias(t testing.TB, alias string, targets ...string) {
	t.Helper()
	if err := e.st.AddAlias(context.Background(), alias, targets); err != nil {
		t.Fatal(err)
	}
}

// dial opens a go-smtp client and says EHLO.
func dial(t testing.TB, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	return c
}

func dialStartTLS(t testing.TB, addr string, cfg *tls.Config) *smtp.Client {
	t.Helper()
	c, err := smtp.DialStartTLS(addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// send runs one transaction and returns the DATA reply (nil error on 250).
func send(c *smtp.Client, from string, to []string, msg string) (*smtp.DataResponse, error) {
	if err := c.Mail(from, nil); err != nil {
		return nil, fmt.Errorf("MAIL: %w", err)
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return nil, fmt.Errorf("RCPT %s: %w", r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return nil, fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return nil, err
	}
	return w.CloseWithResponse()
}

func plainLogin(c *smtp.Client, user, pass string) error {
	return c.Auth(sasl.NewPlainClient("", user, pass))
}

// smtpCode returns the reply code of a go-smtp client error, or 0.
func smtpCode(err error) (int, smtp.EnhancedCode) {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code, se.EnhancedCode
	}
	return 0, smtp.EnhancedCode{}
}

func wantCode(t testing.TB, err error, code int, enh smtp.EnhancedCode) {
	t.Helper()
	got, gotEnh := smtpCode(err)
	if got != code || gotEnh != enh {
		t.Fatalf("got %v (code %d %v), want %d %v", err, got, gotEnh, code, enh)
	}
}

// inbox reads back every message in the account's INBOX, bodies included.
func inbox(t testing.TB, st *sqlite.Store, acct storage.Account) []storedMsg {
	t.Helper()
	return mailbox(t, st, acct, "INBOX")
}

type storedMsg struct {
	storage.Message
	Raw []byte
}

func mailbox(t testing.TB, st *sqlite.Store, acct storage.Account, name string) []storedMsg {
	t.Helper()
	ctx := context.Background()
	mb, err := st.Mailbox(ctx, acct.ID, name)
	if err != nil {
		t.Fatal(err)
	}
	states, err := st.MessageUIDs(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	uids := make([]uint32, len(states))
	for i, s := range states {
		uids[i] = s.UID
	}
	if len(uids) == 0 {
		return nil
	}
	msgs, err := st.FetchMessages(ctx, mb.ID, uids, storage.FetchWant{Header: true})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]storedMsg, len(msgs))
	for i, m := range msgs {
		raw, err := st.ReadBody(ctx, m.BodyID)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(raw)) != m.Size {
			t.Fatalf("stored size %d, body has %d bytes", m.Size, len(raw))
		}
		out[i] = storedMsg{Message: m, Raw: raw}
	}
	return out
}

// splitTrace checks that raw is Return-Path, then one Received field, then
// exactly want; it returns the Received field.
func splitTrace(t testing.TB, raw []byte, from, want string) string {
	t.Helper()
	s := string(raw)
	rp := "Return-Path: <" + from + ">\r\n"
	if !strings.HasPrefix(s, rp) {
		t.Fatalf("stored message does not start with %q:\n%s", rp, s)
	}
	s = s[len(rp):]
	if !strings.HasPrefix(s, "Received: ") {
		t.Fatalf("no Received after Return-Path:\n%s", s)
	}
	// The Received field ends at the first line not starting with a tab.
	end := 0
	for {
		i := strings.Index(s[end:], "\r\n")
		if i < 0 {
			t.Fatalf("unterminated Received field:\n%s", s)
		}
		end += i + 2
		if end >= len(s) || s[end] != '\t' {
			break
		}
	}
	received, rest := s[:end], s[end:]
	if rest != want {
		t.Fatalf("stored body differs from sent:\n got %q\nwant %q", rest, want)
	}
	return received
}

// rawConn is a hand-driven SMTP connection for probes go-smtp's client
// refuses to send.
type rawConn struct {
	t testing.TB
	net.Conn
	r *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	rc := &rawConn{t: t, Conn: c, r: bufio.NewReader(c)}
	rc.expect("220")
	return rc
}

// dialRawTLS opens an implicit-TLS connection and says EHLO.
func dialRawTLS(t testing.TB, addr string, cfg *tls.Config) *rawConn {
	t.Helper()
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	rc := &rawConn{t: t, Conn: c, r: bufio.NewReader(c)}
	rc.expect("220")
	rc.send("EHLO raw.test\r\n")
	rc.expect("250 ")
	return rc
}

// dialRawStartTLS opens a connection, turns on TLS with STARTTLS and says
// EHLO again.
func dialRawStartTLS(t testing.TB, addr string, cfg *tls.Config) *rawConn {
	t.Helper()
	rc := dialRaw(t, addr)
	rc.send("EHLO raw.test\r\nSTARTTLS\r\n")
	rc.expect("250 ")
	rc.expect("220 ")
	tc := tls.Client(rc.Conn, cfg)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	rc = &rawConn{t: t, Conn: tc, r: bufio.NewReader(tc)}
	rc.send("EHLO raw.test\r\n")
	rc.expect("250 ")
	return rc
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// reply reads one (possibly multi-line) reply and returns its last line.
func (c *rawConn) reply() string {
	c.t.Helper()
	var all []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading reply (so far %q): %v", all, err)
		}
		line = strings.TrimRight(line, "\r\n")
		all = append(all, line)
		if len(line) < 4 || line[3] != '-' {
			return strings.Join(all, "\n")
		}
	}
}

// expect reads a reply and fails unless its last line starts with prefix.
func (c *rawConn) expect(prefix string) string {
	c.t.Helper()
	r := c.reply()
	lines := strings.Split(r, "\n")
	if !strings.HasPrefix(lines[len(lines)-1], prefix) {
		c.t.Fatalf("got reply %q, want %q...", r, prefix)
	}
	return r
}

// closed reports whether the server closes the connection (after at most a
// few more reply lines) within five seconds.
func (c *rawConn) closed() bool {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := 0; i < 10; i++ {
		if _, err := c.r.ReadString('\n'); err != nil {
			var ne net.Error
			return !errors.As(err, &ne) || !ne.Timeout()
		}
	}
	return false
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

func dialNoFail(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, 2*time.Second) }

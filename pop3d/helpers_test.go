package pop3d

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"time"

	"postern/auth"
	"postern/storage"
	"postern/storage/sqlite"
	"postern/tlsutil"
)

// env is a running pop3d Server on a fresh store.
type env struct {
	t         *testing.T
	dir       string
	st        *sqlite.Store
	srv       *Server
	addr      string // plain listener
	tlsAddr   string // implicit TLS listener
	clientTLS *tls.Config
	served    chan error
	serving   int
}

// testLogger writes server logs only with -v, to keep failures readable.
func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newEnv(t *testing.T, tweak ...func(*Config)) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, st: st}
	e.start(tweak...)
	t.Cleanup(func() {
		e.stop()
		st.Close()
	})
	return e
}

func (e *env) start(tweak ...func(*Config)) {
	t := e.t
	srvTLS, err := tlsutil.Load("", "", e.dir, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(srvTLS.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	e.clientTLS = &tls.Config{RootCAs: pool, ServerName: "localhost"}
	cfg := Config{
		Store:    e.st,
		Hostname: "pop.example.test",
		TLS:      srvTLS,
		Auth:     testAuth(e.st, true, testLogger(t), auth.LimiterOptions{BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}),
		Logger:   testLogger(t),
	}
	for _, f := range tweak {
		f(&cfg)
	}
	e.srv = New(cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lt, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr, e.tlsAddr = l.Addr().String(), lt.Addr().String()
	e.served = make(chan error, 2)
	e.serving = 1
	go func() { e.served <- e.srv.Serve(l) }()
	if cfg.TLS != nil {
		e.serving++
		go func() { e.served <- e.srv.ServeTLS(lt) }()
	} else {
		lt.Close()
	}
}

func (e *env) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		e.t.Errorf("Shutdown: %v", err)
	}
	for range e.serving {
		if err := <-e.served; err != nil {
			e.t.Errorf("Serve returned %v after Shutdown, want nil", err)
		}
	}
}

func (e *env) addUser(address, password string) storage.Account {
	e.t.Helper()
	a, err := e.st.CreateAccount(context.Background(), address, password)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// deliver appends raw (LF or CRLF line endings) to the account's INBOX.
func (e *env) deliver(acct storage.Account, raw string) uint32 {
	e.t.Helper()
	body, err := storage.PrepareBody(strings.NewReader(raw), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.st.Append(context.Background(), []storage.AppendItem{{AccountID: acct.ID, Body: body}})
	if err != nil {
		e.t.Fatal(err)
	}
	return res[0].UID
}

func (e *env) inbox(acct storage.Account) storage.Mailbox {
	e.t.Helper()
	mb, err := e.st.Mailbox(context.Background(), acct.ID, "INBOX")
	if err != nil {
		e.t.Fatal(err)
	}
	return mb
}

// inboxState returns the INBOX messages as the store has them.
func (e *env) inboxState(acct storage.Account) []storage.MessageState {
	e.t.Helper()
	ms, err := e.st.MessageUIDs(context.Background(), e.inbox(acct).ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return ms
}

func testMessage(n int) string {
	return fmt.Sprintf("From: sender@example.test\r\nTo: user@example.test\r\nSubject: message %d\r\n\r\nbody of message %d\r\nsecond line\r\n", n, n)
}

// client is a small POP3 client over net/textproto.
type client struct {
	t    testing.TB
	conn net.Conn
	tp   *textproto.Conn
}

func (e *env) dial() *client {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	return newClient(e.t, c)
}

func (e *env) dialTLS() *client {
	e.t.Helper()
	c, err := tls.Dial("tcp", e.tlsAddr, e.clientTLS)
	if err != nil {
		e.t.Fatal(err)
	}
	return newClient(e.t, c)
}

func newClient(t testing.TB, c net.Conn) *client {
	t.Helper()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	cl := &client{t: t, conn: c, tp: textproto.NewConn(c)}
	t.Cleanup(func() { c.Close() })
	if g := cl.ok(); !strings.Contains(g, "POP3") {
		t.Fatalf("greeting %q", g)
	}
	return cl
}

func (c *client) send(format string, args ...any) {
	c.t.Helper()
	if err := c.tp.PrintfLine(format, args...); err != nil {
		c.t.Fatalf("send %q: %v", format, err)
	}
}

// reply reads one status line and reports whether it is +OK and its text.
func (c *client) reply() (bool, string) {
	c.t.Helper()
	line, err := c.tp.ReadLine()
	if err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	switch {
	case strings.HasPrefix(line, "+OK"):
		return true, strings.TrimPrefix(strings.TrimPrefix(line, "+OK"), " ")
	case strings.HasPrefix(line, "-ERR"):
		return false, strings.TrimPrefix(strings.TrimPrefix(line, "-ERR"), " ")
	}
	c.t.Fatalf("reply %q is neither +OK nor -ERR", line)
	return false, ""
}

func (c *client) ok() string {
	c.t.Helper()
	ok, text := c.reply()
	if !ok {
		c.t.Fatalf("got -ERR %s, want +OK", text)
	}
	return text
}

func (c *client) fail() string {
	c.t.Helper()
	ok, text := c.reply()
	if ok {
		c.t.Fatalf("got +OK %s, want -ERR", text)
	}
	return text
}

// do sends a command and wants +OK.
func (c *client) do(format string, args ...any) string {
	c.t.Helper()
	c.send(format, args...)
	return c.ok()
}

// doErr sends a command and wants -ERR.
func (c *client) doErr(format string, args ...any) string {
	c.t.Helper()
	c.send(format, args...)
	return c.fail()
}

// lines reads a multi-line body, dot-unstuffed, without the terminator.
func (c *client) lines() []string {
	c.t.Helper()
	ls, err := c.tp.ReadDotLines()
	if err != nil {
		c.t.Fatalf("read multi-line: %v", err)
	}
	return ls
}

// rawLines reads a multi-line body as sent, dot-stuffing included, up to
// and without the terminating ".".
func (c *client) rawLines() []string {
	c.t.Helper()
	var out []string
	for {
		l, err := c.tp.ReadLine()
		if err != nil {
			c.t.Fatalf("read multi-line: %v", err)
		}
		if l == "." {
			return out
		}
		out = append(out, l)
	}
}

func (c *client) multi(format string, args ...any) (string, []string) {
	c.t.Helper()
	status := c.do(format, args...)
	return status, c.lines()
}

func (c *client) login(user, pass string) string {
	c.t.Helper()
	c.do("USER %s", user)
	return c.do("PASS %s", pass)
}

// closed reports whether the server closed the connection.
func (c *client) closed() bool {
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := bufio.NewReader(c.conn).ReadByte()
	return err != nil
}

// retrBytes returns the dot-unstuffed body of RETR n, CRLF line endings.
func (c *client) retrBytes(n int) string {
	c.t.Helper()
	c.do("RETR %d", n)
	return strings.Join(c.lines(), "\r\n") + "\r\n"
}

func newTextproto(c net.Conn) *textproto.Conn {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return textproto.NewConn(c)
}

// waitFlags polls the INBOX until ok holds, for changes committed in the
// background; it fails after 10 seconds.
func (e *env) waitFlags(acct storage.Account, ok func([]storage.MessageState) bool) {
	e.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		ms := e.inboxState(acct)
		if ok(ms) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("INBOX state not reached: %+v", ms)
		}
	}
}

// testAuth is a login path over st for tests.
func testAuth(st storage.Credentials, plaintext bool, log *slog.Logger, lim auth.LimiterOptions) *auth.Service {
	lim.Logger = log
	return auth.New(auth.Options{Accounts: st, PlaintextOnLoopback: plaintext, Logger: log, Limiter: auth.NewLimiter(lim)})
}

package imapd

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"postern/auth"
	"postern/storage"
	"postern/storage/sqlite"
)

const testPassword = "correct horse battery"

type env struct {
	st   *sqlite.Store
	bus  storage.Bus
	srv  *Server
	addr string
	acct storage.Account
}

func newEnv(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	bus := storage.NewBus()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{Bus: bus, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Store:           st,
		Hostname:        "mail.example.test",
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		MaxMessageBytes: 1 << 20,
	}
	if mod != nil {
		mod(&cfg)
	}
	if cfg.Auth == nil {
		cfg.Auth = testAuth(st, true)
	}
	srv := New(cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	e := &env{st: st, bus: bus, srv: srv, addr: l.Addr().String()}
	e.acct = e.addUser(t, "alice@example.test")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v after Shutdown", err)
		}
		st.Close()
	})
	return e
}

func (e *env) addUser(t testing.TB, addr string) storage.Account {
	t.Helper()
	a, err := e.st.CreateAccount(context.Background(), addr, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// testAuth is the login path of most tests: plaintext from loopback, and
// a limit too high for tests that fail logins on purpose to reach.
func testAuth(st storage.Credentials, plaintext bool) *auth.Service {
	return auth.New(auth.Options{Accounts: st, PlaintextOnLoopback: plaintext,
		Logger:  slog.New(slog.DiscardHandler),
		Limiter: auth.NewLimiter(auth.LimiterOptions{Failures: 1000, FailuresPerAddress: 10000, Logger: slog.New(slog.DiscardHandler)})})
}

// client dials and logs in as alice with go-imap's strict client.
func (e *env) client(t testing.TB, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(e.addr, &imapclient.Options{UnilateralDataHandler: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login("alice@example.test", testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// deliver puts a message into a mailbox of alice the way SMTP would.
func (e *env) deliver(t testing.TB, mailbox, msg string) uint32 {
	t.Helper()
	body, err := storage.PrepareBody(strings.NewReader(msg), 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.st.Append(context.Background(), []storage.AppendItem{{AccountID: e.acct.ID, Mailbox: mailbox, Body: body}})
	if err != nil {
		t.Fatal(err)
	}
	return res[0].UID
}

func testMessage(subject, from, text string) string {
	return "From: " + from + "\r\nTo: alice@example.test\r\nSubject: " + subject +
		"\r\nDate: Mon, 02 Sep 2024 10:00:00 +0000\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.test>\r\n\r\n" + text + "\r\n"
}

// raw is a line-level client for hostile-input tests.
type raw struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func (e *env) raw(t testing.TB, login bool) *raw {
	t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &raw{t: t, c: c, br: bufio.NewReader(c)}
	r.expect("* OK")
	if login {
		r.send("l LOGIN alice@example.test \"" + testPassword + "\"\r\n")
		r.expect("l OK")
	}
	return r
}

func (r *raw) send(s string) {
	r.t.Helper()
	r.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

func (r *raw) line() string {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := r.br.ReadString('\n')
	if err != nil {
		r.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// expect reads lines until one starts with prefix and returns the lines
// read, that one last. A tagged line with another status fails the test.
func (r *raw) expect(prefix string) []string {
	r.t.Helper()
	var lines []string
	tag, _, _ := strings.Cut(prefix, " ")
	for {
		l := r.line()
		lines = append(lines, l)
		if strings.HasPrefix(l, prefix) {
			return lines
		}
		if tag != "*" && tag != "+" && strings.HasPrefix(l, tag+" ") {
			r.t.Fatalf("want %q, got %q (after %q)", prefix, l, lines)
		}
	}
}

// closed reports whether the server closed the connection (reading
// lines until EOF).
func (r *raw) closed() bool {
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, err := r.br.ReadString('\n')
		if err != nil {
			return err == io.EOF || strings.Contains(err.Error(), "reset")
		}
	}
}

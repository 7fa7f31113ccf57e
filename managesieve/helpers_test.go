package managesieve

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/tlsutil"
)

// memStore is a ScriptStore in memory.
type memStore struct {
	mu      sync.Mutex
	scripts map[string]map[string][]byte // account -> name -> script
	active  map[string]string
	fail    error // returned by every call when set
}

func newMemStore() *memStore {
	return &memStore{scripts: map[string]map[string][]byte{}, active: map[string]string{}}
}

func (m *memStore) ListScripts(_ context.Context, account string) ([]ScriptInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	var out []ScriptInfo
	for name := range m.scripts[account] {
		out = append(out, ScriptInfo{Name: name, Active: m.active[account] == name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *memStore) GetScript(_ context.Context, account, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.scripts[account][name]
	if !ok {
		return nil, ErrNonexistent
	}
	return s, nil
}

func (m *memStore) PutScript(_ context.Context, account, name string, script []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if m.scripts[account] == nil {
		m.scripts[account] = map[string][]byte{}
	}
	m.scripts[account][name] = script
	return nil
}

func (m *memStore) DeleteScript(_ context.Context, account, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.scripts[account][name]; !ok {
		return ErrNonexistent
	}
	if m.active[account] == name {
		return ErrActive
	}
	delete(m.scripts[account], name)
	return nil
}

func (m *memStore) RenameScript(_ context.Context, account, oldName, newName string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.scripts[account][oldName]
	if !ok {
		return ErrNonexistent
	}
	if _, ok := m.scripts[account][newName]; ok {
		return ErrAlreadyExists
	}
	delete(m.scripts[account], oldName)
	m.scripts[account][newName] = s
	if m.active[account] == oldName {
		m.active[account] = newName
	}
	return nil
}

func (m *memStore) SetActive(_ context.Context, account, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if name == "" {
		delete(m.active, account)
		return nil
	}
	if _, ok := m.scripts[account][name]; !ok {
		return ErrNonexistent
	}
	m.active[account] = name
	return nil
}

func (m *memStore) get(account, name string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.scripts[account][name]
	return string(s), ok
}

func (m *memStore) activeOf(account string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.active[account]
}

// passwords is an Authenticator over a map of user to password; the
// account is the user name in lower case.
type passwords map[string]string

func (p passwords) Authenticate(_ context.Context, _ net.Addr, user, pass string) (string, error) {
	if want, ok := p[user]; ok && want == pass {
		return strings.ToLower(user), nil
	}
	return "", errors.New("bad password")
}

// env is a running server.
type env struct {
	t         *testing.T
	srv       *Server
	store     *memStore
	addr      string
	certFile  string
	clientTLS *tls.Config
	done      chan error
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newEnv(t *testing.T, tweak ...func(*Config)) *env {
	t.Helper()
	dir := t.TempDir()
	srvTLS, err := tlsutil.Load("", "", dir, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(srvTLS.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	e := &env{t: t, store: newMemStore(), certFile: filepath.Join(dir, tlsutil.GeneratedCertFile),
		clientTLS: &tls.Config{RootCAs: pool, ServerName: "localhost"}, done: make(chan error, 1)}
	cfg := Config{
		Auth:                passwords{"alice@example.test": "secret one", "bob@example.test": "secret two"},
		Scripts:             e.store,
		TLS:                 srvTLS,
		PlaintextOnLoopback: true,
		Logger:              testLogger(),
	}
	for _, f := range tweak {
		f(&cfg)
	}
	e.srv = New(cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	go func() { e.done <- e.srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-e.done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return e
}

// client is a raw ManageSieve client for transcripts.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func (e *env) dial() *client {
	e.t.Helper()
	conn, err := net.DialTimeout("tcp", e.addr, 10*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	c := &client{t: e.t, conn: conn, r: bufio.NewReader(conn)}
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	c.response() // the greeting
	return c
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatal(err)
	}
}

// response reads lines up to and including the OK, NO or BYE line, with
// literals inlined; it returns them joined with "\n", literals as they are.
func (c *client) response() string {
	c.t.Helper()
	var out []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading response after %q: %v", out, err)
		}
		line = strings.TrimSuffix(line, "\r\n")
		for strings.HasSuffix(line, "}") && strings.LastIndexByte(line, '{') >= 0 {
			i := strings.LastIndexByte(line, '{')
			n, err := strconv.Atoi(line[i+1 : len(line)-1])
			if err != nil {
				break
			}
			buf := make([]byte, n)
			if _, err := io.ReadFull(c.r, buf); err != nil {
				c.t.Fatal(err)
			}
			rest, _ := c.r.ReadString('\n')
			line = line[:i] + "{" + string(buf) + "}" + strings.TrimSuffix(rest, "\r\n")
		}
		out = append(out, line)
		up := strings.ToUpper(line)
		if strings.HasPrefix(up, "OK") || strings.HasPrefix(up, "NO") || strings.HasPrefix(up, "BYE") {
			return strings.Join(out, "\n")
		}
	}
}

// cmd sends one command line and returns the response.
func (c *client) cmd(line string) string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.response()
}

// expect runs a command and checks that the response's last line starts
// with want and the whole response has every one of has.
func (c *client) expect(line, want string, has ...string) string {
	c.t.Helper()
	resp := c.cmd(line)
	last := resp[strings.LastIndexByte(resp, '\n')+1:]
	if !strings.HasPrefix(strings.ToUpper(last), strings.ToUpper(want)) {
		c.t.Fatalf("%q:\n%s\nwant %s", line, resp, want)
	}
	for _, h := range has {
		if !strings.Contains(resp, h) {
			c.t.Fatalf("%q:\n%s\nlacks %q", line, resp, h)
		}
	}
	return resp
}

// login authenticates with PLAIN and an initial response.
func (c *client) login(user, pass string) {
	c.t.Helper()
	c.expect(`AUTHENTICATE "PLAIN" "`+plain(user, pass)+`"`, "OK")
}

func plain(user, pass string) string {
	return b64("\x00" + user + "\x00" + pass)
}

func literal(s string) string { return "{" + strconv.Itoa(len(s)) + "+}\r\n" + s }

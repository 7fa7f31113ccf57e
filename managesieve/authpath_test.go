package managesieve

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"postern/auth"
	"postern/storage/sqlite"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ManageSieve logs in through the login path every protocol shares (the
// auth package's adapter): real accounts of the store, the shared
// failed-login line, the shared lockout.
func TestSharedLoginPath(t *testing.T) {
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateAccount(context.Background(), "alice@example.test", "alice's password"); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuf{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	svc := auth.New(auth.Options{Accounts: st, Logger: log, PlaintextOnLoopback: true,
		Limiter: auth.NewLimiter(auth.LimiterOptions{Failures: 2, Logger: log})})
	e := newEnv(t, func(c *Config) {
		c.Auth = auth.ManageSieve{Service: svc}
		c.MaxAuthFailures = 10
	})
	c := e.dial()
	c.expect(`AUTHENTICATE "PLAIN" "`+plain("Alice@Example.TEST", "wrong")+`"`, "NO")
	if !strings.Contains(logs.String(), `msg="login failed" proto=managesieve remote=127.0.0.1 user=Alice@Example.TEST reason="bad password"`) {
		t.Fatalf("log:\n%s", logs)
	}
	c.expect(`AUTHENTICATE "PLAIN" "`+plain("alice@example.test", "wrong")+`"`, "NO")
	// Two failures lock this address out of alice, right password or not.
	c.expect(`AUTHENTICATE "PLAIN" "`+plain("alice@example.test", "alice's password")+`"`, "NO")
	if !strings.Contains(logs.String(), `reason="locked out"`) {
		t.Fatalf("log:\n%s", logs)
	}
	svc.Limiter().Unblock(loopback, "")
	c.expect(`AUTHENTICATE "PLAIN" "`+plain("alice@example.test", "alice's password")+`"`, "OK")
	c.expect("CAPABILITY", "OK", `"OWNER" "alice@example.test"`)
}

var loopback = netip.MustParseAddr("127.0.0.1")

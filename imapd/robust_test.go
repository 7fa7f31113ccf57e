package imapd

import (
	"strings"
	"testing"
	"time"

	"postern/auth"
)

// XPANIC exists only in tests: it stands for a bug in some command.
func init() {
	register(&command{name: "XPANIC", states: anyState, handle: func(c *conn, r *request) error {
		panic("deliberate test panic")
	}})
}

func TestPanicClosesOnlyThatConnection(t *testing.T) {
	e := newEnv(t, nil)
	other := e.raw(t, true)
	victim := e.raw(t, true)
	victim.send("p XPANIC\r\n")
	if !victim.closed() {
		t.Fatal("connection still open after a panic")
	}
	other.send("n NOOP\r\n")
	other.expect("n OK")
	fresh := e.raw(t, true)
	fresh.send("n NOOP\r\n")
	fresh.expect("n OK")
}

func TestTimeouts(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.PreAuthTimeout = 300 * time.Millisecond
		c.IdleTimeout = 600 * time.Millisecond
	})
	pre := e.raw(t, false)
	lines := pre.expect("* BYE")
	if !strings.Contains(lines[len(lines)-1], "idle") || !pre.closed() {
		t.Errorf("before login: %q", lines)
	}
	// Once logged in the longer timeout applies, in IDLE too.
	auth := e.raw(t, true)
	auth.send("s SELECT INBOX\r\ni IDLE\r\n")
	auth.expect("+ ")
	start := time.Now()
	auth.expect("* BYE")
	if !auth.closed() {
		t.Error("idle connection not closed")
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("closed after %v: the pre-login timeout was applied after login", d)
	}
}

func TestShutdownSaysBye(t *testing.T) {
	e := newEnv(t, nil)
	waiting := e.raw(t, true)
	idling := e.raw(t, true)
	idling.send("s SELECT INBOX\r\ni IDLE\r\n")
	idling.expect("+ ")
	go e.srv.Shutdown(t.Context())
	for _, r := range []*raw{waiting, idling} {
		lines := r.expect("* BYE")
		if !strings.Contains(lines[len(lines)-1], "shutting down") || !r.closed() {
			t.Errorf("shutdown: %q", lines)
		}
	}
}

func TestLoginLockout(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Auth = auth.New(auth.Options{Accounts: c.Store, PlaintextOnLoopback: true,
			Limiter: auth.NewLimiter(auth.LimiterOptions{Failures: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})})
	})
	r := e.raw(t, false)
	for i := 0; i < 3; i++ {
		r.send("l LOGIN alice@example.test wrong\r\n")
		if l := r.line(); !strings.HasPrefix(l, "l NO") {
			t.Fatalf("failed login %d: %q", i, l)
		}
	}
	// Locked out now: even the right password is refused, with a code
	// that tells the client to come back later rather than ask the user.
	r.send("l LOGIN alice@example.test \"" + testPassword + "\"\r\n")
	if l := r.line(); !strings.HasPrefix(l, "l NO [UNAVAILABLE]") {
		t.Errorf("login while locked out: %q", l)
	}
}

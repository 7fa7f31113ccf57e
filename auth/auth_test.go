package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"postern/storage"
	"postern/storage/sqlite"
)

// sleepRecorder stands in for time: it records the delays asked for and
// returns at once.
type sleepRecorder struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleepRecorder) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) Delays() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.delays)
}

// testService is a Service over a real store, with a fake clock, recorded
// sleeps and a count of password hash checks.
type testService struct {
	*Service
	st       *sqlite.Store
	clk      *fakeClock
	sleeps   *sleepRecorder
	logs     *logBuf
	verifies atomic.Int64
}

func newTestService(t *testing.T, tune func(*Options)) *testService {
	t.Helper()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ts := &testService{st: st, clk: newClock(), sleeps: &sleepRecorder{}, logs: &logBuf{}}
	log := slog.New(slog.NewTextHandler(ts.logs, nil))
	opts := Options{
		Accounts: st,
		Logger:   log,
		Now:      ts.clk.Now,
		Sleep:    ts.sleeps.Sleep,
		Limiter:  NewLimiter(LimiterOptions{Logger: log, Now: ts.clk.Now, Blocks: st}),
		Verify: func(hash, password string) bool {
			ts.verifies.Add(1)
			return storage.CheckPassword(hash, password)
		},
	}
	if tune != nil {
		tune(&opts)
	}
	ts.Service = New(opts)
	stop := st.WatchAccounts(func(ev storage.Event) { ts.Forget(ev.AccountID) })
	t.Cleanup(stop)
	return ts
}

func (ts *testService) login(user, pass string, from netip.Addr) (storage.Account, error) {
	return ts.Login(bg, Attempt{Protocol: "imap", Remote: from, Username: user, Password: pass})
}

func (ts *testService) addUser(t *testing.T, addr, pass string) storage.Account {
	t.Helper()
	a, err := ts.st.CreateAccount(bg, addr, pass)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLoginOutcomesAndLogLine(t *testing.T) {
	ts := newTestService(t, nil)
	alice := ts.addUser(t, "alice@example.test", "correct horse")
	ts.addUser(t, "dave@example.test", "dave's password")
	if err := ts.st.DisableAccount(bg, "dave@example.test"); err != nil {
		t.Fatal(err)
	}
	acct, err := ts.login("Alice@EXAMPLE.test", "correct horse", loop)
	if err != nil || acct.ID != alice.ID {
		t.Fatalf("login: %+v %v", acct, err)
	}
	cases := []struct {
		user, pass string
		want       error
		reason     string
	}{
		{"alice@example.test", "wrong", ErrFailed, `reason="bad password"`},
		{"nobody@example.test", "wrong", ErrFailed, `reason="unknown account"`},
		{"dave@example.test", "dave's password", ErrDisabled, "reason=disabled"},
		{"dave@example.test", "wrong", ErrFailed, `reason="bad password"`},
	}
	for _, c := range cases {
		before := len(ts.logs.Lines())
		if _, err := ts.login(c.user, c.pass, other); !errors.Is(err, c.want) {
			t.Errorf("%s/%s: %v, want %v", c.user, c.pass, err, c.want)
		}
		lines := ts.logs.Lines()[before:]
		want := `level=INFO msg="login failed" proto=imap remote=192.0.2.1 user=` + c.user + " " + c.reason
		if len(lines) != 1 || !strings.Contains(lines[0], want) {
			t.Errorf("%s/%s logged %q, want one line with %q", c.user, c.pass, lines, want)
		}
	}
	// A hostile name is logged quoted, so it cannot fake the fields.
	ts.login(`x reason="disabled" remote=6.6.6.6`+"\n", "pw", other)
	last := ts.logs.Lines()[len(ts.logs.Lines())-1]
	if !strings.Contains(last, `remote=192.0.2.1 user="x reason=\"disabled\" remote=6.6.6.6\n" reason="unknown account"`) {
		t.Errorf("hostile name logged as %q", last)
	}
	ts.RefusePlaintext("pop3", loop, "alice@example.test")
	last = ts.logs.Lines()[len(ts.logs.Lines())-1]
	if !strings.Contains(last, `msg="login failed" proto=pop3 remote=127.0.0.1 user=alice@example.test reason="plaintext refused"`) {
		t.Errorf("plaintext refusal logged as %q", last)
	}
}

// Repeat logins are answered from the cache: one hash computation, however
// many logins; identical logins at once share one.
func TestCacheRepeatLogins(t *testing.T) {
	ts := newTestService(t, nil)
	ts.addUser(t, "alice@example.test", "correct horse")
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ts.login("alice@example.test", "correct horse", loop); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for range 50 {
		if _, err := ts.login("ALICE@example.test", "correct horse", loop); err != nil {
			t.Fatal(err)
		}
	}
	if n := ts.verifies.Load(); n != 1 {
		t.Fatalf("%d hash computations for 70 logins, want 1", n)
	}
	// A wrong password is never remembered, as good or bad.
	for range 3 {
		ts.login("alice@example.test", "wrong", loop)
	}
	if n := ts.verifies.Load(); n != 4 {
		t.Fatalf("%d hash computations after 3 wrong passwords, want 4", n)
	}
	// The entry lives for the TTL.
	ts.clk.Advance(DefaultCacheTTL - time.Second)
	ts.login("alice@example.test", "correct horse", loop)
	if n := ts.verifies.Load(); n != 4 {
		t.Fatalf("hash computed again within the TTL")
	}
	ts.clk.Advance(time.Second)
	ts.login("alice@example.test", "correct horse", loop)
	if n := ts.verifies.Load(); n != 5 {
		t.Fatalf("%d hash computations, want one more after the TTL", n)
	}
}

// A password change, deletion or disabling ends the old password at once,
// made in this process (events) or in another one (the stored hash
// changes: the CLI's store is another Store on the same data_dir).
func TestCacheDroppedOnChange(t *testing.T) {
	ts := newTestService(t, nil)
	ts.addUser(t, "alice@example.test", "old password")
	ts.addUser(t, "bob@example.test", "bob's password")
	for _, u := range []string{"alice@example.test", "bob@example.test"} {
		pw := map[string]string{"alice@example.test": "old password", "bob@example.test": "bob's password"}[u]
		if _, err := ts.login(u, pw, loop); err != nil {
			t.Fatal(err)
		}
	}
	if n := ts.cache.len(); n != 2 {
		t.Fatalf("%d cache entries", n)
	}
	if err := ts.st.SetPassword(bg, "alice@example.test", "new password"); err != nil {
		t.Fatal(err)
	}
	if n := ts.cache.len(); n != 1 {
		t.Fatalf("%d cache entries after the password change, want bob's only", n)
	}
	if _, err := ts.login("alice@example.test", "old password", loop); !errors.Is(err, ErrFailed) {
		t.Fatalf("old password after the change: %v", err)
	}
	if _, err := ts.login("alice@example.test", "new password", loop); err != nil {
		t.Fatal(err)
	}

	cli, err := sqlite.Open(ts.st.Dir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if err := cli.SetPassword(bg, "alice@example.test", "third password"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.login("alice@example.test", "new password", loop); !errors.Is(err, ErrFailed) {
		t.Fatalf("password changed by another process still works: %v", err)
	}
	if err := cli.DisableAccount(bg, "bob@example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.login("bob@example.test", "bob's password", loop); !errors.Is(err, ErrDisabled) {
		t.Fatalf("account disabled by another process: %v", err)
	}
	if err := cli.DeleteAccount(bg, "bob@example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.login("bob@example.test", "bob's password", loop); !errors.Is(err, ErrFailed) {
		t.Fatalf("account deleted by another process: %v", err)
	}
	// Recreated with the same password, it is a new account.
	bob2 := ts.addUser(t, "bob@example.test", "bob's password")
	if acct, err := ts.login("bob@example.test", "bob's password", loop); err != nil || acct.ID != bob2.ID {
		t.Fatalf("recreated account: %+v %v", acct, err)
	}
}

// Failed logins lock one source out of one account: a correct password
// for another account still works from that source, and the locked account
// from another source. Locked-out attempts are not even checked.
func TestLoginLockoutIsFair(t *testing.T) {
	ts := newTestService(t, nil)
	ts.addUser(t, "alice@example.test", "alice's password")
	ts.addUser(t, "bob@example.test", "bob's password")
	for range 8 {
		if _, err := ts.login("alice@example.test", "old password", loop); !errors.Is(err, ErrFailed) {
			t.Fatal(err)
		}
	}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		4 * time.Second, 5 * time.Second, 5 * time.Second}
	if got := ts.sleeps.Delays(); !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	n := ts.verifies.Load()
	if _, err := ts.login("alice@example.test", "alice's password", loop); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("locked pair: %v", err)
	}
	if ts.verifies.Load() != n {
		t.Fatal("a locked-out attempt was checked")
	}
	if !strings.Contains(ts.logs.Lines()[len(ts.logs.Lines())-1], `reason="locked out"`) {
		t.Fatalf("locked-out attempt not logged: %q", ts.logs.Lines())
	}
	if _, err := ts.login("bob@example.test", "bob's password", loop); err != nil {
		t.Fatalf("another account from the same address: %v", err)
	}
	if _, err := ts.login("alice@example.test", "alice's password", loop2); err != nil {
		t.Fatalf("the same account from another address: %v", err)
	}
	blocks, err := ts.st.AuthBlocks(bg, ts.clk.Now())
	if err != nil || len(blocks) != 1 || blocks[0].Source != "127.0.0.1" || blocks[0].Account != "alice@example.test" {
		t.Fatalf("stored blocks %+v %v", blocks, err)
	}
	// Lifted in the store, by another process: the next attempt passes.
	if _, err := ts.st.DeleteAuthBlocks(bg, "127.0.0.1", ""); err != nil {
		t.Fatal(err)
	}
	ts.clk.Advance(time.Second)
	if _, err := ts.login("alice@example.test", "alice's password", loop); err != nil {
		t.Fatalf("after unblock: %v", err)
	}
}

// An account guessed at from many addresses answers every attempt that
// the cache does not, the right password too, only after a growing delay;
// its owner's client, whose password is cached, is not slowed.
func TestLoginSlowdown(t *testing.T) {
	ts := newTestService(t, func(o *Options) {
		o.Limiter = NewLimiter(LimiterOptions{SlowdownFailures: 5, Logger: o.Logger, Now: o.Now})
	})
	alice := ts.addUser(t, "alice@example.test", "alice's password")
	if _, err := ts.login("alice@example.test", "alice's password", loop); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		ts.login("alice@example.test", "guess", netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
	}
	before := len(ts.sleeps.Delays())
	if _, err := ts.login("alice@example.test", "alice's password", loop); err != nil {
		t.Fatal(err)
	}
	if d := ts.sleeps.Delays()[before:]; len(d) != 0 {
		t.Fatalf("cached login slowed: %v", d)
	}
	ts.login("alice@example.test", "guess", other)
	if d := ts.sleeps.Delays()[before:]; len(d) < 1 || d[0] != 250*time.Millisecond {
		t.Fatalf("guess after the threshold: delays %v", d)
	}
	ts.Forget(alice.ID)
	before = len(ts.sleeps.Delays())
	if _, err := ts.login("alice@example.test", "alice's password", loop2); err != nil {
		t.Fatal(err)
	}
	if d := ts.sleeps.Delays()[before:]; len(d) != 1 || d[0] != 500*time.Millisecond {
		t.Fatalf("uncached right password: delays %v, want [500ms]", d)
	}
}

func TestPlaintextAllowed(t *testing.T) {
	on := New(Options{PlaintextOnLoopback: true})
	off := New(Options{})
	for _, c := range []struct {
		s    *Service
		tls  bool
		ip   string
		want bool
	}{
		{on, false, "127.0.0.1", true}, {on, false, "::1", true}, {on, false, "::ffff:127.0.0.2", true},
		{on, false, "192.0.2.1", false}, {on, true, "192.0.2.1", true},
		{off, false, "127.0.0.1", false}, {off, true, "127.0.0.1", true},
	} {
		if got := c.s.PlaintextAllowed(c.tls, netip.MustParseAddr(c.ip)); got != c.want {
			t.Errorf("PlaintextOnLoopback=%v tls=%v %s: %v", c.s.opts.PlaintextOnLoopback, c.tls, c.ip, got)
		}
	}
}

// The mechanism switch offers PLAIN and LOGIN in any case, and nothing else.
func TestNewMechanism(t *testing.T) {
	for _, m := range []string{"PLAIN", "plain", "LOGIN", "Login"} {
		if s, err := NewMechanism(m, func(string, string) error { return nil }); s == nil || err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
	for _, m := range []string{"CRAM-MD5", "", "PLAIN "} {
		if _, err := NewMechanism(m, nil); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%q: %v", m, err)
		}
	}
}

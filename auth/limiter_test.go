package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/storage"
)

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuf collects log output; safe for concurrent writers.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuf) Lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSpace(b.buf.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func newTestLimiter(opts LimiterOptions) (*Limiter, *fakeClock, *logBuf) {
	clk := newClock()
	logs := &logBuf{}
	opts.Now = clk.Now
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	return NewLimiter(opts), clk, logs
}

var (
	bg    = context.Background()
	loop  = netip.MustParseAddr("127.0.0.1")
	loop2 = netip.MustParseAddr("127.0.0.2")
	other = netip.MustParseAddr("192.0.2.1")
)

func mustPass(t *testing.T, l *Limiter, ip netip.Addr, account string) {
	t.Helper()
	if err := l.Check(bg, ip, account); err != nil {
		t.Fatalf("Check(%s, %s) = %v, want no error", ip, account, err)
	}
}

func mustLock(t *testing.T, l *Limiter, ip netip.Addr, account string) *LockoutError {
	t.Helper()
	err := l.Check(bg, ip, account)
	var le *LockoutError
	if !errors.Is(err, ErrLockedOut) || !errors.As(err, &le) {
		t.Fatalf("Check(%s, %s) = %v, want a lockout", ip, account, err)
	}
	return le
}

func TestLimiterDefaults(t *testing.T) {
	l := NewLimiter(LimiterOptions{})
	o := l.opts
	if o.Failures != 8 || o.FailuresPerAddress != 40 || o.Lockout != 15*time.Minute || o.Window != 15*time.Minute ||
		o.Probes != 10 || o.ProbeWindow != time.Minute || o.SlowdownFailures != 50 || o.SlowdownWindow != time.Hour ||
		o.BaseDelay != 250*time.Millisecond || o.MaxDelay != 5*time.Second || o.MaxSources != 100_000 ||
		o.Logger == nil || o.Now == nil {
		t.Fatalf("defaults not applied: %+v", o)
	}
}

// Each failure from a source to an account is answered after a growing
// delay; the eighth locks that source out of that account only.
func TestLockoutPerSourceAndAccount(t *testing.T) {
	l, clk, logs := newTestLimiter(LimiterOptions{})
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		mustPass(t, l, loop, "alice@x")
		if d := l.Failure(bg, loop, "alice@x", true); d != w {
			t.Fatalf("failure %d: delay %v, want %v", i+1, d, w)
		}
		clk.Advance(time.Minute)
	}
	if n := len(logs.Lines()); n != 0 {
		t.Fatalf("log lines before the lockout: %q", logs.Lines())
	}
	if d := l.Failure(bg, loop, "alice@x", true); d != 0 {
		t.Fatalf("the failure that locks is delayed %v", d)
	}
	le := mustLock(t, l, loop, "alice@x")
	if le.Account != "alice@x" || le.Remaining != 15*time.Minute ||
		!strings.Contains(le.Error(), "alice@x from 127.0.0.1: locked out for another 15m0s") {
		t.Fatalf("lockout %+v: %q", le, le)
	}
	// A correct password for another account works from the same
	// address, and the same account from another address.
	mustPass(t, l, loop, "bob@x")
	mustPass(t, l, loop2, "alice@x")
	lines := logs.Lines()
	if len(lines) != 1 || !strings.Contains(lines[0], `msg="auth lockout" remote=127.0.0.1 scope="address and account"`) ||
		!strings.Contains(lines[0], "account=alice@x") || !strings.Contains(lines[0], "failures=8") {
		t.Fatalf("lockout log %q", lines)
	}
	// Refused attempts neither extend the lock nor log again.
	clk.Advance(5 * time.Minute)
	for range 20 {
		l.Failure(bg, loop, "alice@x", true)
	}
	if le := mustLock(t, l, loop, "alice@x"); le.Remaining != 10*time.Minute {
		t.Fatalf("after 5 minutes: %v", le)
	}
	if n := len(logs.Lines()); n != 1 {
		t.Fatalf("lockout logged %d times", n)
	}
	// Sub-second remainders round up, never "0s" while still locked.
	clk.Advance(10*time.Minute - 300*time.Millisecond)
	if le := mustLock(t, l, loop, "alice@x"); !strings.Contains(le.Error(), "another 1s") {
		t.Fatalf("300ms before the end: %v", le)
	}
	clk.Advance(300 * time.Millisecond)
	mustPass(t, l, loop, "alice@x")
	if d := l.Failure(bg, loop, "alice@x", true); d != 250*time.Millisecond {
		t.Fatalf("first failure after the lock: %v", d)
	}
}

// Failures older than the window stop counting.
func TestFailureWindow(t *testing.T) {
	l, clk, _ := newTestLimiter(LimiterOptions{})
	for range 7 {
		l.Failure(bg, loop, "alice@x", true)
	}
	clk.Advance(15 * time.Minute)
	if d := l.Failure(bg, loop, "alice@x", true); d != 250*time.Millisecond {
		t.Fatalf("old failures still counted: delay %v", d)
	}
	mustPass(t, l, loop, "alice@x")
}

// Password spraying: failures to many accounts from one source add up,
// and the FailuresPerAddress-th locks the whole source.
func TestLockoutPerAddress(t *testing.T) {
	l, _, logs := newTestLimiter(LimiterOptions{})
	for i := range 39 {
		l.Failure(bg, other, fmt.Sprintf("user%d@x", i), false)
	}
	mustPass(t, l, other, "anyone@x")
	d := l.Failure(bg, other, "user39@x", false)
	if d != 0 {
		t.Fatalf("locking failure delayed %v", d)
	}
	le := mustLock(t, l, other, "anyone@x")
	if le.Account != "" || !strings.Contains(le.Error(), "from 192.0.2.1: locked out") {
		t.Fatalf("lockout %+v", le)
	}
	mustPass(t, l, loop, "anyone@x")
	if lines := logs.Lines(); len(lines) != 1 || !strings.Contains(lines[0], "scope=address") || !strings.Contains(lines[0], "failures=40") {
		t.Fatalf("log %q", lines)
	}
	// The delay grows with the source's failures too.
	l2, _, _ := newTestLimiter(LimiterOptions{})
	var last time.Duration
	for i := range 20 {
		last = l2.Failure(bg, other, fmt.Sprintf("user%d@x", i), false)
	}
	if last != 2*time.Second { // 20 of 40 counts as 4 of 8
		t.Fatalf("delay after 20 sprayed failures: %v", last)
	}
}

// Guessing one account from many addresses slows every attempt on it
// down after SlowdownFailures in the window, more with each further
// failure, and never locks it.
func TestSlowdownPerAccount(t *testing.T) {
	l, clk, _ := newTestLimiter(LimiterOptions{SlowdownFailures: 50, MaxSlowdown: 10 * time.Second})
	for i := range 50 {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i / 7), byte(i)})
		if d := l.Slowdown(ip, "alice@x"); d != 0 {
			t.Fatalf("attempt %d slowed by %v", i+1, d)
		}
		l.Failure(bg, ip, "alice@x", true)
		clk.Advance(time.Minute)
	}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		ip := netip.AddrFrom4([4]byte{10, 1, 0, byte(i)})
		if d := l.Slowdown(ip, "alice@x"); d != w {
			t.Fatalf("attempt %d after the threshold: %v, want %v", i+1, d, w)
		}
		mustPass(t, l, ip, "alice@x")
		l.Failure(bg, ip, "alice@x", true)
	}
	if d := l.Slowdown(loop, "bob@x"); d != 0 {
		t.Fatalf("another account slowed by %v", d)
	}
	// Unknown accounts are not tracked; the hour slides.
	for range 100 {
		l.Failure(bg, other, "nobody@x", false)
	}
	if d := l.Slowdown(loop, "nobody@x"); d != 0 {
		t.Fatalf("unknown account slowed by %v", d)
	}
	clk.Advance(time.Hour)
	if d := l.Slowdown(loop, "alice@x"); d != 0 {
		t.Fatalf("slowdown after an hour: %v", d)
	}
}

// Trusted networks are never delayed, slowed or locked.
func TestTrusted(t *testing.T) {
	l, _, logs := newTestLimiter(LimiterOptions{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	ip := netip.MustParseAddr("10.1.2.3")
	for range 100 {
		if d := l.Failure(bg, ip, "alice@x", true); d != 0 {
			t.Fatalf("trusted source delayed %v", d)
		}
		if d, err := l.Probe(bg, ip, "guess@x"); d != 0 || err != nil {
			t.Fatalf("trusted probe: %v %v", d, err)
		}
	}
	mustPass(t, l, ip, "alice@x")
	if d := l.Slowdown(ip, "alice@x"); d != 0 || len(logs.Lines()) != 0 {
		t.Fatalf("slowdown %v, logs %q", d, logs.Lines())
	}
}

func TestKeyGrouping(t *testing.T) {
	same := [][2]string{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"fe80::1%eth0", "fe80::2"},
	}
	for _, p := range same {
		a, b := netip.MustParseAddr(p[0]), netip.MustParseAddr(p[1])
		if Key(a) != Key(b) {
			t.Errorf("Key(%s)=%s, Key(%s)=%s; want the same source", a, Key(a), b, Key(b))
		}
	}
	for _, p := range [][2]string{{"2001:db8:1:2::1", "2001:db8:1:3::1"}, {"192.0.2.1", "192.0.2.2"}, {"127.0.0.1", "127.0.0.2"}} {
		a, b := netip.MustParseAddr(p[0]), netip.MustParseAddr(p[1])
		if Key(a) == Key(b) {
			t.Errorf("%s and %s share source %s", a, b, Key(a))
		}
	}
	if k := Key(netip.Addr{}); k.IsValid() {
		t.Errorf("Key(zero) = %s, want the invalid prefix", k)
	}
	for in, want := range map[string]string{"2001:db8:1:2::7": "2001:db8:1:2::/64", "2001:db8:1:2::/64": "2001:db8:1:2::/64",
		"192.0.2.1": "192.0.2.1", "::ffff:192.0.2.1": "192.0.2.1"} {
		p, err := ParseSource(in)
		if err != nil || SourceString(p) != want {
			t.Errorf("ParseSource(%q) = %s, %v; want %s", in, SourceString(p), err, want)
		}
	}
	if _, err := ParseSource("not an address"); err == nil {
		t.Error("ParseSource accepted text")
	}
	l, _, logs := newTestLimiter(LimiterOptions{Failures: 4})
	for i := range 4 {
		l.Failure(bg, netip.MustParseAddr(fmt.Sprintf("2001:db8:1:2::%x", i+1)), "carol@x", true)
	}
	mustLock(t, l, netip.MustParseAddr("2001:db8:1:2:abcd::1"), "carol@x")
	if !strings.Contains(logs.Lines()[0], "remote=2001:db8:1:2::/64") {
		t.Fatalf("log line does not name the /64: %q", logs.Lines()[0])
	}
	mustPass(t, l, netip.MustParseAddr("2001:db8:1:3::1"), "carol@x")
}

// Success forgets the pair's failures but not the source's, and lifts no
// lock.
func TestSuccess(t *testing.T) {
	l, _, _ := newTestLimiter(LimiterOptions{})
	for range 3 {
		l.Failure(bg, loop, "alice@x", true)
	}
	l.Success(loop, "alice@x")
	if d := l.Failure(bg, loop, "alice@x", true); d != 250*time.Millisecond {
		t.Fatalf("delay after a success and one failure: %v", d)
	}
	for range 8 {
		l.Failure(bg, loop, "alice@x", true)
	}
	l.Success(loop, "alice@x")
	mustLock(t, l, loop, "alice@x")
	l.Success(other, "x") // unknown source: nothing happens
}

// memBlocks is a BlockStore in memory: another process's view.
type memBlocks struct {
	mu     sync.Mutex
	blocks map[[2]string]storage.AuthBlock
	asked  int
}

func (m *memBlocks) PutAuthBlock(_ context.Context, b storage.AuthBlock) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.blocks == nil {
		m.blocks = map[[2]string]storage.AuthBlock{}
	}
	m.blocks[[2]string{b.Source, b.Account}] = b
	return nil
}

func (m *memBlocks) AuthBlocked(_ context.Context, source, account string, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.asked++
	b, ok := m.blocks[[2]string{source, account}]
	return ok && now.Before(b.Until), nil
}

func (m *memBlocks) AuthBlocks(_ context.Context, now time.Time) ([]storage.AuthBlock, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []storage.AuthBlock
	for _, b := range m.blocks {
		if now.Before(b.Until) {
			out = append(out, b)
		}
	}
	return out, nil
}

func (m *memBlocks) delete(source string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.blocks {
		if k[0] == source {
			delete(m.blocks, k)
		}
	}
}

// Locks go to the BlockStore; one lifted there (by another process) is
// lifted here at the next attempt, the store being asked at most once a
// second; a new Limiter loads the locks in force.
func TestBlockStore(t *testing.T) {
	blocks := &memBlocks{}
	l, clk, _ := newTestLimiter(LimiterOptions{Blocks: blocks})
	for range 8 {
		l.Failure(bg, loop, "alice@x", true)
	}
	for i := range 40 {
		l.Failure(bg, other, fmt.Sprintf("spray%d@x", i), false)
	}
	list, _ := blocks.AuthBlocks(bg, clk.Now())
	if len(list) != 2 {
		t.Fatalf("store holds %+v", list)
	}
	for range 10 {
		mustLock(t, l, loop, "alice@x")
	}
	if blocks.asked != 0 {
		t.Fatalf("store asked %d times within a second of the lock", blocks.asked)
	}
	clk.Advance(time.Second)
	mustLock(t, l, loop, "alice@x")
	mustLock(t, l, loop, "alice@x")
	if blocks.asked != 1 {
		t.Fatalf("store asked %d times, want once a second", blocks.asked)
	}

	restarted, _, _ := newTestLimiter(LimiterOptions{Blocks: blocks})
	restarted.opts.Now = clk.Now
	if err := restarted.Load(bg); err != nil {
		t.Fatal(err)
	}
	mustLock(t, restarted, loop, "alice@x")
	mustLock(t, restarted, other, "anyone@x")

	blocks.delete("127.0.0.1")
	clk.Advance(time.Second)
	mustPass(t, l, loop, "alice@x")
	mustPass(t, restarted, loop, "alice@x")
	mustLock(t, l, other, "x@x")
	if d := l.Failure(bg, loop, "alice@x", true); d != 250*time.Millisecond {
		t.Fatalf("failures before the unblock still count: %v", d)
	}
	l.Unblock(other, "")
	mustPass(t, l, other, "x@x")
}

func BenchmarkFailureCheck(b *testing.B) {
	l := NewLimiter(LimiterOptions{Logger: slog.New(slog.DiscardHandler)})
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			ip := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
			l.Check(bg, ip, "u@x")
			l.Failure(bg, ip, "u@x", true)
			i++
		}
	})
}

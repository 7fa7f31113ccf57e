package authlimit

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

func newTestLimiter(opts Options) (*Limiter, *fakeClock, *logBuf) {
	clk := newClock()
	logs := &logBuf{}
	opts.Now = clk.Now
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	return New(opts), clk, logs
}

var (
	loop  = netip.MustParseAddr("127.0.0.1")
	loop2 = netip.MustParseAddr("127.0.0.2")
	other = netip.MustParseAddr("192.0.2.1")
)

func mustCheck(t *testing.T, l *Limiter, ip netip.Addr) time.Duration {
	t.Helper()
	d, err := l.Check(ip)
	if err != nil {
		t.Fatalf("Check(%s) = %v, want no error", ip, err)
	}
	return d
}

func TestDefaults(t *testing.T) {
	l := New(Options{})
	if l.opts.Burst != 10 || l.opts.Window != time.Minute || l.opts.Lockout != 15*time.Minute ||
		l.opts.BaseDelay != 250*time.Millisecond || l.opts.MaxDelay != 5*time.Second ||
		l.opts.MaxSources != 100_000 || l.opts.Logger == nil || l.opts.Now == nil {
		t.Fatalf("defaults not applied: %+v", l.opts)
	}
}

func TestDelaysGrow(t *testing.T) {
	l, _, _ := newTestLimiter(Options{Burst: 20})
	want := []time.Duration{
		0,
		250 * time.Millisecond,
		500 * time.Millisecond,
		time.Second,
		2 * time.Second,
		4 * time.Second,
		5 * time.Second, // capped
		5 * time.Second,
	}
	for i, w := range want {
		if d := mustCheck(t, l, loop); d != w {
			t.Fatalf("after %d failures: delay %v, want %v", i, d, w)
		}
		l.Failure(loop, "alice")
	}
}

func TestLockoutAfterBurst(t *testing.T) {
	l, clk, logs := newTestLimiter(Options{})
	for i := 0; i < 9; i++ {
		l.Failure(loop, "alice")
		clk.Advance(time.Second)
	}
	mustCheck(t, l, loop)
	if n := len(logs.Lines()); n != 0 {
		t.Fatalf("%d log lines before the lockout: %q", n, logs.Lines())
	}

	l.Failure(loop, "alice") // the 10th within a minute
	_, err := l.Check(loop)
	if !errors.Is(err, ErrLockedOut) {
		t.Fatalf("Check after burst = %v, want ErrLockedOut", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1") || !strings.Contains(err.Error(), "locked out for another 15m0s") {
		t.Fatalf("lockout error text %q lacks the source or the remaining time", err)
	}
	var le *LockoutError
	if !errors.As(err, &le) || le.Remaining != 15*time.Minute {
		t.Fatalf("LockoutError = %+v", le)
	}

	lines := logs.Lines()
	if len(lines) != 1 {
		t.Fatalf("want one log line, got %q", lines)
	}
	for _, want := range []string{"level=WARN", `msg="auth lockout"`, "ip=127.0.0.1", "failures=10", "until="} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line %q lacks %q", lines[0], want)
		}
	}

	// Attempts refused during the lockout neither extend it nor log again.
	clk.Advance(5 * time.Minute)
	for i := 0; i < 30; i++ {
		l.Failure(loop, "alice")
	}
	_, err = l.Check(loop)
	if err == nil || !strings.Contains(err.Error(), "another 10m0s") {
		t.Fatalf("after 5 minutes: %v, want 10m0s remaining", err)
	}
	if n := len(logs.Lines()); n != 1 {
		t.Fatalf("lockout logged %d times", n)
	}

	// Sub-second remainders round up, never "0s" while still locked.
	clk.Advance(10*time.Minute - 300*time.Millisecond)
	_, err = l.Check(loop)
	if err == nil || !strings.Contains(err.Error(), "another 1s") {
		t.Fatalf("300ms before the end: %v", err)
	}

	clk.Advance(300 * time.Millisecond)
	if d := mustCheck(t, l, loop); d != 0 {
		t.Fatalf("delay after lockout expired = %v, want 0", d)
	}
	// A fresh start: one failure does not lock again.
	l.Failure(loop, "alice")
	if d := mustCheck(t, l, loop); d != 250*time.Millisecond {
		t.Fatalf("delay after one new failure = %v", d)
	}
}

func TestWindowSlides(t *testing.T) {
	l, clk, _ := newTestLimiter(Options{})

	// Failures older than the window stop counting.
	for i := 0; i < 9; i++ {
		l.Failure(loop, "bob")
	}
	clk.Advance(time.Minute)
	if d := mustCheck(t, l, loop); d != 0 {
		t.Fatalf("delay after window passed = %v, want 0", d)
	}
	l.Failure(loop, "bob")
	if d := mustCheck(t, l, loop); d != 250*time.Millisecond {
		t.Fatalf("old failures still counted: delay %v", d)
	}

	// 5 + 5 within 60 s lock; 5, then 4 at 40 s, then 1 at 65 s do not.
	l2, clk2, _ := newTestLimiter(Options{})
	for i := 0; i < 5; i++ {
		l2.Failure(other, "x")
	}
	clk2.Advance(30 * time.Second)
	for i := 0; i < 5; i++ {
		l2.Failure(other, "x")
	}
	if _, err := l2.Check(other); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("10 failures in 30s: %v, want lockout", err)
	}

	l3, clk3, _ := newTestLimiter(Options{})
	for i := 0; i < 5; i++ {
		l3.Failure(other, "x")
	}
	clk3.Advance(40 * time.Second)
	for i := 0; i < 4; i++ {
		l3.Failure(other, "x")
	}
	clk3.Advance(25 * time.Second)
	l3.Failure(other, "x")
	if d := mustCheck(t, l3, other); d != 4*time.Second { // 5 recent failures
		t.Fatalf("delay = %v, want 4s for 5 recent failures", d)
	}
}

func TestOtherSourcesUnaffected(t *testing.T) {
	l, _, _ := newTestLimiter(Options{Burst: 3})
	for i := 0; i < 3; i++ {
		l.Failure(loop, "alice")
	}
	if _, err := l.Check(loop); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("127.0.0.1 not locked: %v", err)
	}
	for _, ip := range []netip.Addr{loop2, other, netip.MustParseAddr("::1")} {
		if d := mustCheck(t, l, ip); d != 0 {
			t.Errorf("%s: delay %v, want 0", ip, d)
		}
		l.Success(ip)
	}
	if err := l.Wait(context.Background(), other); err != nil {
		t.Fatalf("Wait for an unaffected source: %v", err)
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
	differ := [][2]string{
		{"2001:db8:1:2::1", "2001:db8:1:3::1"},
		{"192.0.2.1", "192.0.2.2"},
		{"127.0.0.1", "127.0.0.2"},
	}
	for _, p := range differ {
		a, b := netip.MustParseAddr(p[0]), netip.MustParseAddr(p[1])
		if Key(a) == Key(b) {
			t.Errorf("%s and %s share source %s", a, b, Key(a))
		}
	}
	if k := Key(netip.Addr{}); k.IsValid() {
		t.Errorf("Key(zero) = %s, want the invalid prefix", k)
	}

	l, _, logs := newTestLimiter(Options{Burst: 4})
	for i := 0; i < 4; i++ {
		l.Failure(netip.MustParseAddr(fmt.Sprintf("2001:db8:1:2::%x", i+1)), "carol")
	}
	if _, err := l.Check(netip.MustParseAddr("2001:db8:1:2:abcd::1")); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("/64 not locked as one source: %v", err)
	}
	if !strings.Contains(logs.Lines()[0], "ip=2001:db8:1:2::/64") {
		t.Fatalf("log line does not name the /64: %q", logs.Lines()[0])
	}
	mustCheck(t, l, netip.MustParseAddr("2001:db8:1:3::1"))

	// The zero Addr is one shared bucket and still works.
	l.Failure(netip.Addr{}, "dave")
	if d := mustCheck(t, l, netip.Addr{}); d != 250*time.Millisecond {
		t.Fatalf("zero addr delay = %v", d)
	}
}

func TestSuccess(t *testing.T) {
	l, _, _ := newTestLimiter(Options{Burst: 5})
	for i := 0; i < 3; i++ {
		l.Failure(loop, "alice")
	}
	l.Success(loop)
	if d := mustCheck(t, l, loop); d != 0 {
		t.Fatalf("delay after success = %v, want 0", d)
	}
	if n := l.Len(); n != 0 {
		t.Fatalf("Len after success = %d, want 0", n)
	}

	// Success does not lift a lockout, but does clear the count.
	for i := 0; i < 5; i++ {
		l.Failure(loop, "alice")
	}
	l.Success(loop)
	if _, err := l.Check(loop); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("Success lifted a lockout: %v", err)
	}
	l.Success(other) // unknown source: nothing happens
}

func TestWait(t *testing.T) {
	l, _, _ := newTestLimiter(Options{Burst: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond})
	if err := l.Wait(context.Background(), loop); err != nil {
		t.Fatalf("Wait with no failures: %v", err)
	}
	l.Failure(loop, "alice")
	if err := l.Wait(context.Background(), loop); err != nil {
		t.Fatalf("Wait with a short delay: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, loop); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with canceled context = %v, want context.Canceled", err)
	}

	l.Failure(loop, "alice")
	l.Failure(loop, "alice")
	if err := l.Wait(context.Background(), loop); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("Wait when locked out = %v, want ErrLockedOut", err)
	}

	// A long delay is cut short by the context.
	l2, _, _ := newTestLimiter(Options{BaseDelay: time.Hour, MaxDelay: time.Hour})
	l2.Failure(other, "bob")
	ctx2, cancel2 := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l2.Wait(ctx2, other) }()
	cancel2()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait interrupted = %v, want context.Canceled", err)
	}
}

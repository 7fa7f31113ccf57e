package authlimit

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// sleepRecorder stands in for time: it records the delays Wait asks for and
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
	return append([]time.Duration(nil), s.delays...)
}

// TestProbesDelayThenLockOut: unknown recipients count like failed logins.
// Each is answered after a growing delay (asked of the injected Sleep), the
// Burst-th locks the source out, and then a password check from it is
// refused too.
func TestProbesDelayThenLockOut(t *testing.T) {
	rec := &sleepRecorder{}
	l, _, logs := newTestLimiter(Options{Sleep: rec.Sleep})
	ctx := context.Background()
	want := []time.Duration{
		250 * time.Millisecond,
		500 * time.Millisecond,
		time.Second,
		2 * time.Second,
		4 * time.Second,
		5 * time.Second,
		5 * time.Second,
		5 * time.Second,
		5 * time.Second,
	}
	for i := range want {
		l.Probe(loop, "guess@example.test")
		if err := l.Wait(ctx, loop); err != nil {
			t.Fatalf("probe %d: Wait = %v", i+1, err)
		}
	}
	got := rec.Delays()
	if len(got) != len(want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays %v, want %v", got, want)
		}
	}
	l.Probe(loop, "guess10@example.test")
	if err := l.Wait(ctx, loop); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("Wait after the 10th probe = %v, want ErrLockedOut", err)
	}
	if n := len(rec.Delays()); n != len(want) {
		t.Fatalf("a locked-out source was made to wait (%d delays)", n)
	}
	if _, err := l.Check(loop); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("password check after probing: %v, want ErrLockedOut", err)
	}
	if _, err := l.Check(other); err != nil {
		t.Fatalf("another source is affected: %v", err)
	}
	lines := logs.Lines()
	if len(lines) != 1 || !strings.Contains(lines[0], `msg="auth lockout"`) || !strings.Contains(lines[0], "rcpt=guess10@example.test") {
		t.Fatalf("lockout log %q", lines)
	}
}

// TestMixedFailuresLockOut: probes and failed logins add up.
func TestMixedFailuresLockOut(t *testing.T) {
	l, _, _ := newTestLimiter(Options{})
	for i := 0; i < 5; i++ {
		l.Probe(loop, "x@example.test")
		l.Failure(loop, "alice")
	}
	if _, err := l.Check(loop); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("5 probes and 5 failed logins: %v, want ErrLockedOut", err)
	}
}

// TestWaitDefaultSleepHonoursContext: without an injected Sleep, Wait
// sleeps for real and gives up when ctx ends.
func TestWaitDefaultSleepHonoursContext(t *testing.T) {
	l := New(Options{BaseDelay: time.Hour, MaxDelay: time.Hour})
	l.Failure(loop, "alice")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, loop); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled context = %v", err)
	}
}

package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestProbesDelayThenLockOut: unknown recipients are guesses too. Each is
// answered after a growing delay, the Probes-th within a minute locks the
// whole source out, and then a password check from it is refused too.
func TestProbesDelayThenLockOut(t *testing.T) {
	l, _, logs := newTestLimiter(LimiterOptions{})
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		4 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		d, err := l.Probe(bg, loop, "guess@example.test")
		if err != nil || d != w {
			t.Fatalf("probe %d: %v %v, want %v", i+1, d, err, w)
		}
	}
	if _, err := l.Probe(bg, loop, "guess10@example.test"); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("10th probe: %v, want ErrLockedOut", err)
	}
	if _, err := l.Probe(bg, loop, "guess11@example.test"); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("probe while locked: %v", err)
	}
	mustLock(t, l, loop, "alice@example.test")
	mustPass(t, l, other, "alice@example.test")
	lines := logs.Lines()
	if len(lines) != 1 || !strings.Contains(lines[0], `msg="auth lockout"`) || !strings.Contains(lines[0], `reason="unknown recipients"`) ||
		!strings.Contains(lines[0], "rcpt=guess10@example.test") {
		t.Fatalf("lockout log %q", lines)
	}
}

// Probes slide out of their one-minute window.
func TestProbeWindow(t *testing.T) {
	l, clk, _ := newTestLimiter(LimiterOptions{})
	for range 9 {
		l.Probe(bg, loop, "x@x")
	}
	clk.Advance(time.Minute)
	if d, err := l.Probe(bg, loop, "x@x"); err != nil || d != 500*time.Millisecond {
		// One probe in the window; nine older ones still count toward
		// the source's failures (9 of 40 scale to 1 of 8).
		t.Fatalf("probe after a minute: %v %v", d, err)
	}
	mustPass(t, l, loop, "alice@x")
}

// TestMixedFailuresLockOut: unknown recipients and failed logins add up
// toward the lock of the whole source.
func TestMixedFailuresLockOut(t *testing.T) {
	l, clk, _ := newTestLimiter(LimiterOptions{})
	for i := range 35 {
		l.Failure(bg, loop, fmt.Sprintf("user%d@x", i%5), false)
		if i%7 == 6 {
			clk.Advance(2 * time.Minute) // keeps the probes below apart
		}
	}
	for range 4 {
		l.Probe(bg, loop, "x@x")
	}
	mustPass(t, l, loop, "someone@x")
	if _, err := l.Probe(bg, loop, "x@x"); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("35 failed logins and 5 probes: %v, want ErrLockedOut", err)
	}
	mustLock(t, l, loop, "someone@x")
}

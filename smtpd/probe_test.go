package smtpd

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"postern/auth"
)

// sleepRecorder stands in for the limiter's sleep: it records the delays
// asked for and returns at once, so that no test waits on the clock.
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

func withRecordedSleep(rec *sleepRecorder) func(*Config) {
	return func(c *Config) {
		c.Auth = newAuth(c, true, auth.LimiterOptions{}, rec.Sleep)
	}
}

// TestRcptProbingDelaysThenCloses: each unknown recipient from a source is
// answered after a growing delay; the tenth locks the source out, which
// ends the connection with 421 4.7.0. From then on the source gets 421 for
// every recipient, known ones too (so that probing learns nothing more),
// and cannot log in either.
func TestRcptProbingDelaysThenCloses(t *testing.T) {
	rec := &sleepRecorder{}
	e := startEnv(t, withRecordedSleep(rec))
	e.addUser(t, "alice@example.test", "pw")

	rc := dialRaw(t, e.mxAddr)
	rc.send("EHLO raw.test\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\n")
	rc.expect("250 ")
	rc.expect("250 ")
	rc.expect("250 ")
	if d := rec.Delays(); len(d) != 0 {
		t.Fatalf("a known recipient from a clean source was delayed: %v", d)
	}
	for i := 1; i <= 9; i++ {
		rc.send(fmt.Sprintf("RCPT TO:<guess%d@example.test>\r\n", i))
		rc.expect("550 5.1.1")
	}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		4 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}
	if got := rec.Delays(); !slices.Equal(got, want) {
		t.Fatalf("delays asked for %v, want %v", got, want)
	}
	rc.send("RCPT TO:<guess10@example.test>\r\n")
	rc.expect("421 4.7.0")
	if !rc.closed() {
		t.Fatal("connection open after the lockout")
	}

	rc = dialRaw(t, e.mxAddr)
	rc.send("EHLO raw.test\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\n")
	rc.expect("250 ")
	rc.expect("250 ")
	rc.expect("421 4.7.0")
	if !rc.closed() {
		t.Fatal("connection of a locked-out source open after its RCPT")
	}
	c := dial(t, e.subAddr)
	wantCode(t, plainLogin(c, "alice@example.test", "pw"), 454, smtp.EnhancedCode{4, 7, 0})
}

// TestRcptUnknownWhenAuthenticated: a logged-in user who mistypes a local
// address is told so at once; it does not count toward the lockout.
func TestRcptUnknownWhenAuthenticated(t *testing.T) {
	rec := &sleepRecorder{}
	e := startEnv(t, withRecordedSleep(rec))
	e.addUser(t, "alice@example.test", "pw")
	c := dial(t, e.subAddr)
	if err := plainLogin(c, "alice@example.test", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("alice@example.test", nil); err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		wantCode(t, c.Rcpt(fmt.Sprintf("typo%d@example.test", i), nil), 550, smtp.EnhancedCode{5, 1, 1})
	}
	if d := rec.Delays(); len(d) != 0 {
		t.Fatalf("authenticated session delayed: %v", d)
	}
	if err := c.Rcpt("alice@example.test", nil); err != nil {
		t.Fatal(err)
	}
}

// TestRcptProbingEndToEnd: a client probing addresses with real (short)
// delays is cut off with 421 before it has learned more than a handful.
func TestRcptProbingEndToEnd(t *testing.T) {
	e := startEnv(t, func(c *Config) {
		c.Logger = slog.New(slog.DiscardHandler)
		c.Auth = newAuth(c, true, auth.LimiterOptions{BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}, nil)
	})
	e.addUser(t, "alice@example.test", "pw")
	c := dial(t, e.mxAddr)
	if err := c.Mail("x@remote.test", nil); err != nil {
		t.Fatal(err)
	}
	unknown := 0
	for i := 0; i < 2000; i++ {
		err := c.Rcpt(fmt.Sprintf("user%d@example.test", i), nil)
		code, _ := smtpCode(err)
		if code == 421 {
			break
		}
		if code != 550 {
			t.Fatalf("probe %d: %v", i, err)
		}
		unknown++
	}
	if unknown != auth.DefaultProbes-1 {
		t.Fatalf("%d unknown recipients answered before the 421, want %d", unknown, auth.DefaultProbes-1)
	}
}

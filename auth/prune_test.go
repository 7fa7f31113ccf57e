package auth

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPruneExpired(t *testing.T) {
	l, clk, _ := newTestLimiter(LimiterOptions{Failures: 2, Lockout: 10 * time.Minute})
	for i := range 50 {
		l.Failure(bg, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), "u", true)
	}
	l.Failure(bg, loop, "u", true)
	l.Failure(bg, loop, "u", true) // locked for 10 minutes
	if n := l.Len(); n != 51 {
		t.Fatalf("Len = %d, want 51", n)
	}
	clk.Advance(10*time.Minute + time.Second)
	mustPass(t, l, other, "u") // any access prunes
	if n := l.Len(); n != 0 {
		t.Fatalf("Len after the window and the lockout = %d, want 0", n)
	}
	l.mu.Lock()
	accounts := len(l.accounts)
	l.mu.Unlock()
	if accounts != 1 {
		t.Fatalf("%d accounts tracked for the slowdown, want 1", accounts)
	}
	clk.Advance(time.Hour)
	mustPass(t, l, other, "u")
	l.mu.Lock()
	accounts = len(l.accounts)
	l.mu.Unlock()
	if accounts != 0 {
		t.Fatalf("%d accounts tracked after the hour", accounts)
	}
}

func TestMaxSourcesBound(t *testing.T) {
	const max = 100
	l, clk, _ := newTestLimiter(LimiterOptions{Failures: 3, MaxSources: max})
	for range 3 {
		l.Failure(bg, loop, "alice", true)
	}
	for i := range 10_000 {
		ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i), 7: 1, 15: 1})
		l.Failure(bg, ip, fmt.Sprintf("spray%d", i), true)
		if n := l.Len(); n > max {
			t.Fatalf("after %d sources: Len = %d > %d", i+1, n, max)
		}
		l.mu.Lock()
		na := len(l.accounts)
		l.mu.Unlock()
		if na > max {
			t.Fatalf("after %d accounts: %d tracked > %d", i+1, na, max)
		}
		clk.Advance(time.Millisecond)
	}
	// Eviction prefers unlocked entries, so the lockout survived the spray.
	mustLock(t, l, loop, "alice")
}

func TestConcurrent(t *testing.T) {
	l, clk, logs := newTestLimiter(LimiterOptions{MaxSources: 500})
	shared := netip.MustParseAddr("198.51.100.7")
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				ip := netip.AddrFrom4([4]byte{10, byte(g), byte(i >> 8), byte(i)})
				l.Check(bg, ip, "u")
				l.Failure(bg, ip, "u", true)
				if i%3 == 0 {
					l.Success(ip, "u")
				}
				l.Failure(bg, shared, fmt.Sprint("u", i%50), false)
				l.Check(bg, shared, "u")
				l.Probe(bg, ip, "rcpt")
				l.Slowdown(ip, "u")
				if i%100 == 0 {
					clk.Advance(time.Second)
				}
				_ = l.Len()
			}
		}()
	}
	wg.Wait()
	if n := l.Len(); n > 500 {
		t.Fatalf("Len = %d > MaxSources", n)
	}
	mustLock(t, l, shared, "u")
	var lockouts int
	for _, line := range logs.Lines() {
		if strings.Contains(line, "remote=198.51.100.7") {
			lockouts++
		}
	}
	// The clock moves at most 80 s, well inside one 15-minute lockout.
	if lockouts != 1 {
		t.Fatalf("shared source logged %d lockouts, want 1", lockouts)
	}
}

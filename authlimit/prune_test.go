package authlimit

import (
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPruneExpired(t *testing.T) {
	l, clk, _ := newTestLimiter(Options{Burst: 2, Lockout: 10 * time.Minute})
	for i := 0; i < 50; i++ {
		l.Failure(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), "u")
	}
	l.Failure(loop, "u")
	l.Failure(loop, "u") // locked for 10 minutes
	if n := l.Len(); n != 51 {
		t.Fatalf("Len = %d, want 51", n)
	}

	clk.Advance(time.Minute)
	mustCheck(t, l, other) // any access prunes
	if n := l.Len(); n != 1 {
		t.Fatalf("Len after window = %d, want 1 (the lockout)", n)
	}
	if _, err := l.Check(loop); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("pruning dropped a live lockout: %v", err)
	}

	clk.Advance(10 * time.Minute)
	mustCheck(t, l, other)
	if n := l.Len(); n != 0 {
		t.Fatalf("Len after lockout ended = %d, want 0", n)
	}
}

func TestMaxSourcesBound(t *testing.T) {
	const max = 100
	l, clk, _ := newTestLimiter(Options{Burst: 3, MaxSources: max})

	// One locked source, then a spray of new sources.
	for i := 0; i < 3; i++ {
		l.Failure(loop, "alice")
	}
	for i := 0; i < 10_000; i++ {
		ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i), 7: 1, 15: 1})
		l.Failure(ip, "spray")
		if n := l.Len(); n > max {
			t.Fatalf("after %d sources: Len = %d > %d", i+1, n, max)
		}
		clk.Advance(time.Millisecond)
	}
	// Eviction prefers unlocked entries, so the lockout survived the spray.
	if _, err := l.Check(loop); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("lockout evicted by a spray: %v", err)
	}
}

func TestConcurrent(t *testing.T) {
	l, clk, logs := newTestLimiter(Options{MaxSources: 500})
	shared := netip.MustParseAddr("198.51.100.7")
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				ip := netip.AddrFrom4([4]byte{10, byte(g), byte(i >> 8), byte(i)})
				l.Check(ip)
				l.Failure(ip, "u")
				if i%3 == 0 {
					l.Success(ip)
				}
				l.Failure(shared, "u")
				l.Check(shared)
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
	if _, err := l.Check(shared); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("shared source not locked: %v", err)
	}
	var lockouts int
	for _, line := range logs.Lines() {
		if strings.Contains(line, "ip=198.51.100.7") {
			lockouts++
		}
	}
	// The clock moves at most 80 s, well inside one 15-minute lockout.
	if lockouts != 1 {
		t.Fatalf("shared source logged %d lockouts, want 1", lockouts)
	}
}

func BenchmarkFailureCheck(b *testing.B) {
	l := New(Options{Logger: slog.New(slog.DiscardHandler)})
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			ip := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
			l.Check(ip)
			l.Failure(ip, "u")
			i++
		}
	})
}

package ratelimit

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &Limiter{Max: 3, Now: func() time.Time { return now }}
	for i := range 3 {
		if d := l.Allow("alice", 1); !d.OK || d.Count != i+1 {
			t.Fatalf("message %d: %+v", i, d)
		}
		now = now.Add(10 * time.Minute)
	}
	// 00:30: the window holds 00:00, 00:10, 00:20; the next slot is at 01:00.
	d := l.Allow("alice", 1)
	if d.OK || d.Count != 3 || d.RetryAfter != 30*time.Minute {
		t.Fatalf("over the limit: %+v", d)
	}
	if d := l.Allow("bob", 1); !d.OK {
		t.Fatal("keys share a count")
	}
	now = now.Add(30 * time.Minute) // 01:00: 00:00 has left the window
	if d := l.Allow("alice", 1); !d.OK || d.Count != 3 {
		t.Fatalf("after the window slid: %+v", d)
	}
	if d := l.Allow("alice", 5); d.OK || d.RetryAfter != time.Hour {
		t.Fatalf("more than Max at once: %+v", d)
	}
	if d := (&Limiter{}).Allow("x", 1000); !d.OK {
		t.Fatal("Max 0 limits")
	}
	// Idle keys are forgotten.
	now = now.Add(3 * time.Hour)
	l.Allow("carol", 1)
	if l.Keys() != 1 {
		t.Fatalf("%d keys kept", l.Keys())
	}
}

func TestLimiterConcurrent(t *testing.T) {
	l := &Limiter{Max: 500}
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := map[string]int{}
	for g := range 8 {
		wg.Go(func() {
			for range 200 {
				key := fmt.Sprint("acct", g%2)
				if l.Allow(key, 1).OK {
					mu.Lock()
					allowed[key]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed["acct0"] != 500 || allowed["acct1"] != 500 {
		t.Fatalf("%v, want 500 each", allowed)
	}
}

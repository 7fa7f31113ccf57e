package greylist

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestGreylist(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := &Greylist{Store: NewMemStore(0), Now: func() time.Time { return now }}
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.10")
	check := func(ip netip.Addr, from, to string) Decision {
		t.Helper()
		d, err := g.Check(ctx, ip, from, to)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	if d := check(ip, "a@example.test", "b@postern.test"); d.Pass || d.RetryAfter != DefaultDelay {
		t.Fatalf("first attempt: %+v", d)
	}
	now = now.Add(time.Minute)
	if d := check(ip, "a@example.test", "b@postern.test"); d.Pass || d.RetryAfter != 4*time.Minute {
		t.Fatalf("early retry: %+v", d)
	}
	// A retry from another address of the same /24, after the delay, passes;
	// the early retry did not restart the clock.
	now = now.Add(4 * time.Minute)
	if d := check(netip.MustParseAddr("192.0.2.200"), "A@Example.TEST", "b@postern.test"); !d.Pass {
		t.Fatalf("retry: %+v", d)
	}
	now = now.Add(30 * 24 * time.Hour)
	if d := check(ip, "a@example.test", "b@postern.test"); !d.Pass {
		t.Fatalf("known triplet: %+v", d)
	}
	// Other triplets are not known.
	for _, tc := range [][3]string{{"192.0.3.10", "a@example.test", "b@postern.test"}, {"192.0.2.10", "", "b@postern.test"}, {"192.0.2.10", "a@example.test", "c@postern.test"}} {
		if d := check(netip.MustParseAddr(tc[0]), tc[1], tc[2]); d.Pass {
			t.Errorf("%v passed", tc)
		}
	}
	// Unused for longer than Expire: greylisted again.
	now = now.Add(DefaultExpire + time.Hour)
	if d := check(ip, "a@example.test", "b@postern.test"); d.Pass {
		t.Fatalf("expired triplet passed")
	}
	// A deferred triplet that never came back within the window starts over.
	now = now.Add(DefaultRetryWindow + time.Hour)
	if d := check(ip, "a@example.test", "b@postern.test"); d.Pass || d.RetryAfter != DefaultDelay {
		t.Fatalf("stale deferral: %+v", d)
	}
	// IPv6 clients are keyed by /64.
	v6a, v6b := netip.MustParseAddr("2001:db8:1:2::1"), netip.MustParseAddr("2001:db8:1:2:ffff::9")
	check(v6a, "x@example.test", "b@postern.test")
	now = now.Add(DefaultDelay)
	if d := check(v6b, "x@example.test", "b@postern.test"); !d.Pass {
		t.Fatalf("same /64: %+v", d)
	}
	if Key(netip.MustParseAddr("::ffff:192.0.2.9"), "", "B@x") != "192.0.2.0/24 <> b@x" {
		t.Fatal(Key(netip.MustParseAddr("::ffff:192.0.2.9"), "", "B@x"))
	}
}

func TestMemStoreBound(t *testing.T) {
	m := NewMemStore(100)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for i := range 250 {
		m.Put(ctx, fmt.Sprint(i), Entry{First: base.Add(time.Duration(i) * time.Second)})
		if m.Len() > 100 {
			t.Fatalf("%d entries", m.Len())
		}
	}
	// The newest entries survive.
	if _, ok, _ := m.Get(ctx, "249"); !ok {
		t.Fatal("newest entry evicted")
	}
	if _, ok, _ := m.Get(ctx, "0"); ok {
		t.Fatal("oldest entry kept")
	}
}

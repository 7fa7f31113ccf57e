package storage

import "testing"

// A subscription that is not drained holds at most MaxQueuedEvents events
// and at most maxQueuedUIDs UIDs in them: events of huge STOREs or
// EXPUNGEs cannot make an idle session hold gigabytes.
func TestSubscriptionQueueIsBoundedInUIDs(t *testing.T) {
	bus := NewBus()
	sub := bus.Subscribe(1)
	defer sub.Close()
	big := make([]uint32, 64<<10)
	flags := make([]FlagSet, len(big))
	n := 0
	for !sub.Lost() {
		if n > maxQueuedUIDs/len(big)+1 {
			t.Fatalf("%d events of %d UIDs queued without loss", n, len(big))
		}
		bus.Publish([]Event{{Kind: EventFlags, AccountID: 1, UIDs: big, Flags: flags}})
		n++
	}
	if p := sub.Pending(); p != 0 {
		t.Errorf("%d events still queued after the loss", p)
	}
	// A single event larger than the bound is still delivered.
	huge := make([]uint32, maxQueuedUIDs+1)
	bus.Publish([]Event{{Kind: EventExpunge, AccountID: 1, UIDs: huge}})
	if sub.Lost() || sub.Pending() != 1 {
		t.Errorf("one huge event: lost %v, pending %d", sub.Lost(), sub.Pending())
	}
}

func TestSubscriptionQueueIsBounded(t *testing.T) {
	bus := NewBus()
	sub := bus.Subscribe(1)
	defer sub.Close()
	for i := 0; i < MaxQueuedEvents; i++ {
		bus.Publish([]Event{{Kind: EventFlags, AccountID: 1}})
	}
	if sub.Lost() || sub.Pending() != MaxQueuedEvents {
		t.Fatalf("lost early: pending %d", sub.Pending())
	}
	bus.Publish([]Event{{Kind: EventFlags, AccountID: 1}})
	if !sub.Lost() || sub.Pending() != 0 {
		t.Errorf("overflow: lost=false or pending %d", sub.Pending())
	}
	if sub.Lost() {
		t.Error("Lost reported twice")
	}
	bus.Publish([]Event{{Kind: EventAppend, AccountID: 1}})
	if ev := sub.Drain(); len(ev) != 1 {
		t.Errorf("after overflow: %d events", len(ev))
	}
}

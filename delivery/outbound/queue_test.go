package outbound

import (
	"context"
	"net"
	"testing"

	"postern/delivery"
	"postern/storage"
)

func TestQueueSeam(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	r := New(e.options(mx.port))
	startRunner(t, r)
	q := &Queue{Runner: r}
	ctx := context.Background()
	if err := q.Accept(ctx, "alice@example.test", delivery.Recipient{Address: "bob@remote.test"}); err != nil {
		t.Errorf("Accept: %v", err)
	}
	for _, bad := range []string{"bob", "@remote.test", "bob@"} {
		if q.Accept(ctx, "alice@example.test", delivery.Recipient{Address: bad}) == nil {
			t.Errorf("Accept(%q) succeeded", bad)
		}
	}
	msg := &delivery.Outbound{ID: "seam1", From: "alice@example.test", Body: testMessage("seam"), EnvelopeID: "E1", Return: "HDRS",
		Recipients: []delivery.Recipient{{Address: "bob@remote.test", Notify: []string{"FAILURE"}, ORCPT: "rfc822;bob@remote.test"}}}
	it := msg.QueueItem()
	if it.MsgID != "seam1" || it.EnvelopeID != "E1" || it.Recipients[0].ORCPT != "rfc822;bob@remote.test" {
		t.Errorf("QueueItem: %+v", it)
	}
	if _, err := e.st.Accept(ctx, nil, []storage.QueueItem{it}); err != nil {
		t.Fatal(err)
	}
	// The store stamps the entry with the real time, which a busy machine may
	// have moved well past the test clock: bring the runner's clock up to it.
	l, err := e.st.QueueList(ctx)
	if err != nil || len(l) != 1 {
		t.Fatalf("queue %+v, %v", l, err)
	}
	if d := l[0].NextAttempt.Sub(e.clock.Now()); d > 0 {
		e.clock.Add(d)
	}
	q.Queued()
	eventually(t, "delivery through the seam", func() bool { return len(mx.messages()) == 1 && queueLen(t, e.st) == 0 })
	if got := mx.messages()[0]; got.from != "alice@example.test" || got.rcpts[0] != "bob@remote.test" {
		t.Errorf("envelope %+v", got)
	}
}

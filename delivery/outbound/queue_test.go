package outbound

import (
	"context"
	"net"
	"testing"
	"time"

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
	// The store stamps the entry with the real time; move the runner's clock past it.
	e.clock.Add(time.Second)
	q.Queued()
	eventually(t, "delivery through the seam", func() bool { return len(mx.messages()) == 1 && queueLen(t, e.st) == 0 })
	if got := mx.messages()[0]; got.from != "alice@example.test" || got.rcpts[0] != "bob@remote.test" {
		t.Errorf("envelope %+v", got)
	}
}

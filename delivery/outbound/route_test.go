package outbound

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/foxcpp/go-mockdns"

	"postern/storage"
)

// twoMX starts fake exchangers on 127.0.0.1 and 127.0.0.2 with the same port,
// since the runner's MX port is one for all hosts.
func twoMX(t *testing.T) (a, b *fakeMX) {
	t.Helper()
	for i := 0; i < 20; i++ {
		a = startMX(t, "127.0.0.1", 0, nil)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.2", strconv.Itoa(a.port)))
		if err != nil {
			a.srv.Close()
			continue
		}
		ln.Close()
		return a, startMX(t, "127.0.0.2", a.port, nil)
	}
	t.Fatal("no port free on both 127.0.0.1 and 127.0.0.2")
	return nil, nil
}

func TestMXPreferenceAndFallback(t *testing.T) {
	a, b := twoMX(t)
	zones := map[string]mockdns.Zone{
		// pref.test: the lower preference value wins (b on 127.0.0.2).
		"pref.test.":      {MX: []net.MX{{Host: "low.pref.test.", Pref: 20}, {Host: "high.pref.test.", Pref: 10}}},
		"low.pref.test.":  {A: []string{"127.0.0.1"}},
		"high.pref.test.": {A: []string{"127.0.0.2"}},
		// down.test: the preferred host refuses connections; the next one takes it.
		"down.test.":      {MX: []net.MX{{Host: "dead.down.test.", Pref: 5}, {Host: "live.down.test.", Pref: 50}}},
		"dead.down.test.": {A: []string{"127.0.0.3"}},
		"live.down.test.": {A: []string{"127.0.0.1"}},
		// implicit.test: no MX, so its address record is the mail host (RFC 5321 §5.1).
		"implicit.test.": {A: []string{"127.0.0.2"}},
	}
	e := newEnv(t, zones)
	r := New(e.options(a.port))
	startRunner(t, r)
	e.enqueue(t, "alice@example.test", testMessage("pref"), "u@pref.test")
	e.enqueue(t, "alice@example.test", testMessage("down"), "u@down.test")
	e.enqueue(t, "alice@example.test", testMessage("implicit"), "u@implicit.test")
	r.Kick()
	eventually(t, "three deliveries", func() bool { return queueLen(t, e.st) == 0 })
	where := map[string]string{}
	for _, m := range a.messages() {
		where[m.rcpts[0]] = "127.0.0.1"
	}
	for _, m := range b.messages() {
		where[m.rcpts[0]] = "127.0.0.2"
	}
	want := map[string]string{"u@pref.test": "127.0.0.2", "u@down.test": "127.0.0.1", "u@implicit.test": "127.0.0.2"}
	for rcpt, ip := range want {
		if where[rcpt] != ip {
			t.Errorf("%s delivered to %q, want %s", rcpt, where[rcpt], ip)
		}
	}
	if n := len(inboxMessages(t, e.st, e.alice.ID)); n != 0 {
		t.Errorf("%d bounces", n)
	}
}

func TestNullMXAndMissingDomainBounceAtOnce(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	zones := map[string]mockdns.Zone{
		"nomail.test.": {MX: []net.MX{{Host: ".", Pref: 0}}, A: []string{"127.0.0.1"}},
	}
	e := newEnv(t, zones)
	r := New(e.options(mx.port))
	startRunner(t, r)
	e.enqueue(t, "alice@example.test", testMessage("nullmx"), "u@nomail.test")
	e.enqueue(t, "alice@example.test", testMessage("nxdomain"), "u@no-such-domain.test")
	r.Kick()
	eventually(t, "two bounces", func() bool { return len(inboxMessages(t, e.st, e.alice.ID)) == 2 && queueLen(t, e.st) == 0 })
	all := string(inboxMessages(t, e.st, e.alice.ID)[0]) + string(inboxMessages(t, e.st, e.alice.ID)[1])
	for _, want := range []string{"Status: 5.1.10", "null MX", "Status: 5.1.2", "u@no-such-domain.test"} {
		if !strings.Contains(all, want) {
			t.Errorf("bounces lack %q", want)
		}
	}
	if len(mx.messages()) != 0 {
		t.Error("a null-MX domain got mail")
	}
}

func TestQueueSurvivesReopen(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	var refuse atomic.Bool
	refuse.Store(true)
	mx.rcpt = func(string) error {
		if refuse.Load() {
			return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "system busy"}
		}
		return nil
	}
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	r := New(e.options(mx.port))
	r.Start()
	e.enqueue(t, "alice@example.test", testMessage("persist"), "bob@remote.test")
	r.Kick()
	eventually(t, "first attempt", func() bool {
		l, _ := e.st.QueueList(context.Background())
		return len(l) == 1 && l[0].LastError != ""
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	e.st.Close()

	refuse.Store(false)
	e.st = openStore(t, e.dir)
	t.Cleanup(func() { e.st.Close() })
	l, err := e.st.QueueList(context.Background())
	if err != nil || len(l) != 1 || l[0].Attempts != 1 || !strings.Contains(l[0].LastError, "421") {
		t.Fatalf("after reopen: %+v %v", l, err)
	}
	e.clock.Add(2 * time.Minute)
	r2 := New(e.options(mx.port))
	startRunner(t, r2)
	eventually(t, "delivery after reopen", func() bool { return queueLen(t, e.st) == 0 })
	if n := len(mx.messages()); n != 1 {
		t.Errorf("%d copies delivered, want 1", n)
	}
}

func TestMaxQueueAgeGivesUp(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.rcpt = func(string) error {
		return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "mailbox busy"}
	}
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	opts := e.options(mx.port)
	opts.MaxQueueAge = time.Hour
	r := New(opts)
	startRunner(t, r)
	if err := e.st.Enqueue(context.Background(), storage.QueueItem{From: "alice@example.test", Body: testMessage("old"), NextAttempt: e.clock.Now(),
		Recipients: []storage.QueueRecipient{{Address: "bob@remote.test", Notify: []string{"DELAY", "FAILURE"}}}}); err != nil {
		t.Fatal(err)
	}
	r.Kick()
	// First failure: a "delayed" notice, since NOTIFY asked for it.
	eventually(t, "delay notice", func() bool { return len(inboxMessages(t, e.st, e.alice.ID)) == 1 })
	if d := string(inboxMessages(t, e.st, e.alice.ID)[0]); !strings.Contains(d, "Action: delayed") || !strings.Contains(d, "Status: 4.2.0") ||
		!strings.Contains(d, "Will-Retry-Until:") {
		t.Errorf("delay notice:\n%s", d)
	}
	e.clock.Add(2 * time.Hour)
	r.Kick()
	eventually(t, "expiry", func() bool { return queueLen(t, e.st) == 0 })
	msgs := inboxMessages(t, e.st, e.alice.ID)
	if len(msgs) != 2 {
		t.Fatalf("%d notices, want delayed then failed", len(msgs))
	}
	if d := string(msgs[1]); !strings.Contains(d, "Action: failed") || !strings.Contains(d, "Status: 4.4.7") {
		t.Errorf("expiry notice:\n%s", d)
	}
}

func TestDropBounces(t *testing.T) {
	e := newEnv(t, nil)
	r := New(e.options(1))
	e.enqueue(t, "alice@example.test", testMessage("drop1"), "a@remote.test")
	e.enqueue(t, "alice@example.test", testMessage("drop2"), "b@other.test")
	l, _ := e.st.QueueList(context.Background())
	if err := r.Drop(context.Background(), l[0].ID, false); err != nil {
		t.Fatal(err)
	}
	if err := r.Drop(context.Background(), l[1].ID, true); err != nil {
		t.Fatal(err)
	}
	if queueLen(t, e.st) != 0 {
		t.Error("entries left after drop")
	}
	msgs := inboxMessages(t, e.st, e.alice.ID)
	if len(msgs) != 1 || !strings.Contains(string(msgs[0]), "removed from the queue by the administrator") ||
		!strings.Contains(string(msgs[0]), "a@remote.test") {
		t.Errorf("drop notices: %q", msgs)
	}
	if err := r.Drop(context.Background(), 12345, false); err == nil {
		t.Error("dropping a missing entry succeeded")
	}
}

// With verification on and a certificate nobody vouches for, the handshake
// fails; opportunistic TLS then delivers in plaintext rather than not at all.
func TestFailedHandshakeFallsBackToPlaintext(t *testing.T) {
	tlsCfg, _ := selfSigned(t, "mx.remote.test")
	mx := startMX(t, "127.0.0.1", 0, tlsCfg)
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	o := e.options(mx.port)
	o.VerifyMXTLS = true
	r := New(o)
	startRunner(t, r)
	e.enqueue(t, "alice@example.test", testMessage("fallback"), "bob@remote.test")
	r.Kick()
	eventually(t, "plaintext delivery", func() bool { return len(mx.messages()) == 1 && queueLen(t, e.st) == 0 })
	if m := mx.messages()[0]; m.tls || m.helo != hostname {
		t.Errorf("tls=%v helo=%q, want a plaintext session after the failed handshake", m.tls, m.helo)
	}
}

package inbound

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/internal/testkit/dkimtest"
	"postern/internal/testkit/fakedns"
	"postern/resolver"
	"postern/spam/bayes"
	"postern/spam/greylist"
	"postern/spam/reputation"
)

// Addresses of the test world.
const (
	ourIP     = "192.0.2.25"    // our own outbound server, in postern.test's SPF
	senderIP  = "198.51.100.10" // example.test's server: SPF, PTR, all good
	strangeIP = "203.0.113.5"   // no PTR, in nobody's SPF
	listedIP  = "203.0.113.66"  // no PTR, on both block lists
)

// world is a DNS with a few domains and a Checker over it.
type world struct {
	t    testing.TB
	dns  *fakedns.Server
	r    *resolver.Resolver
	keys map[string]dkimtest.Key // by domain, selector "sel"

	bayes *bayes.MemStore
	rep   *reputation.MemStore
	grey  *greylist.MemStore

	mu  sync.Mutex
	now time.Time
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{t: t, dns: fakedns.Start(t), keys: map[string]dkimtest.Key{},
		bayes: bayes.NewMemStore(), rep: reputation.NewMemStore(), grey: greylist.NewMemStore(0),
		now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	var err error
	w.r, err = resolver.New(resolver.Config{Servers: []string{w.dns.Addr}, Timeout: 2 * time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := w.dns
	d.AddTXT("postern.test", 300, "v=spf1 ip4:"+ourIP+" -all")
	d.AddTXT("example.test", 300, "v=spf1 ip4:"+senderIP+" -all")
	d.AddTXT("_dmarc.example.test", 300, "v=DMARC1; p=reject; rua=mailto:dmarc@example.test")
	d.AddTXT("quarantine.test", 300, "v=spf1 ip4:"+senderIP+" -all")
	d.AddTXT("_dmarc.quarantine.test", 300, "v=DMARC1; p=quarantine")
	d.AddTXT("sampled.test", 300, "v=spf1 -all")
	d.AddTXT("_dmarc.sampled.test", 300, "v=DMARC1; p=reject; pct=0")
	d.AddTXT("nodmarc.test", 300, "v=spf1 ip4:"+senderIP+" -all")
	d.AddTXT("_dmarc.flaky.test", 300, "v=DMARC1; p=reject")
	d.Fail("_dmarc.flaky.test", 2) // SERVFAIL
	d.AddTXT("slow.test", 300, "v=spf1 -all")
	d.Delay("slow.test", time.Minute)
	d.Add(
		"10.100.51.198.in-addr.arpa. 300 IN PTR mail.example.test.",
		"mail.example.test. 300 IN A "+senderIP,
		"25.2.0.192.in-addr.arpa. 300 IN PTR mx.postern.test.",
		"mx.postern.test. 300 IN A "+ourIP,
		"66.113.0.203.bl.test. 300 IN A 127.0.0.2",
		"66.113.0.203.bl2.test. 300 IN A 127.0.0.2",
	)
	for _, dom := range []string{"example.test", "postern.test", "quarantine.test", "nodmarc.test", "sampled.test"} {
		k := dkimtest.Ed25519(t)
		w.keys[dom] = k
		d.AddTXT("sel._domainkey."+dom, 300, k.Record())
	}
	return w
}

func (w *world) clock() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now }
func (w *world) advance(d time.Duration) {
	w.mu.Lock()
	w.now = w.now.Add(d)
	w.mu.Unlock()
}

func (w *world) options() Options {
	o := DefaultOptions()
	o.Hostname = "mx.postern.test"
	o.Domains = []string{"postern.test", "other.postern.test"}
	o.DNSBL = []string{"bl.test", "bl2.test"}
	return o
}

func (w *world) checker(o Options, deps ...func(*Deps)) *Checker {
	w.t.Helper()
	d := Deps{Resolver: w.r, Bayes: w.bayes, Reputation: w.rep, Greylist: w.grey, Now: w.clock}
	for _, f := range deps {
		f(&d)
	}
	c, err := New(o, d)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// message makes a message; signers are domains whose key signs it.
func (w *world) message(header, body string, signers ...string) []byte {
	msg := []byte(header + "To: bob@postern.test\r\nSubject: hello\r\nDate: Sun, 1 Mar 2026 12:00:00 +0000\r\nMessage-ID: <1@x.test>\r\n\r\n" + body)
	for _, d := range signers {
		msg = dkimtest.Sign(w.t, msg, d, "sel", w.keys[d], nil)
	}
	return msg
}

func env(ip, helo, from string) Envelope {
	return Envelope{IP: netip.MustParseAddr(ip), HELO: helo, MailFrom: from, QueueID: "Q1"}
}

var bob = []Recipient{{Address: "bob@postern.test", Account: "bob@postern.test"}}

func (w *world) check(c *Checker, e Envelope, rcpts []Recipient, msg []byte) *Verdict {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Check(ctx, e, rcpts, MessageFromBytes(msg))
}

// describe prints a verdict for failure messages.
func describe(v *Verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %v score %.1f\n%s", v.Action, v.Reply, v.Score, v.AuthResults)
	for _, ch := range v.Checks {
		fmt.Fprintf(&b, "  %s=%s %+.1f %s %s\n", ch.Name, ch.Result, ch.Score, ch.Recipient, ch.Detail)
	}
	for _, r := range v.Recipients {
		fmt.Fprintf(&b, "  %s: %.1f junk=%v\n%s", r.Address, r.Score, r.Junk, r.SpamFields)
	}
	return b.String()
}

func wantAction(t *testing.T, v *Verdict, action Action, code int, status string) {
	t.Helper()
	if v.Action != action || (action != Accept && (v.Reply.Code != code || v.Reply.Status != status)) {
		t.Fatalf("want %s %d %s, got\n%s", action, code, status, describe(v))
	}
}

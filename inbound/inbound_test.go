package inbound

import (
	"context"
	"strings"
	"testing"
	"time"

	msgauthres "github.com/emersion/go-msgauth/authres"

	"postern/mimeinfo"
)

func TestLegitimateMail(t *testing.T) {
	w := newWorld(t)
	c := w.checker(w.options())
	msg := w.message("From: Alice <alice@example.test>\r\n", "Hello Bob\r\n", "example.test")
	// Forged results in our name and forged spam fields arrive with it.
	forged := append([]byte("Authentication-Results: mx.postern.test; spf=pass smtp.mailfrom=x@y\r\nX-Spam-Status: No, score=-100\r\nAuthentication-Results: relay.example.test; dkim=pass\r\n"), msg...)

	v := w.check(c, env(senderIP, "mail.example.test", "alice@example.test"), bob, forged)
	wantAction(t, v, Accept, 0, "")
	for _, want := range []string{"iprev=pass policy.iprev=" + senderIP, "spf=pass smtp.mailfrom=alice@example.test",
		"dkim=pass header.d=example.test header.s=sel", "dmarc=pass header.from=example.test"} {
		if !strings.Contains(v.AuthResults, want) {
			t.Errorf("Authentication-Results lacks %q:\n%s", want, v.AuthResults)
		}
	}
	id, results, err := msgauthres.Parse(strings.TrimSpace(mimeinfo.FieldValue([]byte(v.AuthResults))))
	if err != nil || id != "mx.postern.test" || len(results) != 4 {
		t.Fatalf("Authentication-Results does not parse: %q %d %v", id, len(results), err)
	}
	r := v.Recipients[0]
	if r.Junk || r.Score != 0 || !strings.HasPrefix(r.SpamFields, "X-Spam-Score: 0.0\r\nX-Spam-Status: No, score=0.0 required=6.0\r\n") {
		t.Fatalf("recipient %+v", r)
	}
	h := string(v.Header(0, forged[:mimeinfo.HeaderLen(forged)]))
	if strings.Count(h, "Authentication-Results: mx.postern.test") != 1 || strings.Contains(h, "score=-100") ||
		!strings.Contains(h, "Authentication-Results: relay.example.test") || !strings.HasPrefix(h, v.AuthResults+r.SpamFields) {
		t.Fatalf("header to store:\n%s", h)
	}
}

func TestSubmissionIsNotChecked(t *testing.T) {
	w := newWorld(t)
	c := w.checker(w.options())
	e := env(strangeIP, "laptop", "bob@postern.test")
	e.User = "bob@postern.test"
	msg := w.message("From: bob@postern.test\r\n", "hi\r\n")
	v := w.check(c, e, []Recipient{{Address: "carol@remote.test"}}, msg)
	wantAction(t, v, Accept, 0, "")
	hdr := msg[:mimeinfo.HeaderLen(msg)]
	if v.AuthResults != "" || v.Fields(0) != "" || len(v.Checks) != 0 || string(v.Header(0, hdr)) != string(hdr) {
		t.Fatalf("submission got checks:\n%s", describe(v))
	}
}

func TestDMARC(t *testing.T) {
	w := newWorld(t)
	c := w.checker(w.options())
	unsigned := w.message("From: alice@example.test\r\n", "x\r\n")

	v := w.check(c, env(strangeIP, "mail.strange.test", "alice@example.test"), bob, unsigned)
	wantAction(t, v, Reject, 550, "5.7.1")
	if !strings.Contains(v.Reply.Text, "DMARC policy of example.test") {
		t.Fatal(v.Reply)
	}
	// Signed by the author's domain, relayed through anyone: DKIM aligns.
	signed := w.message("From: alice@example.test\r\n", "x\r\n", "example.test")
	v = w.check(c, env(strangeIP, "mail.strange.test", "list-bounces@lists.test"), bob, signed)
	wantAction(t, v, Accept, 0, "")
	// Signed by another domain only: not aligned.
	other := w.message("From: alice@example.test\r\n", "x\r\n", "nodmarc.test")
	wantAction(t, w.check(c, env(strangeIP, "mail.strange.test", "x@nodmarc.test"), bob, other), Reject, 550, "5.7.1")

	v = w.check(c, env(strangeIP, "mail.strange.test", "a@quarantine.test"), bob, w.message("From: a@quarantine.test\r\n", "x\r\n"))
	wantAction(t, v, Accept, 0, "")
	if !v.Recipients[0].Junk || !strings.Contains(v.AuthResults, `dmarc=fail reason="p=quarantine, disposition quarantine"`) {
		t.Fatalf("quarantine:\n%s", describe(v))
	}
	// pct=0: a p=reject failure is treated as quarantine (RFC 7489 §6.6.4).
	v = w.check(c, env(strangeIP, "mail.strange.test", "a@sampled.test"), bob, w.message("From: a@sampled.test\r\n", "x\r\n"))
	if v.Action != Accept || !v.Recipients[0].Junk {
		t.Fatalf("pct=0:\n%s", describe(v))
	}

	// Not enforced: the failure scores instead.
	o := w.options()
	o.DMARCEnforce = false
	v = w.check(w.checker(o), env(strangeIP, "mail.strange.test", "alice@example.test"), bob, unsigned)
	wantAction(t, v, Accept, 0, "")
	// DMARC 3 + SPF fail 1.5 + no PTR 1.5 = 6: junk.
	if v.Recipients[0].Score != 6 || !v.Recipients[0].Junk || !strings.Contains(v.Recipients[0].SpamFields, "DMARC_FAIL") {
		t.Fatalf("not enforced:\n%s", describe(v))
	}
}

func TestAuthorFields(t *testing.T) {
	w := newWorld(t)
	c := w.checker(w.options())
	e := env(senderIP, "mail.example.test", "alice@example.test")

	two := w.message("From: alice@example.test\r\nFrom: ceo@bank.test\r\n", "x\r\n", "example.test")
	v := w.check(c, e, bob, two)
	wantAction(t, v, Reject, 550, "5.7.1")
	if !strings.Contains(v.Reply.Text, "more than one From") {
		t.Fatal(v.Reply)
	}
	for _, from := range []string{"", "From: undisclosed-recipients:;\r\n", "From: alice\r\n", "From: alice@[198.51.100.10]\r\n"} {
		v := w.check(c, e, bob, w.message(from, "x\r\n", "example.test"))
		wantAction(t, v, Reject, 550, "5.7.1")
		if !strings.Contains(v.Reply.Text, "no From") {
			t.Fatalf("%q: %v", from, v.Reply)
		}
	}
	// Several authors in one field: each domain is evaluated and the
	// strictest outcome applies (RFC 7489 §6.6.1).
	both := w.message("From: alice@example.test, a@quarantine.test\r\n", "x\r\n", "example.test")
	v = w.check(c, e, bob, both)
	if v.Action != Accept || len(v.DMARC) != 2 || !v.Recipients[0].Junk {
		t.Fatalf("two authors:\n%s", describe(v))
	}
	same := w.message("From: alice@example.test, Bob <bob@EXAMPLE.test>\r\n", "x\r\n", "example.test")
	if v := w.check(c, e, bob, same); v.Action != Accept || len(v.DMARC) != 1 || v.Recipients[0].Junk {
		t.Fatalf("two authors of one domain:\n%s", describe(v))
	}
}

func TestOwnDomains(t *testing.T) {
	w := newWorld(t)
	c := w.checker(w.options())
	// postern.test publishes no DMARC record: the rule holds anyway.
	spoof := w.message("From: ceo@postern.test\r\n", "wire the money\r\n")
	v := w.check(c, env(strangeIP, "mail.strange.test", "ceo@postern.test"), bob, spoof)
	wantAction(t, v, Reject, 550, "5.7.1")
	if !strings.Contains(v.Reply.Text, "postern.test") {
		t.Fatal(v.Reply)
	}
	// From an outside envelope, our domain in From only.
	wantAction(t, w.check(c, env(senderIP, "mail.example.test", "alice@example.test"), bob, spoof), Reject, 550, "5.7.1")
	// Our domain in MAIL FROM only.
	wantAction(t, w.check(c, env(strangeIP, "mail.strange.test", "bounce@postern.test"), bob,
		w.message("From: alice@nodmarc.test\r\n", "x\r\n")), Reject, 550, "5.7.1")
	// A served subdomain counts as ours too.
	wantAction(t, w.check(c, env(strangeIP, "mail.strange.test", "x@nodmarc.test"), bob,
		w.message("From: x@OTHER.postern.test\r\n", "x\r\n")), Reject, 550, "5.7.1")

	// Through our own server (SPF), or with our signature (DKIM): fine.
	v = w.check(c, env(ourIP, "mx.postern.test", "ceo@postern.test"), bob, spoof)
	wantAction(t, v, Accept, 0, "")
	signed := w.message("From: ceo@postern.test\r\n", "x\r\n", "postern.test")
	wantAction(t, w.check(c, env(strangeIP, "mail.strange.test", "list-bounces@lists.test"), bob, signed), Accept, 0, "")
}

func TestDNSFailures(t *testing.T) {
	w := newWorld(t)
	c := w.checker(w.options())
	// The DMARC record cannot be fetched: ask again later.
	v := w.check(c, env(senderIP, "mail.example.test", "a@nodmarc.test"), bob, w.message("From: a@flaky.test\r\n", "x\r\n"))
	wantAction(t, v, TempFail, 451, "4.7.0")

	// Our domain's SPF cannot be evaluated in time: ask again later, and
	// within the deadline.
	w.dns.Fail("postern.test", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v = c.Check(ctx, env(ourIP, "mx.postern.test", "ceo@postern.test"), bob, MessageFromBytes(w.message("From: ceo@postern.test\r\n", "x\r\n")))
	wantAction(t, v, TempFail, 451, "4.7.0")
	if v.SPF.Result != "temperror" {
		t.Fatalf("%+v", v.SPF)
	}

	// A slow DNS ends with the transaction's deadline: 451, not a hang.
	ctx, cancel = context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	v = c.Check(ctx, env(senderIP, "mail.example.test", "x@slow.test"), bob, MessageFromBytes(w.message("From: x@slow.test\r\n", "x\r\n")))
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("checks took %v past a 500 ms deadline", d)
	}
	wantAction(t, v, TempFail, 451, "4.7.0")

	// When the slow answer cannot change the outcome (SPF of a domain
	// without DMARC, no claim to our domains), mail flows with
	// spf=temperror.
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	tx := c.Begin(short, env(senderIP, "mail.example.test", "x@slow.test"))
	v = tx.Check(context.Background(), bob, MessageFromBytes(w.message("From: a@nodmarc.test\r\n", "x\r\n", "nodmarc.test")))
	wantAction(t, v, Accept, 0, "")
	if v.SPF.Result != "temperror" || !strings.Contains(v.AuthResults, "spf=temperror") {
		t.Fatalf("slow SPF:\n%s", describe(v))
	}
}

func TestHELOIdentityForBounces(t *testing.T) {
	w := newWorld(t)
	w.dns.AddTXT("mail.example.test", 300, "v=spf1 ip4:"+senderIP+" -all")
	c := w.checker(w.options())
	v := w.check(c, env(senderIP, "mail.example.test", ""), bob, w.message("From: MAILER-DAEMON@mail.example.test\r\n", "bounce\r\n", "example.test"))
	wantAction(t, v, Accept, 0, "")
	if !strings.Contains(v.AuthResults, "spf=pass smtp.helo=mail.example.test") {
		t.Fatal(v.AuthResults)
	}
}

func TestBeginOverlapsData(t *testing.T) {
	w := newWorld(t)
	w.dns.Delay("example.test", 300*time.Millisecond)
	c := w.checker(w.options())
	ctx := context.Background()
	tx := c.Begin(ctx, env(senderIP, "mail.example.test", "alice@example.test"))
	// SPF runs while "DATA" is received.
	deadline := time.Now().Add(20 * time.Second)
	for w.dns.Queries("example.test", 16) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("SPF did not start at Begin")
		}
		time.Sleep(10 * time.Millisecond)
	}
	v := tx.Check(ctx, bob, MessageFromBytes(w.message("From: alice@example.test\r\n", "x\r\n", "example.test")))
	wantAction(t, v, Accept, 0, "")
	if v.SPF.Result != "pass" {
		t.Fatal(v.SPF)
	}
}

func TestOptions(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		edit func(*Options)
		want string
	}{
		{func(o *Options) { o.Hostname = "" }, "hostname"},
		{func(o *Options) { o.JunkScore = 20 }, "junk_score"},
		{func(o *Options) { o.JunkScore = 0 }, "junk_score"},
		{func(o *Options) { o.Domains = []string{"[192.0.2.1]"} }, "domains"},
		{func(o *Options) { o.DNSBL = []string{"nodot"} }, "dnsbl"},
		{func(o *Options) { o.RspamdURL = "localhost:11333" }, "rspamd_url"},
	} {
		o := w.options()
		tc.edit(&o)
		if _, err := New(o, Deps{Resolver: w.r}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.want, err)
		}
	}
	o := w.options()
	o.Greylist = true
	if _, err := New(o, Deps{Resolver: w.r}); err == nil || !strings.Contains(err.Error(), "greylist") {
		t.Errorf("greylist without store: %v", err)
	}
	if d := DefaultOptions(); !d.DMARCEnforce || d.JunkScore != 6 || d.RejectScore != 15 || d.Greylist || d.RspamdURL != "" || d.DNSBL != nil {
		t.Errorf("defaults %+v", d)
	}
}

package inbound

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"postern/internal/testkit/rspamdtest"
	"postern/spam/rspamd"
)

func TestCheapChecks(t *testing.T) {
	w := newWorld(t)
	c := w.checker(w.options())
	v := w.check(c, env(listedIP, listedIP, "x@nodmarc.test"), bob, w.message("From: x@nodmarc.test\r\n", "x\r\n", "nodmarc.test"))
	wantAction(t, v, Accept, 0, "")
	// Two lists 8 + no PTR 1.5 + bare-IP HELO 1.5 + SPF fail 1.5 = 12.5.
	r := v.Recipients[0]
	if r.Score != 12.5 || !r.Junk {
		t.Fatalf("%s", describe(v))
	}
	for _, sym := range []string{"DNSBL_BL_TEST", "DNSBL_BL2_TEST", "RDNS_NONE", "HELO_BARE_IP", "SPF_FAIL"} {
		if !strings.Contains(r.SpamFields, sym) {
			t.Errorf("X-Spam-Status lacks %s:\n%s", sym, r.SpamFields)
		}
	}
	if !strings.HasPrefix(r.SpamFields, "X-Spam-Score: 12.5\r\nX-Spam-Status: Yes, score=12.5 required=6.0\r\n\ttests=") {
		t.Fatalf("%q", r.SpamFields)
	}
	// Forging our own name in EHLO.
	v = w.check(c, env(senderIP, "mx.postern.test", "alice@example.test"), bob, w.message("From: alice@example.test\r\n", "x\r\n", "example.test"))
	if v.Recipients[0].Score != 4 || !strings.Contains(v.Recipients[0].SpamFields, "HELO_OURS") {
		t.Fatalf("%s", describe(v))
	}
}

func TestClassifierAndReputation(t *testing.T) {
	w := newWorld(t)
	c := w.checker(w.options())
	ctx := context.Background()
	// bob trains: offers are spam, project mail is ham.
	for i := range 25 {
		w.learn(t, "bob@postern.test", fmt.Sprintf("Subject: cheap pills %d\r\n\r\nbuy cheap pills casino bonus offer now %d\r\n", i, i), true)
		w.learn(t, "bob@postern.test", fmt.Sprintf("Subject: project %d\r\n\r\nthe agenda for the project meeting review %d\r\n", i, i), false)
	}
	carol := Recipient{Address: "carol@postern.test", Account: "carol@postern.test"}
	spam := w.message("From: deals@nodmarc.test\r\n", "buy cheap pills, casino bonus offer\r\n", "nodmarc.test")
	v := w.check(c, env(senderIP, "mail.example.test", "deals@nodmarc.test"), []Recipient{bob[0], carol}, spam)
	wantAction(t, v, Accept, 0, "")
	if v.Recipients[0].Score < 4 || !strings.Contains(v.Recipients[0].SpamFields, "BAYES_SPAM") {
		t.Fatalf("bob's classifier:\n%s", describe(v))
	}
	if v.Recipients[1].Score != 0 || strings.Contains(v.Recipients[1].SpamFields, "BAYES") {
		t.Fatalf("carol has not trained:\n%s", describe(v))
	}
	ham := w.message("From: colleague@nodmarc.test\r\n", "the agenda for the project meeting\r\n", "nodmarc.test")
	v = w.check(c, env(senderIP, "mail.example.test", "colleague@nodmarc.test"), bob, ham)
	if v.Recipients[0].Score > -2 || !strings.Contains(v.Recipients[0].SpamFields, "BAYES_HAM") {
		t.Fatalf("ham:\n%s", describe(v))
	}

	// bob wrote to alice: her authenticated mail scores lower.
	w.rep.Add(ctx, "bob@postern.test", "Alice@Example.test")
	hello := w.message("From: Alice <alice@example.test>\r\n", "hi\r\n", "example.test")
	v = w.check(c, env(senderIP, "mail.example.test", "alice@example.test"), bob, hello)
	if !strings.Contains(v.Recipients[0].SpamFields, "KNOWN_SENDER") {
		t.Fatalf("known sender:\n%s", describe(v))
	}
	friend := w.message("From: Other <other@example.test>\r\n", "hi\r\n", "example.test")
	v = w.check(c, env(senderIP, "mail.example.test", "other@example.test"), bob, friend)
	if !strings.Contains(v.Recipients[0].SpamFields, "KNOWN_DOMAIN") {
		t.Fatalf("known domain:\n%s", describe(v))
	}
	// Unauthenticated From: the correspondents are not consulted.
	w.rep.Add(ctx, "bob@postern.test", "friend@nodmarc.test")
	forged := w.message("From: friend@nodmarc.test\r\n", "hi\r\n")
	v = w.check(c, env(strangeIP, "mail.strange.test", "friend@nodmarc.test"), bob, forged)
	if strings.Contains(v.Recipients[0].SpamFields, "KNOWN_") {
		t.Fatalf("forged From counted as known:\n%s", describe(v))
	}
}

func (w *world) learn(t *testing.T, account, msg string, spam bool) {
	t.Helper()
	c := w.checker(w.options())
	if err := c.bayes.Learn(context.Background(), account, []byte(msg), spam); err != nil {
		t.Fatal(err)
	}
}

func TestRejectScore(t *testing.T) {
	w := newWorld(t)
	c := w.checker(w.options())
	for i := range 25 {
		w.learn(t, "bob@postern.test", fmt.Sprintf("Subject: pills %d\r\n\r\ncheap pills casino %d\r\n", i, i), true)
		w.learn(t, "bob@postern.test", fmt.Sprintf("Subject: lunch %d\r\n\r\nlunch agenda %d\r\n", i, i), false)
	}
	spam := w.message("From: x@nodmarc.test\r\n", "cheap pills casino\r\n")
	e := env(listedIP, listedIP, "x@nodmarc.test")
	// 12.5 from the client and SPF, plus bob's classifier: at least 15.
	v := w.check(c, e, bob, spam)
	wantAction(t, v, Reject, 550, "5.7.1")
	if !strings.Contains(v.Reply.Text, "spam") {
		t.Fatal(v.Reply)
	}
	// With a recipient whose classifier does not know it, the message is
	// accepted (never accepted and then dropped) and filed as junk.
	v = w.check(c, e, []Recipient{bob[0], {Address: "carol@postern.test", Account: "carol@postern.test"}}, spam)
	wantAction(t, v, Accept, 0, "")
	if !v.Recipients[0].Junk || !v.Recipients[1].Junk || v.Recipients[0].Score < 15 || v.Recipients[1].Score >= 15 {
		t.Fatalf("%s", describe(v))
	}
}

func TestGreylisting(t *testing.T) {
	w := newWorld(t)
	o := w.options()
	o.Greylist = true
	c := w.checker(o)
	e := env(senderIP, "mail.example.test", "alice@example.test")
	msg := w.message("From: alice@example.test\r\n", "x\r\n", "example.test")
	v := w.check(c, e, bob, msg)
	wantAction(t, v, TempFail, 451, "4.7.1")
	w.advance(time.Minute)
	wantAction(t, w.check(c, e, bob, msg), TempFail, 451, "4.7.1")
	w.advance(5 * time.Minute)
	wantAction(t, w.check(c, e, bob, msg), Accept, 0, "")
	// A spoof is refused, not greylisted: the 550 comes first.
	wantAction(t, w.check(c, env(strangeIP, "x.strange.test", "ceo@postern.test"), bob, w.message("From: ceo@postern.test\r\n", "x\r\n")), Reject, 550, "5.7.1")
}

func TestRspamd(t *testing.T) {
	w := newWorld(t)
	srv := rspamdtest.Start(t)
	o := w.options()
	o.RspamdURL = srv.URL
	c := w.checker(o)
	e := env(senderIP, "mail.example.test", "alice@example.test")

	v := w.check(c, e, bob, w.message("From: alice@example.test\r\n", "hello\r\n", "example.test"))
	wantAction(t, v, Accept, 0, "")
	if v.Recipients[0].Junk || !hasCheck(v, "rspamd", "no action") {
		t.Fatalf("%s", describe(v))
	}
	v = w.check(c, e, bob, w.message("From: alice@example.test\r\n", "XPOSTERNJUNKX\r\n", "example.test"))
	if v.Action != Accept || !v.Recipients[0].Junk || v.Recipients[0].Score < 7 || !strings.Contains(v.Recipients[0].SpamFields, "RSPAMD") {
		t.Fatalf("junk:\n%s", describe(v))
	}
	v = w.check(c, e, bob, w.message("From: alice@example.test\r\n", "XPOSTERNSPAMX\r\n", "example.test"))
	wantAction(t, v, Reject, 550, "5.7.1")

	// rspamd down: the check is skipped and reported, mail flows.
	down := w.checker(o, func(d *Deps) { d.Rspamd = &rspamd.Client{URL: "http://127.0.0.1:9", Timeout: 2 * time.Second} })
	v = w.check(down, e, bob, w.message("From: alice@example.test\r\n", "XPOSTERNSPAMX\r\n", "example.test"))
	wantAction(t, v, Accept, 0, "")
	if !hasCheck(v, "rspamd", "skipped") {
		t.Fatalf("%s", describe(v))
	}
}

func hasCheck(v *Verdict, name, result string) bool {
	for _, ch := range v.Checks {
		if ch.Name == name && ch.Result == result {
			return true
		}
	}
	return false
}

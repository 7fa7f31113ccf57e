package spf

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"postern/internal/testkit/fakedns"
	"postern/resolver"
)

func setup(t *testing.T) (*fakedns.Server, *resolver.Resolver) {
	t.Helper()
	srv := fakedns.Start(t)
	r, err := resolver.New(resolver.Config{Servers: []string{srv.Addr}, Timeout: 2 * time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return srv, r
}

func spfRecord(srv *fakedns.Server, domain, record string) {
	srv.AddTXT(domain, 300, record)
}

func TestMechanisms(t *testing.T) {
	srv, r := setup(t)
	srv.Add(
		`host.a.test. 300 IN A 192.0.2.10`,
		`a.test. 300 IN A 192.0.2.11`,
		`mx.test. 300 IN MX 10 mail.mx.test.`,
		`mail.mx.test. 300 IN A 192.0.2.20`,
		`mail.mx.test. 300 IN AAAA 2001:db8::20`,
		`20.2.0.192.in-addr.arpa. 300 IN PTR mail.mx.test.`,
		`30.2.0.192.in-addr.arpa. 300 IN PTR liar.mx.test.`,
		`liar.mx.test. 300 IN A 192.0.2.99`,
		`192.0.2.40._spf.exists.test. 300 IN A 127.0.0.2`,
		`bob.exists.test.users.exists.test. 300 IN A 127.0.0.2`,
		`40.2.0.192.in-addr._v.exists.test. 300 IN A 127.0.0.2`,
	)
	spfRecord(srv, "ip4.test", "v=spf1 ip4:192.0.2.0/28 ip4:198.51.100.7 -all")
	spfRecord(srv, "ip6.test", "v=spf1 ip6:2001:db8::/32 -all")
	spfRecord(srv, "a.test", "v=spf1 a a:host.a.test a:a.test/24 -all")
	spfRecord(srv, "mx.test", "v=spf1 mx ~all")
	spfRecord(srv, "ptr.test", "v=spf1 ptr:mx.test -all")
	spfRecord(srv, "provider.test", "v=spf1 ip4:203.0.113.0/24 -all")
	spfRecord(srv, "include.test", "v=spf1 include:provider.test ?all")
	spfRecord(srv, "redirect.test", "v=spf1 redirect=provider.test")
	spfRecord(srv, "exists.test", "v=spf1 exists:%{i}._spf.%{d} exists:%{l}.%{o}.users.%{d2} exists:%{ir}.%{v}._v.%{d} -all")
	spfRecord(srv, "exp.test", "v=spf1 -all exp=explain.exp.test")
	spfRecord(srv, "neutral.test", "v=spf1 ip4:192.0.2.1")
	spfRecord(srv, "Case.TEST", "V=SPF1 IP4:192.0.2.50 -ALL")

	tests := []struct {
		ip, from string
		want     Result
	}{
		{"192.0.2.5", "u@ip4.test", Pass},
		{"198.51.100.7", "u@ip4.test", Pass},
		{"192.0.2.16", "u@ip4.test", Fail},
		{"::ffff:192.0.2.5", "u@ip4.test", Pass},
		{"2001:db8::5", "u@ip6.test", Pass},
		{"2001:db9::5", "u@ip6.test", Fail},
		{"192.0.2.10", "u@a.test", Pass},
		{"192.0.2.200", "u@a.test", Pass},
		{"198.51.100.1", "u@a.test", Fail},
		{"192.0.2.20", "u@mx.test", Pass},
		{"2001:db8::20", "u@mx.test", Pass},
		{"192.0.2.21", "u@mx.test", SoftFail},
		{"192.0.2.20", "u@ptr.test", Pass},
		{"192.0.2.30", "u@ptr.test", Fail}, // PTR name does not resolve back
		{"203.0.113.9", "u@include.test", Pass},
		{"192.0.2.9", "u@include.test", Neutral},
		{"203.0.113.9", "u@redirect.test", Pass},
		{"192.0.2.9", "u@redirect.test", Fail},
		{"192.0.2.40", "x@exists.test", Pass},
		{"192.0.2.41", "bob@exists.test", Pass},
		{"192.0.2.42", "carol@exists.test", PermError}, // three lookups found nothing
		{"192.0.2.1", "u@exp.test", Fail},
		{"192.0.2.1", "u@neutral.test", Pass},
		{"192.0.2.2", "u@neutral.test", Neutral},
		{"192.0.2.50", "u@case.test", Pass},
		{"192.0.2.1", "u@CASE.Test", Fail},
		{"192.0.2.1", "u@nothing.test", None},
		{"192.0.2.1", "u@host.a.test", None},
		{"192.0.2.1", "u@localhost", None},
		{"192.0.2.1", "u@[192.0.2.1]", None},
	}
	for _, tc := range tests {
		got := Check(context.Background(), r, net.ParseIP(tc.ip), "client.test", tc.from)
		if got.Result != tc.want {
			t.Errorf("%s from %s: %s (%s), want %s", tc.from, tc.ip, got.Result, got.Reason, tc.want)
		}
	}
	if srv.Queries("explain.exp.test", dns.TypeTXT) != 0 {
		t.Error("exp= was fetched")
	}
	got := Check(context.Background(), r, net.ParseIP("192.0.2.5"), "client.test", "u@IP4.test")
	if got.Domain != "ip4.test" || got.Identity != MailFrom || got.Sender != "u@IP4.test" {
		t.Errorf("outcome %+v", got)
	}
}

func TestHELOWhenMailFromIsEmpty(t *testing.T) {
	srv, r := setup(t)
	// %{l} must expand to postmaster and %{h} to the HELO name.
	spfRecord(srv, "mta.helo.test", "v=spf1 exists:%{l}.%{h}.ok.helo.test -all")
	srv.Add(`postmaster.mta.helo.test.ok.helo.test. 300 IN A 127.0.0.2`)
	got := Check(context.Background(), r, net.ParseIP("192.0.2.1"), "mta.helo.test", "")
	if got.Result != Pass || got.Identity != HELO || got.Sender != "postmaster@mta.helo.test" || got.Domain != "mta.helo.test" {
		t.Fatalf("%+v", got)
	}
	for _, helo := range []string{"[192.0.2.1]", "localhost", ""} {
		if got := Check(context.Background(), r, net.ParseIP("192.0.2.1"), helo, ""); got.Result != None {
			t.Errorf("HELO %q: %+v, want none", helo, got)
		}
	}
}

func TestErrors(t *testing.T) {
	srv, r := setup(t)
	srv.AddTXT("two.test", 300, "v=spf1 -all")
	srv.AddTXT("two.test", 300, "v=spf1 +all")
	spfRecord(srv, "syntax.test", "v=spf1 ip4:192.0.2.1 foo:bar -all")
	spfRecord(srv, "badip.test", "v=spf1 ip4:192.0.2.300 -all")
	spfRecord(srv, "badmacro.test", "v=spf1 exists:%{z}.test -all")
	spfRecord(srv, "inclnone.test", "v=spf1 include:nothing.test -all")
	srv.Fail("servfail.test", dns.RcodeServerFailure)
	spfRecord(srv, "inclfail.test", "v=spf1 include:servfail.test -all")
	spfRecord(srv, "slowa.test", "v=spf1 a:slow.test -all")
	srv.Add(`slow.test. 300 IN A 192.0.2.1`)
	srv.Delay("slow.test", time.Minute)

	// The library evaluates terms left to right, so a syntax error after a
	// matching term goes unseen: 192.0.2.1 would pass syntax.test.
	for _, tc := range []struct {
		from string
		want Result
	}{
		{"u@two.test", PermError},
		{"u@syntax.test", PermError},
		{"u@badip.test", PermError},
		{"u@badmacro.test", PermError},
		{"u@inclnone.test", PermError},
		{"u@servfail.test", TempError},
		{"u@inclfail.test", TempError},
	} {
		if got := Check(context.Background(), r, net.ParseIP("192.0.2.77"), "c.test", tc.from); got.Result != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.from, got.Result, got.Reason, tc.want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if got := Check(ctx, r, net.ParseIP("192.0.2.1"), "c.test", "u@slowa.test"); got.Result != TempError {
		t.Errorf("slow DNS: %+v, want temperror", got)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("slow DNS held the check %v", d)
	}
	if got := Check(context.Background(), r, nil, "c.test", "u@two.test"); got.Result != PermError {
		t.Errorf("no IP: %+v", got)
	}
}

func TestLimits(t *testing.T) {
	srv, r := setup(t)
	// 11 includes: the eleventh term that costs a lookup is one too many
	// (RFC 7208 §4.6.4).
	var terms []string
	for i := range 11 {
		d := fmt.Sprintf("inc%d.many.test", i)
		spfRecord(srv, d, "v=spf1 ip4:198.51.100.1 -all")
		terms = append(terms, "include:"+d)
	}
	spfRecord(srv, "many.test", "v=spf1 "+strings.Join(terms, " ")+" -all")
	spfRecord(srv, "ten.test", "v=spf1 "+strings.Join(terms[:10], " ")+" -all")
	// Three lookups that find nothing: the third is one too many.
	spfRecord(srv, "void.test", "v=spf1 a:nx1.void.test a:nx2.void.test a:nx3.void.test -all")
	spfRecord(srv, "twovoid.test", "v=spf1 a:nx1.void.test a:nx2.void.test -all")
	// Loops through include and redirect end on the lookup limit.
	spfRecord(srv, "loop.test", "v=spf1 include:loop.test -all")
	spfRecord(srv, "ping.test", "v=spf1 redirect=pong.test")
	spfRecord(srv, "pong.test", "v=spf1 redirect=ping.test")
	// More than 10 MX names in one mx term.
	for i := range 11 {
		srv.Add(fmt.Sprintf("mxs.test. 300 IN MX %d mx%d.mxs.test.", i, i))
	}
	spfRecord(srv, "mxs.test", "v=spf1 mx -all")

	for _, tc := range []struct {
		from string
		want Result
	}{
		{"u@many.test", PermError},
		{"u@ten.test", Fail},
		{"u@void.test", PermError},
		{"u@twovoid.test", Fail},
		{"u@loop.test", PermError},
		{"u@ping.test", PermError},
		{"u@mxs.test", PermError},
	} {
		if got := Check(context.Background(), r, net.ParseIP("192.0.2.1"), "c.test", tc.from); got.Result != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.from, got.Result, got.Reason, tc.want)
		}
	}
	if n := srv.Queries("loop.test", dns.TypeTXT); n != 1 {
		t.Errorf("include loop: %d TXT queries, want 1 (cached)", n)
	}
}

func TestStartAndWait(t *testing.T) {
	srv, r := setup(t)
	spfRecord(srv, "early.test", "v=spf1 ip4:192.0.2.1 -all")
	p := Start(context.Background(), r, net.ParseIP("192.0.2.1"), "c.test", "u@early.test")
	if got := p.Wait(context.Background()); got.Result != Pass {
		t.Fatalf("%+v", got)
	}
	srv.Add(`slow.test. 300 IN A 192.0.2.1`)
	spfRecord(srv, "late.test", "v=spf1 a:slow.test -all")
	srv.Delay("slow.test", time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	p = Start(ctx, r, net.ParseIP("192.0.2.1"), "c.test", "u@late.test")
	wctx, wcancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer wcancel()
	if got := p.Wait(wctx); got.Result != TempError {
		t.Fatalf("%+v", got)
	}
	cancel()
	// Cancelling the evaluation's context ends it with temperror.
	if got := p.Wait(context.Background()); got.Result != TempError {
		t.Fatalf("after cancel: %+v", got)
	}
}

package dnsbl

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"postern/internal/testkit/fakedns"
	"postern/resolver"
)

func TestReverse(t *testing.T) {
	if got := reverse(netip.MustParseAddr("192.0.2.99")); got != "99.2.0.192" {
		t.Fatal(got)
	}
	// RFC 5782 §2.4's example.
	want := "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4"
	if got := reverse(netip.MustParseAddr("4321:0:1:2:3:4:567:89ab")); got != want {
		t.Fatalf("%s\n%s", got, want)
	}
}

func TestLists(t *testing.T) {
	ls, err := Lists([]string{"ZEN.spamhaus.org.", "dnsbl.example.test"})
	if err != nil || len(ls) != 2 || ls[0].Zone != "zen.spamhaus.org" || len(ls[0].Codes) != 7 || ls[1].Codes != nil {
		t.Fatalf("%+v %v", ls, err)
	}
	for _, bad := range []string{"", "nodots", "http://x.test", "a b.test"} {
		if _, err := Lists([]string{bad}); err == nil || !strings.Contains(err.Error(), "[spam] dnsbl") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	zen := ls[0]
	for code, want := range map[string]bool{"127.0.0.2": true, "127.0.0.11": true, "127.255.255.254": false, "127.0.0.1": false, "127.0.0.8": false} {
		if zen.Listed(netip.MustParseAddr(code)) != want {
			t.Errorf("zen %s: %v", code, !want)
		}
	}
	generic := ls[1]
	for code, want := range map[string]bool{"127.0.0.2": true, "127.0.0.200": true, "127.0.0.1": false, "127.255.255.254": false, "10.0.0.2": false} {
		if generic.Listed(netip.MustParseAddr(code)) != want {
			t.Errorf("generic %s: %v", code, !want)
		}
	}
}

func TestCheck(t *testing.T) {
	srv := fakedns.Start(t)
	srv.Add(
		`99.2.0.192.zen.spamhaus.org. 300 IN A 127.0.0.4`,
		`98.2.0.192.zen.spamhaus.org. 300 IN A 127.255.255.254`,
		`99.2.0.192.bl.example.test. 300 IN A 127.0.0.2`,
		`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example.test. 300 IN A 127.0.0.3`,
	)
	srv.Fail("99.2.0.192.broken.test", dns.RcodeServerFailure)
	r, err := resolver.New(resolver.Config{Servers: []string{srv.Addr}, Timeout: 2 * time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	lists, _ := Lists([]string{"zen.spamhaus.org", "bl.example.test", "broken.test"})
	ctx := context.Background()

	res := Check(ctx, r, lists, netip.MustParseAddr("192.0.2.99"))
	if !res[0].Listed || !res[1].Listed || res[2].Listed || res[2].Err == nil || !resolver.IsTemporary(res[2].Err) {
		t.Fatalf("%+v", res)
	}
	// A public-resolver error code is not a listing.
	res = Check(ctx, r, lists, netip.MustParseAddr("192.0.2.98"))
	if res[0].Listed || res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "not a listing") {
		t.Fatalf("%+v", res[0])
	}
	res = Check(ctx, r, lists, netip.MustParseAddr("192.0.2.1"))
	if res[0].Listed || res[0].Err != nil || res[1].Listed {
		t.Fatalf("clean address: %+v", res)
	}
	res = Check(ctx, r, lists, netip.MustParseAddr("2001:db8::1"))
	if !res[1].Listed {
		t.Fatalf("IPv6: %+v", res)
	}
	res = Check(ctx, r, lists, netip.MustParseAddr("::ffff:192.0.2.99"))
	if !res[1].Listed {
		t.Fatalf("mapped IPv4: %+v", res)
	}
}

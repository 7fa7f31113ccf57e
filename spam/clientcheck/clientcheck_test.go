package clientcheck

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"postern/internal/testkit/fakedns"
	"postern/resolver"
)

func TestReverseDNS(t *testing.T) {
	srv := fakedns.Start(t)
	srv.Add(
		`1.2.0.192.in-addr.arpa. 300 IN PTR mail.example.test.`,
		`mail.example.test. 300 IN A 192.0.2.1`,
		`2.2.0.192.in-addr.arpa. 300 IN PTR liar.example.test.`,
		`liar.example.test. 300 IN A 198.51.100.1`,
		`3.2.0.192.in-addr.arpa. 300 IN PTR flaky.example.test.`,
		`4.2.0.192.in-addr.arpa. 300 IN PTR other.example.test.`,
		`4.2.0.192.in-addr.arpa. 300 IN PTR mx4.example.test.`,
		`mx4.example.test. 300 IN A 192.0.2.4`,
		`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR six.example.test.`,
		`six.example.test. 300 IN AAAA 2001:db8::1`,
	)
	srv.Fail("flaky.example.test", dns.RcodeServerFailure)
	srv.Fail("5.2.0.192.in-addr.arpa", dns.RcodeServerFailure)
	r, err := resolver.New(resolver.Config{Servers: []string{srv.Addr}, Timeout: 2 * time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]struct {
		res    IPRevResult
		name   string
		hasPTR bool
	}{
		"192.0.2.1":        {IPRevPass, "mail.example.test", true},
		"::ffff:192.0.2.1": {IPRevPass, "mail.example.test", true},
		"192.0.2.2":        {IPRevFail, "", true},
		"192.0.2.3":        {IPRevTempError, "", true},
		"192.0.2.4":        {IPRevPass, "mx4.example.test", true},
		"192.0.2.5":        {IPRevTempError, "", false},
		"192.0.2.6":        {IPRevFail, "", false},
		"2001:db8::1":      {IPRevPass, "six.example.test", true},
	} {
		got := ReverseDNS(context.Background(), r, netip.MustParseAddr(ip))
		if got.Result != want.res || got.Name != want.name || got.HasPTR != want.hasPTR {
			t.Errorf("%s: %+v, want %+v", ip, got, want)
		}
	}
}

func TestCheckHELO(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.1")
	ours := []string{"mx.postern.test", "postern.test"}
	for helo, want := range map[string]HELOProblem{
		"mail.example.test":  "",
		"Mail.Example.TEST.": "",
		"[192.0.2.1]":        "",
		"[IPv6:2001:db8::1]": HELOLiteralMismatch,
		"[198.51.100.1]":     HELOLiteralMismatch,
		"[not an ip]":        HELOInvalid,
		"192.0.2.1":          HELOBareIP,
		"localhost":          HELONotFQDN,
		"WIN-ABC123":         HELONotFQDN,
		"desktop.local":      HELONotFQDN,
		"host.lan":           HELONotFQDN,
		"1.2.3.4.5":          HELONotFQDN,
		"":                   HELOInvalid,
		"bad..name":          HELOInvalid,
		"-bad.example.test":  HELOInvalid,
		"sp ace.test":        HELOInvalid,
		"mx.postern.test":    HELOOurs,
		"POSTERN.test":       HELOOurs,
		"mail.postern.test":  "",
	} {
		if got := CheckHELO(helo, ip, ours); got != want {
			t.Errorf("%q: %q, want %q", helo, got, want)
		}
	}
	if got := CheckHELO("[IPv6:2001:db8::1]", netip.MustParseAddr("2001:db8::1"), nil); got != "" {
		t.Errorf("IPv6 literal: %q", got)
	}
}

func TestAddrFromNet(t *testing.T) {
	if a := AddrFromNet(&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 25}); a.String() != "192.0.2.1" {
		t.Fatal(a)
	}
	if a := AddrFromNet(&net.UDPAddr{IP: net.ParseIP("2001:db8::1"), Port: 25}); a.String() != "2001:db8::1" {
		t.Fatal(a)
	}
}

func FuzzCheckHELO(f *testing.F) {
	for _, s := range []string{"mail.example.test", "[192.0.2.1]", "[IPv6:::1]", "localhost", "a..b", "[", "]", "-", "x.-y"} {
		f.Add(s)
	}
	ip := netip.MustParseAddr("192.0.2.1")
	f.Fuzz(func(t *testing.T, helo string) {
		p := CheckHELO(helo, ip, []string{"postern.test"})
		if _, ok := heloProblems[p]; !ok {
			t.Fatalf("%q: unknown problem %q", helo, p)
		}
	})
}

var heloProblems = map[HELOProblem]bool{"": true, HELOLiteralMismatch: true, HELONotFQDN: true, HELOBareIP: true, HELOInvalid: true, HELOOurs: true}

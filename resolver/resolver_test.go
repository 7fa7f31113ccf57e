package resolver

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"postern/internal/testkit/fakedns"
)

// clock is a settable time source for cache expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newResolver(t *testing.T, servers ...string) (*Resolver, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r, err := New(Config{Servers: servers, Timeout: 2 * time.Second, Attempts: 1, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return r, clk
}

// dnsErr asserts that err is a bare *net.DNSError, as SPF libraries need.
func dnsErr(t *testing.T, err error) *net.DNSError {
	t.Helper()
	de, ok := err.(*net.DNSError)
	if !ok {
		t.Fatalf("error %T %v is not a bare *net.DNSError", err, err)
	}
	return de
}

func TestTXTJoinsStringsAndCaches(t *testing.T) {
	srv := fakedns.Start(t)
	long := "v=spf1 " + strings.Repeat("ip4:192.0.2.1 ", 30) + "-all"
	srv.AddTXT("example.test", 300, long)
	srv.Add(`example.test. 300 IN TXT "google-site-verification=x"`)
	r, clk := newResolver(t, srv.Addr)
	ctx := context.Background()

	txts, err := r.LookupTXT(ctx, "Example.TEST")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(txts)
	if len(txts) != 2 || txts[1] != long {
		t.Fatalf("TXT %q", txts)
	}
	if _, err := r.LookupTXT(ctx, "example.test."); err != nil {
		t.Fatal(err)
	}
	if n := srv.Queries("example.test", dns.TypeTXT); n != 1 {
		t.Fatalf("%d queries, want 1 (second answered from cache)", n)
	}
	clk.add(299 * time.Second)
	r.LookupTXT(ctx, "example.test")
	if n := srv.Queries("example.test", dns.TypeTXT); n != 1 {
		t.Fatalf("%d queries before the TTL ran out, want 1", n)
	}
	clk.add(2 * time.Second)
	r.LookupTXT(ctx, "example.test")
	if n := srv.Queries("example.test", dns.TypeTXT); n != 2 {
		t.Fatalf("%d queries after the TTL ran out, want 2", n)
	}
}

func TestZeroTTLIsNotCached(t *testing.T) {
	srv := fakedns.Start(t)
	srv.Add(`zero.test. 0 IN TXT "x"`)
	r, _ := newResolver(t, srv.Addr)
	for range 3 {
		if _, err := r.LookupTXT(context.Background(), "zero.test"); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Queries("zero.test", dns.TypeTXT); n != 3 {
		t.Fatalf("%d queries, want 3", n)
	}
}

func TestNegativeCaching(t *testing.T) {
	srv := fakedns.Start(t)
	srv.NegativeTTL(30)
	srv.Add(`host.test. 300 IN A 192.0.2.1`)
	r, clk := newResolver(t, srv.Addr)
	ctx := context.Background()

	for _, tc := range []struct {
		name  string
		qtype uint16
	}{{"missing.test", dns.TypeTXT}, {"host.test", dns.TypeTXT}} {
		for range 2 {
			_, err := r.LookupTXT(ctx, tc.name)
			if de := dnsErr(t, err); !de.IsNotFound || de.IsTemporary {
				t.Fatalf("%s: %+v, want not found", tc.name, de)
			}
		}
		if n := srv.Queries(tc.name, tc.qtype); n != 1 {
			t.Fatalf("%s: %d queries, want 1 (negative answer cached)", tc.name, n)
		}
	}
	clk.add(31 * time.Second)
	r.LookupTXT(ctx, "missing.test")
	if n := srv.Queries("missing.test", dns.TypeTXT); n != 2 {
		t.Fatalf("%d queries after the SOA minimum, want 2", n)
	}
}

func TestTruncatedAnswerRetriesOverTCP(t *testing.T) {
	srv := fakedns.Start(t)
	big := strings.Repeat("k", 3000)
	srv.AddTXT("big.test", 300, big)
	r, _ := newResolver(t, srv.Addr)
	txts, err := r.LookupTXT(context.Background(), "big.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(txts) != 1 || txts[0] != big {
		t.Fatalf("got %d records of %d octets", len(txts), len(txts[0]))
	}
	if srv.QueriesOver("udp") != 1 || srv.QueriesOver("tcp") != 1 {
		t.Fatalf("udp %d tcp %d, want one of each", srv.QueriesOver("udp"), srv.QueriesOver("tcp"))
	}
}

func TestHugeTXTIsPermanentError(t *testing.T) {
	srv := fakedns.Start(t)
	for i := range 40 {
		srv.AddTXT("huge.test", 300, strings.Repeat(string(rune('a'+i%26)), 1000)+string(rune('0'+i%10)))
	}
	r, _ := newResolver(t, srv.Addr)
	_, err := r.LookupTXT(context.Background(), "huge.test")
	de := dnsErr(t, err)
	if de.IsNotFound || de.IsTemporary || !strings.Contains(de.Err, "too large") {
		t.Fatalf("%+v, want a permanent error", de)
	}
}

func TestCNAMEs(t *testing.T) {
	srv := fakedns.Start(t)
	srv.Add(
		`a.test. 300 IN CNAME b.test.`,
		`b.test. 60 IN CNAME c.test.`,
		`c.test. 300 IN TXT "end"`,
		`loop1.test. 300 IN CNAME loop2.test.`,
		`loop2.test. 300 IN CNAME loop1.test.`,
		`self.test. 300 IN CNAME self.test.`,
	)
	for i := range 12 {
		srv.Add("chain" + string(rune('a'+i)) + ".test. 300 IN CNAME chain" + string(rune('a'+i+1)) + ".test.")
	}
	srv.Add(`chainm.test. 300 IN TXT "too far"`)
	r, clk := newResolver(t, srv.Addr)
	ctx := context.Background()

	ans, err := r.Lookup(ctx, "a.test", dns.TypeTXT)
	if err != nil || ans.Target != "c.test." || len(ans.Records) != 1 {
		t.Fatalf("%+v %v", ans, err)
	}
	// The chain's shortest TTL bounds the cache.
	clk.add(61 * time.Second)
	r.Lookup(ctx, "a.test", dns.TypeTXT)
	if n := srv.Queries("a.test", dns.TypeTXT); n != 2 {
		t.Fatalf("%d queries, want 2 after the CNAME's 60 s", n)
	}
	for _, name := range []string{"loop1.test", "self.test", "chaina.test"} {
		_, err := r.LookupTXT(ctx, name)
		de := dnsErr(t, err)
		if de.IsNotFound || de.IsTemporary || !strings.Contains(de.Err, "CNAME") {
			t.Fatalf("%s: %+v, want a permanent CNAME error", name, de)
		}
	}
}

func TestCNAMETargetAskedWhenServerDoesNotChase(t *testing.T) {
	srv := fakedns.Start(t)
	srv.NoChase(true)
	srv.Add(`alias.test. 300 IN CNAME real.test.`, `real.test. 300 IN MX 10 mx.real.test.`,
		`dangling.test. 300 IN CNAME nowhere.test.`)
	r, _ := newResolver(t, srv.Addr)
	mxs, err := r.LookupMX(context.Background(), "alias.test")
	if err != nil || len(mxs) != 1 || mxs[0].Host != "mx.real.test." {
		t.Fatalf("%v %v", mxs, err)
	}
	if srv.Queries("real.test", dns.TypeMX) != 1 {
		t.Fatal("target not asked")
	}
	_, err = r.LookupMX(context.Background(), "dangling.test")
	if de := dnsErr(t, err); !de.IsNotFound {
		t.Fatalf("%+v, want not found", de)
	}
}

func TestSlowServerTimesOutWithTheContext(t *testing.T) {
	srv := fakedns.Start(t)
	srv.Add(`slow.test. 300 IN TXT "v=spf1 -all"`)
	srv.Delay("slow.test", time.Minute)
	r, _ := newResolver(t, srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.LookupTXT(ctx, "slow.test")
	de := dnsErr(t, err)
	if !de.IsTimeout || !de.IsTemporary || de.IsNotFound {
		t.Fatalf("%+v, want a temporary timeout", de)
	}
	// Generous: the point is that it does not wait for the minute.
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestSlowServerFailsAfterTheExchangeTimeout(t *testing.T) {
	srv := fakedns.Start(t)
	srv.Add(`slow.test. 300 IN TXT "x"`)
	srv.Delay("slow.test", time.Minute)
	clk := &clock{t: time.Unix(0, 0)}
	r, err := New(Config{Servers: []string{srv.Addr}, Timeout: 300 * time.Millisecond, Attempts: 2, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.LookupTXT(context.Background(), "slow.test")
	if de := dnsErr(t, err); !de.IsTimeout || !de.IsTemporary {
		t.Fatalf("%+v", de)
	}
	if n := srv.Queries("slow.test", dns.TypeTXT); n != 2 {
		t.Fatalf("%d queries, want 2 attempts", n)
	}
	// The failure is remembered for FailureTTL, then asked again.
	r.LookupTXT(context.Background(), "slow.test")
	if n := srv.Queries("slow.test", dns.TypeTXT); n != 2 {
		t.Fatalf("%d queries, want the failure cached", n)
	}
	clk.add(DefaultFailureTTL)
	srv.Delay("slow.test", 0)
	if _, err := r.LookupTXT(context.Background(), "slow.test"); err != nil {
		t.Fatal(err)
	}
}

func TestServerFailuresAreTemporaryAndNextServerIsAsked(t *testing.T) {
	bad := fakedns.Start(t)
	good := fakedns.Start(t)
	for _, s := range []*fakedns.Server{bad, good} {
		s.Add(`x.test. 300 IN TXT "ok"`, `y.test. 300 IN TXT "ok"`)
	}
	bad.Fail("x.test", dns.RcodeServerFailure)
	bad.Fail("y.test", dns.RcodeRefused)
	good.Fail("y.test", dns.RcodeServerFailure)

	r, _ := newResolver(t, bad.Addr, good.Addr)
	if txt, err := r.LookupTXT(context.Background(), "x.test"); err != nil || txt[0] != "ok" {
		t.Fatalf("%q %v, want the second server's answer", txt, err)
	}
	_, err := r.LookupTXT(context.Background(), "y.test")
	if de := dnsErr(t, err); !de.IsTemporary || de.IsNotFound || de.IsTimeout {
		t.Fatalf("%+v, want a temporary failure", de)
	}
	if !IsTemporary(err) || IsNotFound(err) {
		t.Fatal("classification helpers disagree")
	}
}

func TestDeadServerIsSkipped(t *testing.T) {
	good := fakedns.Start(t)
	good.Add(`x.test. 300 IN A 192.0.2.7`)
	// A UDP port nobody listens on: the exchange fails at once
	// (ICMP port unreachable) or times out.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().String()
	pc.Close()
	r, _ := newResolver(t, dead, good.Addr)
	ips, err := r.LookupIPAddr(context.Background(), "x.test")
	if err != nil || len(ips) != 1 || !ips[0].IP.Equal(net.ParseIP("192.0.2.7")) {
		t.Fatalf("%v %v", ips, err)
	}
}

func TestLookupKinds(t *testing.T) {
	srv := fakedns.Start(t)
	srv.Add(
		`both.test. 300 IN A 192.0.2.1`,
		`both.test. 300 IN AAAA 2001:db8::1`,
		`v6.test. 300 IN AAAA 2001:db8::2`,
		`mx.test. 300 IN MX 20 b.mx.test.`,
		`mx.test. 300 IN MX 10 A.MX.test.`,
		`null.test. 300 IN MX 0 .`,
		`1.2.0.192.in-addr.arpa. 300 IN PTR host.example.test.`,
		`1.2.0.192.in-addr.arpa. 300 IN PTR bad\032name.test.`,
		`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR six.test.`,
		`xn--bcher-kva.test. 300 IN TXT "idn"`,
	)
	r, _ := newResolver(t, srv.Addr)
	ctx := context.Background()

	ips, err := r.LookupIPAddr(ctx, "both.test")
	if err != nil || len(ips) != 2 {
		t.Fatalf("%v %v", ips, err)
	}
	if ips, err := r.LookupIPAddr(ctx, "v6.test"); err != nil || len(ips) != 1 || ips[0].IP.To4() != nil {
		t.Fatalf("%v %v", ips, err)
	}
	if ips, err := r.LookupIPAddr(ctx, "192.0.2.9"); err != nil || !ips[0].IP.Equal(net.ParseIP("192.0.2.9")) {
		t.Fatalf("literal: %v %v", ips, err)
	}
	if _, err := r.LookupIPAddr(ctx, "nothing.test"); !dnsErr(t, err).IsNotFound {
		t.Fatalf("%v", err)
	}
	if a, err := r.LookupNetIP(ctx, "ip4", "both.test"); err != nil || len(a) != 1 || a[0].String() != "192.0.2.1" {
		t.Fatalf("ip4: %v %v", a, err)
	}
	if a, err := r.LookupNetIP(ctx, "ip6", "both.test"); err != nil || len(a) != 1 || a[0].String() != "2001:db8::1" {
		t.Fatalf("ip6: %v %v", a, err)
	}
	if a, err := r.LookupNetIP(ctx, "ip", "both.test"); err != nil || len(a) != 2 {
		t.Fatalf("ip: %v %v", a, err)
	}
	if _, err := r.LookupNetIP(ctx, "ip4", "v6.test"); !dnsErr(t, err).IsNotFound {
		t.Fatalf("ip4 of a v6-only name: %v", err)
	}
	mxs, err := r.LookupMX(ctx, "mx.test")
	if err != nil || len(mxs) != 2 || mxs[0].Host != "a.mx.test." || mxs[0].Pref != 10 {
		t.Fatalf("%v %v", mxs, err)
	}
	if mxs, err := r.LookupMX(ctx, "null.test"); err != nil || mxs[0].Host != "." {
		t.Fatalf("null MX: %v %v", mxs, err)
	}
	names, err := r.LookupAddr(ctx, "192.0.2.1")
	if err != nil || len(names) != 1 || names[0] != "host.example.test." {
		t.Fatalf("PTR %q %v", names, err)
	}
	if names, err := r.LookupAddr(ctx, "2001:db8::1"); err != nil || names[0] != "six.test." {
		t.Fatalf("PTR6 %q %v", names, err)
	}
	if txt, err := r.LookupTXT(ctx, "bücher.test"); err != nil || txt[0] != "idn" {
		t.Fatalf("IDN: %q %v", txt, err)
	}
	for _, bad := range []string{"", ".", "a..b", "sp ace.test", strings.Repeat("a", 64) + ".test", strings.Repeat("a.", 130) + "test", "x\\.y.test"} {
		_, err := r.LookupTXT(ctx, bad)
		if de := dnsErr(t, err); !de.IsNotFound {
			t.Fatalf("%q: %+v, want not found", bad, de)
		}
	}
}

func TestConcurrentLookupsShareOneQuery(t *testing.T) {
	srv := fakedns.Start(t)
	srv.Add(`shared.test. 300 IN TXT "x"`)
	srv.Delay("shared.test", 500*time.Millisecond)
	r, _ := newResolver(t, srv.Addr)
	var wg sync.WaitGroup
	var fails atomic.Int32
	for range 20 {
		wg.Go(func() {
			if _, err := r.LookupTXT(context.Background(), "shared.test"); err != nil {
				fails.Add(1)
			}
		})
	}
	wg.Wait()
	if fails.Load() != 0 {
		t.Fatalf("%d lookups failed", fails.Load())
	}
	if n := srv.Queries("shared.test", dns.TypeTXT); n != 1 {
		t.Fatalf("%d queries, want 1", n)
	}
}

func TestCacheIsBounded(t *testing.T) {
	srv := fakedns.Start(t)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		srv.Add(n + `.test. 300 IN TXT "x"`)
	}
	r, err := New(Config{Servers: []string{srv.Addr}, CacheEntries: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		r.LookupTXT(context.Background(), n+".test")
	}
	if r.cache.len() != 3 {
		t.Fatalf("cache holds %d entries, want 3", r.cache.len())
	}
	// "a" was evicted first.
	r.LookupTXT(context.Background(), "a.test")
	if n := srv.Queries("a.test", dns.TypeTXT); n != 2 {
		t.Fatalf("%d queries for the evicted name, want 2", n)
	}
	c := newCache(100, 150)
	c.put(cacheKey{"x.", 1}, &Answer{}, nil, time.Now().Add(time.Hour))
	c.put(cacheKey{"y.", 1}, &Answer{}, nil, time.Now().Add(time.Hour))
	c.put(cacheKey{"z.", 1}, &Answer{}, nil, time.Now().Add(time.Hour))
	if c.len() != 2 || c.bytes > 150 {
		t.Fatalf("byte bound: %d entries, %d octets", c.len(), c.bytes)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	os.WriteFile(conf, []byte("# local\nnameserver 127.0.0.53\nnameserver ::1\noptions edns0\n"), 0o644)
	r, err := New(Config{ResolvConf: conf})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"127.0.0.53:53", "[::1]:53"}; !slices.Equal(r.servers, want) {
		t.Fatalf("servers %q, want %q", r.servers, want)
	}
	os.WriteFile(conf, []byte("search example.test\n"), 0o644)
	if _, err := New(Config{ResolvConf: conf}); err == nil || !strings.Contains(err.Error(), "[dns] servers") {
		t.Fatalf("no nameserver: %v", err)
	}
	if _, err := New(Config{ResolvConf: filepath.Join(dir, "missing")}); err == nil {
		t.Fatal("missing resolv.conf accepted")
	}
	r, err = New(Config{Servers: []string{"192.0.2.53", "[2001:db8::53]:5353", "127.0.0.1:5300"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"192.0.2.53:53", "[2001:db8::53]:5353", "127.0.0.1:5300"}; !slices.Equal(r.servers, want) {
		t.Fatalf("servers %q", r.servers)
	}
	for _, bad := range []string{"dns.example.com:53", "127.0.0.1:0", "127.0.0.1:x", ""} {
		if _, err := New(Config{Servers: []string{bad}}); err == nil || !strings.Contains(err.Error(), "[dns] servers") {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}

func TestTXTFuncReportsTemporary(t *testing.T) {
	srv := fakedns.Start(t)
	srv.Add(`sel._domainkey.example.test. 300 IN TXT "v=DKIM1; p="`)
	srv.Fail("fail._domainkey.example.test", dns.RcodeServerFailure)
	r, _ := newResolver(t, srv.Addr)
	lookup := r.TXTFunc(context.Background())
	if txt, err := lookup("sel._domainkey.example.test"); err != nil || len(txt) != 1 {
		t.Fatalf("%q %v", txt, err)
	}
	_, err := lookup("fail._domainkey.example.test")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Temporary() {
		t.Fatalf("%v: not Temporary()", err)
	}
	_, err = lookup("none._domainkey.example.test")
	if !errors.As(err, &ne) || ne.Temporary() {
		t.Fatalf("%v: not found must not be Temporary()", err)
	}
}

func BenchmarkCachedTXT(b *testing.B) {
	srv := fakedns.Start(b)
	srv.Add(`bench.test. 3600 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"`)
	r, err := New(Config{Servers: []string{srv.Addr}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := r.LookupTXT(ctx, "bench.test"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r.LookupTXT(ctx, "Bench.test")
	}
}

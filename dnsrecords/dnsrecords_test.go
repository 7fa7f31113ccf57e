package dnsrecords

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"postern/config"
	"postern/dkim"
	"postern/mtasts"
)

// zone is a loopback DNS server answering from a table of records in
// zone-file form; it can be changed between queries.
type zone struct {
	mu  sync.Mutex
	rrs []dns.RR
}

func (z *zone) set(t *testing.T, lines ...string) {
	t.Helper()
	var rrs []dns.RR
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("bad test record %q: %v", l, err)
		}
		rrs = append(rrs, rr)
	}
	z.mu.Lock()
	z.rrs = rrs
	z.mu.Unlock()
}

func (z *zone) serve(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	z.mu.Lock()
	defer z.mu.Unlock()
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	exists := false
	// Follow a CNAME, as a recursive resolver would.
	for range 4 {
		var cname string
		for _, rr := range z.rrs {
			h := rr.Header()
			if strings.ToLower(h.Name) != name {
				continue
			}
			exists = true
			if h.Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			} else if h.Rrtype == dns.TypeCNAME {
				m.Answer = append(m.Answer, rr)
				cname = strings.ToLower(rr.(*dns.CNAME).Target)
			}
		}
		if cname == "" || q.Qtype == dns.TypeCNAME {
			break
		}
		name = cname
	}
	if !exists {
		m.Rcode = dns.RcodeNameError
	}
	if opt := r.IsEdns0(); opt != nil {
		m.Truncate(int(opt.UDPSize()))
	} else if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		m.Truncate(dns.MinMsgSize)
	}
	w.WriteMsg(m)
}

// startZone serves z over UDP and TCP on one loopback port.
func startZone(t *testing.T) (*zone, string) {
	t.Helper()
	z := &zone{}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(".", z.serve)
	us := &dns.Server{PacketConn: pc, Handler: mux}
	ts := &dns.Server{Listener: ln, Handler: mux}
	go us.ActivateAndServe()
	go ts.ActivateAndServe()
	t.Cleanup(func() { us.Shutdown(); ts.Shutdown() })
	return z, pc.LocalAddr().String()
}

func params(t *testing.T) Params {
	t.Helper()
	k, err := dkim.Generate(t.TempDir(), "example.test", "postern", dkim.RSA)
	if err != nil {
		t.Fatal(err)
	}
	return Params{
		Domain: "example.test", Hostname: "mail.example.test",
		PublicIPs: []netip.Addr{netip.MustParseAddr("203.0.113.10"), netip.MustParseAddr("2001:db8::10")},
		Ports:     config.MailPorts{SMTP: 25, Submission: 587, SubmissionTLS: 465, IMAP: 143, IMAPTLS: 993, POP3TLS: 995},
		DKIM:      k,
		MTASTS:    mtasts.Policy{Mode: mtasts.Testing, MX: []string{"mail.example.test"}, MaxAge: 168 * time.Hour},
	}
}

// Printed records, parsed back by a DNS library, are what the zone needs.
func TestZoneParses(t *testing.T) {
	p := params(t)
	var b bytes.Buffer
	WriteZone(&b, p.Domain, Records(p))
	zp := dns.NewZoneParser(strings.NewReader(b.String()), "", "")
	types := map[string]int{}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		types[dns.TypeToString[rr.Header().Rrtype]]++
		if txt, ok := rr.(*dns.TXT); ok && strings.HasPrefix(txt.Hdr.Name, "postern._domainkey.") {
			if strings.Join(txt.Txt, "") != p.DKIM.TXT() {
				t.Errorf("DKIM record %q, want %q", strings.Join(txt.Txt, ""), p.DKIM.TXT())
			}
		}
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("zone does not parse: %v\n%s", err, b.String())
	}
	// MX; A, AAAA; SPF, DKIM, DMARC, MTA-STS, TLS-RPT TXT; 6 SRV;
	// mta-sts, autoconfig, autodiscover CNAME; PTRs are comments.
	want := map[string]int{"MX": 1, "A": 1, "AAAA": 1, "TXT": 5, "SRV": 6, "CNAME": 3}
	for k, v := range want {
		if types[k] != v {
			t.Errorf("%d %s records, want %d\n%s", types[k], k, v, b.String())
		}
	}
	for _, s := range []string{
		"example.test.\t3600\tIN\tMX\t10 mail.example.test.",
		`"v=spf1 mx -all"`,
		`_dmarc.example.test.	3600	IN	TXT	"v=DMARC1; p=quarantine; rua=mailto:postmaster@example.test"`,
		`_mta-sts.example.test.	3600	IN	TXT	"v=STSv1; id=` + p.MTASTS.ID() + `;"`,
		`_smtp._tls.example.test.	3600	IN	TXT	"v=TLSRPTv1; rua=mailto:postmaster@example.test"`,
		"_submissions._tcp.example.test.\t3600\tIN\tSRV\t0 1 465 mail.example.test.",
		"_imap._tcp.example.test.\t3600\tIN\tSRV\t10 1 143 mail.example.test.",
		"_pop3._tcp.example.test.\t3600\tIN\tSRV\t0 0 0 .", // off
		"; 10.113.0.203.in-addr.arpa.\t3600\tIN\tPTR\tmail.example.test.",
		"; 0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.\t3600\tIN\tPTR\tmail.example.test.",
	} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("zone lacks %q:\n%s", s, b.String())
		}
	}
}

// rightZone publishes exactly what Records asks for.
func rightZone(p Params) []string {
	return []string{
		"example.test. 300 IN MX 10 mail.example.test.",
		"example.test. 300 IN MX 20 backup.example.net.",
		"mail.example.test. 300 IN A 203.0.113.10",
		"mail.example.test. 300 IN AAAA 2001:db8::10",
		`example.test. 300 IN TXT "v=spf1 mx -all"`,
		`example.test. 300 IN TXT "google-site-verification=abc"`,
		p.DKIM.Record(),
		`_dmarc.example.test. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.test"`,
		`_mta-sts.example.test. 300 IN TXT "v=STSv1; id=` + p.MTASTS.ID() + `;"`,
		"mta-sts.example.test. 300 IN CNAME mail.example.test.",
		`_smtp._tls.example.test. 300 IN TXT "v=TLSRPTv1; rua=mailto:postmaster@example.test"`,
		"_submissions._tcp.example.test. 300 IN SRV 0 1 465 mail.example.test.",
		"_submission._tcp.example.test. 300 IN SRV 10 1 587 mail.example.test.",
		"_imaps._tcp.example.test. 300 IN SRV 0 1 993 mail.example.test.",
		"_imap._tcp.example.test. 300 IN SRV 10 1 143 mail.example.test.",
		"_pop3s._tcp.example.test. 300 IN SRV 0 1 995 mail.example.test.",
		"autoconfig.example.test. 300 IN A 203.0.113.10",
		"autodiscover.example.test. 300 IN CNAME mail.example.test.",
		"10.113.0.203.in-addr.arpa. 300 IN PTR mail.example.test.",
		"0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR mail.example.test.",
	}
}

func check(t *testing.T, addr string, p Params) (map[string]Result, string, bool) {
	t.Helper()
	results := Check(context.Background(), NewResolver([]string{addr}), p, Records(p))
	var b bytes.Buffer
	ok := WriteReport(&b, results)
	byName := map[string]Result{}
	for _, r := range results {
		byName[r.Type+" "+r.Name] = r
	}
	return byName, b.String(), ok
}

func TestCheckRight(t *testing.T) {
	z, addr := startZone(t)
	p := params(t)
	z.set(t, rightZone(p)...)
	results, report, ok := check(t, addr, p)
	if !ok {
		t.Errorf("check failed on a right zone:\n%s", report)
	}
	for k, r := range results {
		if r.Status != OK {
			t.Errorf("%s: %s %v %s", k, r.Status, r.Found, r.Note)
		}
	}
}

func TestCheckWrong(t *testing.T) {
	z, addr := startZone(t)
	p := params(t)
	other, err := dkim.Generate(t.TempDir(), "example.test", "postern", dkim.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	z.set(t,
		"example.test. 300 IN MX 10 mx.elsewhere.net.", // wrong
		"mail.example.test. 300 IN A 198.51.100.99",    // wrong
		// AAAA missing
		`example.test. 300 IN TXT "v=spf1 mx -all"`,
		`example.test. 300 IN TXT "v=spf1 ip4:198.51.100.0/24 -all"`, // two SPF records: wrong
		other.Record(), // another key: wrong
		// DMARC missing
		`_mta-sts.example.test. 300 IN TXT "v=STSv1; id=old1;"`, // stale id
		"mta-sts.example.test. 300 IN A 198.51.100.7",           // not ours
		"_submissions._tcp.example.test. 300 IN SRV 0 1 4650 mail.example.test.",
		"_pop3._tcp.example.test. 300 IN SRV 10 1 110 mail.example.test.", // the listener is off
		"10.113.0.203.in-addr.arpa. 300 IN PTR host-203-0-113-10.isp.example.",
	)
	results, report, ok := check(t, addr, p)
	if ok {
		t.Errorf("check passed on a wrong zone:\n%s", report)
	}
	want := map[string]Status{
		"MX example.test.":                        Wrong,
		"A mail.example.test.":                    Wrong,
		"AAAA mail.example.test.":                 Missing,
		"TXT example.test.":                       Wrong,
		"TXT postern._domainkey.example.test.":    Wrong,
		"TXT _dmarc.example.test.":                Missing,
		"TXT _mta-sts.example.test.":              Wrong,
		"CNAME mta-sts.example.test.":             Wrong,
		"TXT _smtp._tls.example.test.":            Missing,
		"SRV _submissions._tcp.example.test.":     Wrong,
		"SRV _submission._tcp.example.test.":      Missing,
		"SRV _pop3._tcp.example.test.":            Wrong,
		"CNAME autoconfig.example.test.":          Missing,
		"PTR 10.113.0.203.in-addr.arpa.":          Wrong,
		"PTR " + reverseName(p.PublicIPs[1]) + "": Missing,
	}
	for k, st := range want {
		if results[k].Status != st {
			t.Errorf("%s: %s (%v %s), want %s", k, results[k].Status, results[k].Found, results[k].Note, st)
		}
	}
	for _, s := range []string{"WRONG     MX    example.test. (required)", "found 10 mx.elsewhere.net.", "MISSING   TXT   _dmarc.example.test. (required)", "RFC 7208 §4.5"} {
		if !strings.Contains(report, s) {
			t.Errorf("report lacks %q:\n%s", s, report)
		}
	}
	// Only optional records wrong: the check passes.
	z.set(t, append(rightZone(p)[:18], `_mta-sts.example.test. 300 IN TXT "v=STSv1; id=old1;"`)...)
	if _, report, ok := check(t, addr, p); !ok {
		t.Errorf("an optional record failed the check:\n%s", report)
	}
}

// SPF variants that allow the server pass; one that does not, fails.
func TestCheckSPFVariants(t *testing.T) {
	z, addr := startZone(t)
	p := params(t)
	for spf, want := range map[string]Status{
		"v=spf1 a mx ~all":                      OK,
		"v=spf1 ip4:203.0.113.10 -all":          OK,
		"v=spf1 include:_spf.provider.net -all": OK,
		"v=spf1 -all":                           Wrong,
		"v=spf10 mx -all":                       Missing,
	} {
		z.set(t, `example.test. 300 IN TXT "`+spf+`"`)
		r := checkOne(context.Background(), NewResolver([]string{addr}), p, Records(p)[3])
		if r.Kind != SPF || r.Status != want {
			t.Errorf("%q: %v %s, want %s", spf, r.Kind, r.Status, want)
		}
	}
}

// A server that does not answer makes required records fail as unchecked.
func TestCheckDeadServer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	p := params(t)
	rs := Records(p)[:1]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := Check(ctx, NewResolver([]string{addr}), p, rs)
	if res[0].Status != Unchecked || !res[0].Failed() {
		t.Errorf("MX with no DNS server: %+v", res[0])
	}
}

func TestHintsWithoutPublicIP(t *testing.T) {
	p := params(t)
	p.PublicIPs = nil
	p.DKIM = nil
	var b bytes.Buffer
	WriteZone(&b, p.Domain, Records(p))
	for _, s := range []string{"; mail.example.test.\t3600\tIN\tA\t203.0.113.10", "[dns] public_ip", "postern dkim keygen example.test"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("zone lacks %q:\n%s", s, b.String())
		}
	}
}

func TestPTRAddr(t *testing.T) {
	for _, ip := range []string{"203.0.113.10", "2001:db8::10", "::1"} {
		a := netip.MustParseAddr(ip)
		if got := ptrAddr(reverseName(a)); got != a.String() {
			t.Errorf("%s -> %s -> %s", ip, reverseName(a), got)
		}
	}
	for _, bad := range []string{"", "x.in-addr.arpa.", "1.2.3.in-addr.arpa.", "a.b.ip6.arpa."} {
		if ptrAddr(bad) != "" {
			t.Errorf("%q accepted", bad)
		}
	}
}

package dmarc

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"postern/internal/testkit/fakedns"
	"postern/mailauth/dkimverify"
	"postern/mailauth/spf"
	"postern/resolver"
)

func TestParseRecord(t *testing.T) {
	full := &Record{Policy: Reject, SubdomainPolicy: Quarantine, DKIM: Strict, SPF: Relaxed, Percent: 50,
		AggregateURIs: []string{"mailto:agg@example.test", "https://r.example.test/dmarc"}, FailureURIs: []string{"mailto:f@example.test"},
		FailureOptions: "1:d", ReportInterval: 3600}
	tests := []struct {
		txt  string
		want *Record
		err  error
	}{
		{"v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=50; rua=mailto:agg@example.test!10m, https://r.example.test/dmarc; ruf=mailto:f@example.test; fo=1:d; ri=3600", full, nil},
		{"v=DMARC1;p=none", &Record{Policy: None, SubdomainPolicy: None, DKIM: Relaxed, SPF: Relaxed, Percent: 100, ReportInterval: 86400}, nil},
		{"  v = DMARC1 ;  P = Reject ; ", &Record{Policy: Reject, SubdomainPolicy: Reject, DKIM: Relaxed, SPF: Relaxed, Percent: 100, ReportInterval: 86400}, nil},
		{"V=dmarc1; p=quarantine; p=none; adkim=S", &Record{Policy: Quarantine, SubdomainPolicy: Quarantine, DKIM: Strict, SPF: Relaxed, Percent: 100, ReportInterval: 86400}, nil},
		// Lenient where go-msgauth's parser gives up (RFC 7489 §6.6.3).
		{"v=DMARC1; rua=mailto:a@example.test", &Record{Policy: None, SubdomainPolicy: None, DKIM: Relaxed, SPF: Relaxed, Percent: 100, ReportInterval: 86400, AggregateURIs: []string{"mailto:a@example.test"}}, nil},
		{"v=DMARC1; p=reject; sp=bogus; rua=mailto:a@example.test", &Record{Policy: None, SubdomainPolicy: None, DKIM: Relaxed, SPF: Relaxed, Percent: 100, ReportInterval: 86400, AggregateURIs: []string{"mailto:a@example.test"}}, nil},
		{"v=DMARC1; p=reject; pct=150; rf=iodef; fo=x; adkim=q; ri=-1; future=1; junk", &Record{Policy: Reject, SubdomainPolicy: Reject, DKIM: Relaxed, SPF: Relaxed, Percent: 100, ReportInterval: 86400, FailureOptions: "x"}, nil},
		{"v=DMARC1; p=reject; pct=0", &Record{Policy: Reject, SubdomainPolicy: Reject, DKIM: Relaxed, SPF: Relaxed, Percent: 0, ReportInterval: 86400}, nil},
		{"v=DMARC1; p=reject; pct=abc", &Record{Policy: Reject, SubdomainPolicy: Reject, DKIM: Relaxed, SPF: Relaxed, Percent: 100, ReportInterval: 86400}, nil},
		{"v=DMARC1", nil, ErrNoPolicy},
		{"v=DMARC1; p=maybe", nil, ErrNoPolicy},
		{"v=DMARC1; p=reject; sp=maybe", nil, ErrNoPolicy},
		{"v=DMARC1; p=maybe; rua=notauri", nil, ErrNoPolicy},
		{"v=spf1 -all", nil, ErrNotDMARC},
		{"p=reject; v=DMARC1", nil, ErrNotDMARC},
		{"v=DMARC2; p=reject", nil, ErrNotDMARC},
		{"", nil, ErrNotDMARC},
	}
	for _, tc := range tests {
		got, err := ParseRecord(tc.txt)
		if err != tc.err || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\n got %+v, %v\nwant %+v, %v", tc.txt, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{"v=DMARC1; p=reject; sp=none; pct=20; rua=mailto:x@y", "v=DMARC1;;;=;p", "v=DMARC1; rua=,,!,mailto:!", "V=DMARC1; pct=-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseRecord(s)
		if (rec == nil) == (err == nil) {
			t.Fatalf("%q: record %v and error %v", s, rec, err)
		}
		if rec == nil {
			return
		}
		valid := []Policy{None, Quarantine, Reject}
		if !slices.Contains(valid, rec.Policy) || !slices.Contains(valid, rec.SubdomainPolicy) ||
			rec.Percent < 0 || rec.Percent > 100 || (rec.DKIM != Relaxed && rec.DKIM != Strict) || (rec.SPF != Relaxed && rec.SPF != Strict) {
			t.Fatalf("%q: %+v", s, rec)
		}
	})
}

func TestOrgDomain(t *testing.T) {
	for in, want := range map[string]string{
		"Mail.EXAMPLE.CO.UK.": "example.co.uk",
		"a.b.c.example.com":   "example.com",
		"example.com":         "example.com",
		"co.uk":               "co.uk",
		"com":                 "com",
		"foo.github.io":       "foo.github.io",
		"x.foo.github.io":     "foo.github.io",
		"mail.bücher.example": "xn--bcher-kva.example",
		"sub.example.test":    "example.test",
	} {
		d, ok := Normalize(in)
		if !ok {
			t.Errorf("%q: not normalized", in)
			continue
		}
		if got := OrgDomain(d); got != want {
			t.Errorf("OrgDomain(%q) = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"", ".", "[192.0.2.1]", "a..b"} {
		if d, ok := Normalize(bad); ok {
			t.Errorf("Normalize(%q) = %q", bad, d)
		}
	}
	if !Aligned("mail.example.test", "example.test", Relaxed) || Aligned("mail.example.test", "example.test", Strict) ||
		Aligned("example.test", "other.test", Relaxed) || !Aligned("example.test", "example.test", Strict) {
		t.Error("Aligned")
	}
}

func setup(t *testing.T) (*fakedns.Server, *resolver.Resolver) {
	t.Helper()
	srv := fakedns.Start(t)
	r, err := resolver.New(resolver.Config{Servers: []string{srv.Addr}, Timeout: 2 * time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return srv, r
}

func spfOutcome(res spf.Result, domain string) spf.Outcome {
	return spf.Outcome{Result: res, Identity: spf.MailFrom, Domain: domain}
}

func dkimSig(res dkimverify.Result, domain string) []dkimverify.Signature {
	return []dkimverify.Signature{{Result: res, Domain: domain}}
}

func TestEvaluate(t *testing.T) {
	srv, r := setup(t)
	srv.AddTXT("_dmarc.reject.test", 300, "v=DMARC1; p=reject")
	srv.AddTXT("_dmarc.strict.test", 300, "v=DMARC1; p=reject; aspf=s; adkim=s")
	srv.AddTXT("_dmarc.quarantine.test", 300, "v=DMARC1; p=quarantine")
	srv.AddTXT("_dmarc.none.test", 300, "v=DMARC1; p=none; rua=mailto:r@none.test")
	srv.AddTXT("_dmarc.org.test", 300, "v=DMARC1; p=reject; sp=quarantine")
	srv.AddTXT("_dmarc.own.org.test", 300, "v=DMARC1; p=none")
	srv.AddTXT("_dmarc.other.org.test", 300, "some other text")
	srv.AddTXT("_dmarc.nosp.test", 300, "v=DMARC1; p=reject")
	srv.AddTXT("_dmarc.two.test", 300, "v=DMARC1; p=reject")
	srv.AddTXT("_dmarc.two.test", 300, "v=DMARC1; p=none")
	srv.AddTXT("_dmarc.twoorg.test", 300, "v=DMARC1; p=reject")
	srv.AddTXT("_dmarc.sub.twoorg.test", 300, "v=DMARC1; p=none")
	srv.AddTXT("_dmarc.sub.twoorg.test", 300, "v=DMARC1; p=quarantine")
	srv.AddTXT("_dmarc.invalid.test", 300, "v=DMARC1; p=sometimes")
	srv.Fail("_dmarc.flaky.test", dns.RcodeServerFailure)

	tests := []struct {
		name     string
		from     string
		spf      spf.Outcome
		dkim     []dkimverify.Signature
		result   Result
		policy   Policy
		disp     Policy
		policyAt string
	}{
		{"spf relaxed", "reject.test", spfOutcome(spf.Pass, "bounces.reject.test"), nil, Pass, Reject, None, "reject.test"},
		{"dkim relaxed", "mail.reject.test", spf.Outcome{}, dkimSig(dkimverify.Pass, "reject.test"), Pass, Reject, None, "reject.test"},
		{"spf unaligned", "reject.test", spfOutcome(spf.Pass, "esp.test"), dkimSig(dkimverify.Fail, "reject.test"), Fail, Reject, Reject, "reject.test"},
		{"dkim unaligned", "reject.test", spfOutcome(spf.Fail, "reject.test"), dkimSig(dkimverify.Pass, "esp.test"), Fail, Reject, Reject, "reject.test"},
		{"spf strict", "strict.test", spfOutcome(spf.Pass, "bounces.strict.test"), nil, Fail, Reject, Reject, "strict.test"},
		{"dkim strict", "strict.test", spf.Outcome{}, dkimSig(dkimverify.Pass, "mail.strict.test"), Fail, Reject, Reject, "strict.test"},
		{"strict exact", "Strict.TEST", spfOutcome(spf.Pass, "strict.test"), nil, Pass, Reject, None, "strict.test"},
		{"quarantine", "quarantine.test", spfOutcome(spf.SoftFail, "quarantine.test"), nil, Fail, Quarantine, Quarantine, "quarantine.test"},
		{"p=none", "none.test", spfOutcome(spf.Fail, "none.test"), nil, Fail, None, None, "none.test"},
		{"org fallback sp", "mail.org.test", spf.Outcome{}, nil, Fail, Quarantine, Quarantine, "org.test"},
		{"org itself p", "org.test", spf.Outcome{}, nil, Fail, Reject, Reject, "org.test"},
		{"own record wins", "own.org.test", spf.Outcome{}, nil, Fail, None, None, "own.org.test"},
		{"non-DMARC text falls back", "other.org.test", spf.Outcome{}, nil, Fail, Quarantine, Quarantine, "org.test"},
		{"no sp: p for subdomains", "deep.sub.nosp.test", spf.Outcome{}, nil, Fail, Reject, Reject, "nosp.test"},
		{"no record", "nothing.test", spfOutcome(spf.Fail, "nothing.test"), nil, ResultNone, "", None, ""},
		{"two records", "two.test", spf.Outcome{}, nil, ResultNone, "", None, ""},
		{"two records stop the walk", "sub.twoorg.test", spf.Outcome{}, nil, ResultNone, "", None, ""},
		{"invalid record", "invalid.test", spf.Outcome{}, nil, ResultNone, "", None, ""},
		{"dns failure", "flaky.test", spfOutcome(spf.Pass, "mail.flaky.test"), nil, TempError, "", None, ""},
		{"dns failure strict pass", "flaky.test", spfOutcome(spf.Pass, "flaky.test"), nil, Pass, "", None, ""},
		{"spf temperror", "reject.test", spfOutcome(spf.TempError, "reject.test"), dkimSig(dkimverify.Fail, "reject.test"), TempError, Reject, None, "reject.test"},
		{"dkim temperror", "reject.test", spfOutcome(spf.Fail, "reject.test"), dkimSig(dkimverify.TempError, "reject.test"), TempError, Reject, None, "reject.test"},
		{"unaligned temperror", "reject.test", spfOutcome(spf.TempError, "esp.test"), nil, Fail, Reject, Reject, "reject.test"},
		{"bad author", "[192.0.2.1]", spf.Outcome{}, nil, ResultNone, "", None, ""},
	}
	for _, tc := range tests {
		ev := Evaluate(context.Background(), r, tc.from, tc.spf, tc.dkim, nil)
		if ev.Result != tc.result || ev.Policy != tc.policy || ev.Disposition != tc.disp || ev.PolicyDomain != tc.policyAt {
			t.Errorf("%s: %s policy %q disposition %q at %q (%s); want %s %q %q at %q",
				tc.name, ev.Result, ev.Policy, ev.Disposition, ev.PolicyDomain, ev.Reason, tc.result, tc.policy, tc.disp, tc.policyAt)
		}
	}
}

func TestPercent(t *testing.T) {
	srv, r := setup(t)
	srv.AddTXT("_dmarc.r30.test", 300, "v=DMARC1; p=reject; pct=30")
	srv.AddTXT("_dmarc.q30.test", 300, "v=DMARC1; p=quarantine; pct=30")
	srv.AddTXT("_dmarc.r0.test", 300, "v=DMARC1; p=reject; pct=0")
	fixed := func(n int) func(int) int { return func(int) int { return n } }
	for _, tc := range []struct {
		domain string
		roll   int
		want   Policy
	}{
		{"r30.test", 29, Reject},
		{"r30.test", 30, Quarantine},
		{"q30.test", 0, Quarantine},
		{"q30.test", 99, None},
		{"r0.test", 0, Quarantine},
	} {
		ev := Evaluate(context.Background(), r, tc.domain, spf.Outcome{}, nil, fixed(tc.roll))
		if ev.Result != Fail || ev.Disposition != tc.want {
			t.Errorf("%s roll %d: %s %q, want %q", tc.domain, tc.roll, ev.Result, ev.Disposition, tc.want)
		}
	}
	// The default source samples close to the percentage.
	selected := 0
	for range 2000 {
		if Evaluate(context.Background(), r, "r30.test", spf.Outcome{}, nil, nil).Disposition == Reject {
			selected++
		}
	}
	if selected < 400 || selected > 800 {
		t.Errorf("pct=30 selected %d of 2000", selected)
	}
}

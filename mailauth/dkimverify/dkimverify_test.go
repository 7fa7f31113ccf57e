//go:debug rsa1024min=0

package dkimverify

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"

	"postern/internal/testkit/dkimtest"
	"postern/internal/testkit/fakedns"
	"postern/mimeinfo"
	"postern/resolver"
)

const message = "From: Alice <alice@example.test>\r\n" +
	"To: bob@postern.test\r\n" +
	"Subject: quarterly numbers\r\n" +
	"Date: Mon, 5 Jan 2026 10:00:00 +0000\r\n" +
	"Message-ID: <1@example.test>\r\n" +
	"\r\n" +
	"Hello Bob,\r\n\r\nthe numbers are attached.\r\n"

type env struct {
	srv *fakedns.Server
	r   *resolver.Resolver
}

func setup(t *testing.T) *env {
	t.Helper()
	srv := fakedns.Start(t)
	r, err := resolver.New(resolver.Config{Servers: []string{srv.Addr}, Timeout: 2 * time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv, r}
}

func (e *env) publish(domain, selector string, k dkimtest.Key) {
	e.srv.AddTXT(selector+"._domainkey."+domain, 300, k.Record())
}

func (e *env) verify(t *testing.T, msg []byte) []Signature {
	t.Helper()
	n := mimeinfo.HeaderLen(msg)
	return Verify(e.r.TXTFunc(context.Background()), msg[:n], bytes.NewReader(msg[n:]))
}

func results(sigs []Signature) string {
	var s []string
	for _, g := range sigs {
		s = append(s, g.Domain+"="+string(g.Result))
	}
	return strings.Join(s, " ")
}

func TestAlgorithms(t *testing.T) {
	e := setup(t)
	keys := map[string]dkimtest.Key{
		"rsa1024": dkimtest.RSA(t, 1024),
		"rsa2048": dkimtest.RSA(t, 2048),
		"ed":      dkimtest.Ed25519(t),
		"rsa512":  dkimtest.RSA(t, 512),
	}
	for sel, k := range keys {
		e.publish("example.test", sel, k)
	}
	for sel, want := range map[string]Result{"rsa1024": Pass, "rsa2048": Pass, "ed": Pass, "rsa512": Fail} {
		signed := dkimtest.Sign(t, []byte(message), "example.test", sel, keys[sel], nil)
		sigs := e.verify(t, signed)
		if len(sigs) != 1 || sigs[0].Result != want {
			t.Errorf("%s: %+v, want %s", sel, sigs, want)
			continue
		}
		s := sigs[0]
		if s.Domain != "example.test" || s.Selector != sel || s.Identifier != "@example.test" || len(s.HeaderB) != 12 {
			t.Errorf("%s: %+v", sel, s)
		}
	}
	signed := dkimtest.Sign(t, []byte(message), "example.test", "ed", keys["ed"], nil)
	if a := e.verify(t, signed)[0].Algorithm; a != "ed25519-sha256" {
		t.Errorf("algorithm %q", a)
	}
}

func TestTampering(t *testing.T) {
	e := setup(t)
	k := dkimtest.RSA(t, 2048)
	e.publish("example.test", "s", k)
	signed := dkimtest.Sign(t, []byte(message), "example.test", "s", k, nil)

	body := bytes.Replace(signed, []byte("numbers are"), []byte("numbers were"), 1)
	subject := bytes.Replace(signed, []byte("quarterly"), []byte("yearly"), 1)
	// Fields are picked from the bottom (RFC 6376 §5.4.2): a From added
	// above passes unless the signer listed From once more than it had
	// ("oversigning"); DMARC's rule on several From fields catches the rest.
	from := append([]byte("From: mallory@evil.test\r\n"), signed...)
	over := dkimtest.Sign(t, []byte(message), "example.test", "s", k, []string{"From", "From", "Subject"})
	overFrom := append([]byte("From: mallory@evil.test\r\n"), over...)
	// Unsigned fields may be added and reordered freely.
	unsigned := append([]byte("Received: from x by y\r\nX-Extra: 1\r\n"), signed...)
	// Relaxed canonicalization forgives white space and field-name case.
	relaxed := bytes.Replace(signed, []byte("Subject: quarterly numbers"), []byte("SUBJECT:   quarterly \t numbers "), 1)

	for name, tc := range map[string]struct {
		msg  []byte
		want Result
	}{
		"body":     {body, Fail},
		"subject":  {subject, Fail},
		"from":     {from, Pass},
		"over":     {over, Pass},
		"overFrom": {overFrom, Fail},
		"unsigned": {unsigned, Pass},
		"relaxed":  {relaxed, Pass},
	} {
		if sigs := e.verify(t, tc.msg); len(sigs) != 1 || sigs[0].Result != tc.want {
			t.Errorf("%s: %+v, want %s", name, sigs, tc.want)
		}
	}
}

func TestKeyRecords(t *testing.T) {
	e := setup(t)
	k := dkimtest.RSA(t, 1024)
	e.srv.AddTXT("revoked._domainkey.example.test", 300, "v=DKIM1; k=rsa; p=")
	e.srv.AddTXT("garbage._domainkey.example.test", 300, "v=DKIM1; p=!!!notbase64")
	e.srv.AddTXT("two._domainkey.example.test", 300, k.Record())
	e.srv.AddTXT("two._domainkey.example.test", 300, dkimtest.RSA(t, 1024).Record())
	e.srv.AddTXT("wrongtype._domainkey.example.test", 300, strings.Replace(k.Record(), "k=rsa", "k=ed25519", 1))
	e.srv.Fail("servfail._domainkey.example.test", dns.RcodeServerFailure)
	e.srv.Add(`slow._domainkey.example.test. 300 IN TXT "x"`)
	e.srv.Delay("slow._domainkey.example.test", time.Minute)

	for sel, want := range map[string]Result{
		"missing":   PermError,
		"revoked":   PermError,
		"garbage":   PermError,
		"two":       PermError,
		"wrongtype": PermError,
		"servfail":  TempError,
	} {
		signed := dkimtest.Sign(t, []byte(message), "example.test", sel, k, nil)
		if sigs := e.verify(t, signed); len(sigs) != 1 || sigs[0].Result != want {
			t.Errorf("%s: %+v, want %s", sel, sigs, want)
		}
	}

	// A slow key server ends with the context, as temperror.
	signed := dkimtest.Sign(t, []byte(message), "example.test", "slow", k, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	n := mimeinfo.HeaderLen(signed)
	start := time.Now()
	sigs := Verify(e.r.TXTFunc(ctx), signed[:n], bytes.NewReader(signed[n:]))
	if len(sigs) != 1 || sigs[0].Result != TempError {
		t.Errorf("slow: %+v", sigs)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("slow key lookup held verification %v", d)
	}
}

func TestSeveralSignatures(t *testing.T) {
	e := setup(t)
	k1, k2 := dkimtest.RSA(t, 1024), dkimtest.Ed25519(t)
	e.publish("example.test", "a", k1)
	e.publish("esp.test", "b", k2)
	msg := dkimtest.Sign(t, []byte(message), "example.test", "a", k1, nil)
	msg = dkimtest.Sign(t, msg, "esp.test", "b", k2, nil)
	msg = dkimtest.Sign(t, msg, "nokey.test", "c", k1, nil)
	if got := results(e.verify(t, msg)); got != "nokey.test=permerror esp.test=pass example.test=pass" {
		t.Fatalf("%s", got)
	}

	// Past MaxSignatures, signatures are reported unverified.
	for i := range 7 {
		msg = dkimtest.Sign(t, msg, fmt.Sprintf("d%d.test", i), "a", k1, nil)
	}
	sigs := e.verify(t, msg)
	if len(sigs) != 10 {
		t.Fatalf("%d signatures", len(sigs))
	}
	for i, s := range sigs {
		if (i >= MaxSignatures) != (s.Result == Policy) {
			t.Errorf("signature %d (%s): %s", i, s.Domain, s.Result)
		}
		if strings.HasPrefix(s.Domain, "d") {
			asked := e.srv.Queries("a._domainkey."+s.Domain, dns.TypeTXT) > 0
			if asked != (i < MaxSignatures) {
				t.Errorf("signature %d (%s): key asked %v", i, s.Domain, asked)
			}
		}
	}
}

func TestDomainCase(t *testing.T) {
	e := setup(t)
	k := dkimtest.RSA(t, 1024)
	e.publish("example.test", "s", k)
	signed := dkimtest.Sign(t, []byte(message), "Example.TEST", "s", k, nil)
	sigs := e.verify(t, signed)
	if len(sigs) != 1 || sigs[0].Result != Pass || sigs[0].Domain != "example.test" {
		t.Fatalf("%+v", sigs)
	}
	// The library compares i= and d= case-sensitively: documented as a
	// departure, and at least it is not a pass.
	signed = dkimtest.SignWith(t, []byte(message), &dkim.SignOptions{Domain: "example.test", Selector: "s", Signer: k.Signer, Identifier: "alice@Example.TEST"})
	if sigs := e.verify(t, signed); sigs[0].Result != PermError {
		t.Fatalf("%+v", sigs)
	}
	signed = dkimtest.SignWith(t, []byte(message), &dkim.SignOptions{Domain: "example.test", Selector: "s", Signer: k.Signer, Identifier: "alice@sub.example.test"})
	if sigs := e.verify(t, signed); sigs[0].Result != Pass || sigs[0].Identifier != "alice@sub.example.test" {
		t.Fatalf("%+v", sigs)
	}
}

func TestBrokenSignatures(t *testing.T) {
	e := setup(t)
	k := dkimtest.RSA(t, 1024)
	e.publish("example.test", "s", k)
	signed := dkimtest.Sign(t, []byte(message), "example.test", "s", k, nil)
	sigField := func(msg []byte) string {
		for name, raw := range mimeinfo.Fields(msg) {
			if isSignatureField(name) {
				return string(raw)
			}
		}
		return ""
	}
	orig := sigField(signed)
	rest := signed[len(orig):]
	expired := dkimtest.SignWith(t, []byte(message), &dkim.SignOptions{Domain: "example.test", Selector: "s", Signer: k.Signer, Expiration: time.Now().Add(-time.Hour)})

	for name, tc := range map[string]struct {
		field string
		msg   []byte
		want  Result
	}{
		"garbage":    {field: "DKIM-Signature: ;;;===;\r\n", want: PermError},
		"empty":      {field: "DKIM-Signature:\r\n", want: PermError},
		"version":    {field: strings.Replace(orig, "v=1", "v=2", 1), want: PermError},
		"sha1":       {field: strings.Replace(orig, "rsa-sha256", "rsa-sha1", 1), want: PermError},
		"no from":    {field: "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=s; h=subject; bh=AA==; b=AA==\r\n", want: PermError},
		"l= tag":     {field: "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=s; l=10; h=from; bh=AA==; b=AA==\r\n", want: Fail},
		"bad base64": {field: "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=s; h=from; bh=!!; b=AA==\r\n", want: PermError},
		"expired":    {msg: expired, want: PermError},
		"huge":       {field: "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=s; h=from; bh=AA==; b=" + strings.Repeat("A", 9000) + "\r\n", want: PermError},
		"many keys":  {field: "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=s; h=from" + strings.Repeat(":to", 300) + "; bh=AA==; b=AA==\r\n", want: PermError},
	} {
		msg := tc.msg
		if msg == nil {
			msg = append([]byte(tc.field), rest...)
		}
		if sigs := e.verify(t, msg); len(sigs) != 1 || sigs[0].Result != tc.want {
			t.Errorf("%s: %+v, want %s", name, sigs, tc.want)
		}
	}
	if sigs := e.verify(t, []byte(message)); len(sigs) != 0 {
		t.Errorf("unsigned message: %+v", sigs)
	}
}

func TestHostileHeader(t *testing.T) {
	e := setup(t)
	k := dkimtest.RSA(t, 1024)
	e.publish("example.test", "s", k)
	// Megabytes of fields nobody signed are not handed to the library.
	var junk bytes.Buffer
	for i := range 50000 {
		fmt.Fprintf(&junk, "X-Junk-%d: %s\r\n", i, strings.Repeat("j", 60))
	}
	signed := dkimtest.Sign(t, []byte(message), "example.test", "s", k, nil)
	msg := append(junk.Bytes(), signed...)
	start := time.Now()
	if sigs := e.verify(t, msg); len(sigs) != 1 || sigs[0].Result != Pass {
		t.Fatalf("%+v", sigs)
	}
	t.Logf("3 MB of unsigned fields: %v", time.Since(start))

	// A signed field folded into thousands of lines is refused, not unfolded.
	folded := "Subject: x" + strings.Repeat("\r\n y", 5000) + "\r\n"
	msg = dkimtest.Sign(t, []byte(strings.Replace(message, "Subject: quarterly numbers\r\n", folded, 1)), "example.test", "s", k, nil)
	if sigs := e.verify(t, msg); len(sigs) != 1 || sigs[0].Result != PermError || !strings.Contains(sigs[0].Reason, "too large") {
		t.Fatalf("%+v", sigs)
	}
	// So is a signature that names a field repeated past the bounds.
	many := strings.Repeat("To: x@y.test\r\n", 1200)
	msg = dkimtest.Sign(t, []byte(many+message), "example.test", "s", k, nil)
	if sigs := e.verify(t, msg); len(sigs) != 1 || sigs[0].Result != PermError {
		t.Fatalf("%+v", sigs)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte("DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=s; h=from:to; bh=AA==; b=AA==\r\nFrom: a@b\r\n\r\n"), []byte("body\r\n"))
	f.Add([]byte("DKIM-Signature: d=; h=::::; i=@\r\n\r\n"), []byte(""))
	f.Add([]byte("dkim-signature:\r\n\tv=1;\r\n\r\n"), []byte("\r\n.\r\n"))
	f.Fuzz(func(t *testing.T, header, body []byte) {
		lookup := func(string) ([]string, error) {
			return []string{"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}, nil
		}
		sigs := Verify(lookup, header, bytes.NewReader(body))
		for _, s := range sigs {
			if s.Result == "" || s.Result == Pass && s.Domain == "" {
				t.Fatalf("%+v", s)
			}
		}
	})
}

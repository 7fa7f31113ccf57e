package authres

import (
	"bytes"
	"strings"
	"testing"

	msgauthres "github.com/emersion/go-msgauth/authres"

	"postern/mimeinfo"
)

func TestField(t *testing.T) {
	got := Field("mx.postern.test", []Result{
		{Method: "spf", Value: "pass", Props: []Prop{{"smtp", "mailfrom", "alice@example.test"}}},
		{Method: "dkim", Value: "pass", Props: []Prop{{"header", "d", "example.test"}, {"header", "s", "sel"}, {"header", "b", "AbC+/12"}}},
		{Method: "dkim", Value: "fail", Reason: `body hash "did" not verify`, Props: []Prop{{"header", "d", "esp.test"}, {"header", "i", ""}}},
		{Method: "dmarc", Value: "fail", Props: []Prop{{"header", "from", "example.test"}, {"policy", "dmarc", "reject"}}},
		{Method: "spf", Value: "none", Props: []Prop{{"smtp", "mailfrom", `"odd local"@example.test`}, {"smtp", "helo", "[192.0.2.1]"}}},
	})
	want := "Authentication-Results: mx.postern.test;\r\n" +
		"\tspf=pass smtp.mailfrom=alice@example.test;\r\n" +
		"\tdkim=pass header.d=example.test header.s=sel header.b=\"AbC+/12\";\r\n" +
		"\tdkim=fail reason=\"body hash \\\"did\\\" not verify\" header.d=esp.test;\r\n" +
		"\tdmarc=fail header.from=example.test policy.dmarc=reject;\r\n" +
		"\tspf=none smtp.mailfrom=\"\\\"odd local\\\"@example.test\" smtp.helo=\"[192.0.2.1]\"\r\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// go-msgauth's parser reads it back.
	value := strings.TrimPrefix(mimeinfo.FieldValue([]byte(got)), "")
	id, results, err := msgauthres.Parse(value)
	if err != nil || id != "mx.postern.test" || len(results) != 5 {
		t.Fatalf("parse: %q %d %v", id, len(results), err)
	}
	if r, ok := results[0].(*msgauthres.SPFResult); !ok || r.Value != msgauthres.ResultPass || r.From != "alice@example.test" {
		t.Fatalf("spf %+v", results[0])
	}
	if got := Field("mx.postern.test", nil); got != "Authentication-Results: mx.postern.test; none\r\n" {
		t.Fatalf("%q", got)
	}
}

func TestFieldCannotBeInjected(t *testing.T) {
	evil := "a@b.test\r\nX-Injected: yes"
	got := Field("mx.postern.test", []Result{{Method: "spf", Value: "pass\r\nX: y", Reason: "r\nX-Injected: 1",
		Props: []Prop{{"smtp", "mailfrom", evil}, {"header", "from", strings.Repeat("x", 5000)}}}})
	if strings.Count(got, "\n") != 2 || strings.Contains(got, "\r\nX") || len(got) > 800 {
		t.Fatalf("%q", got)
	}
	for name := range mimeinfo.Fields([]byte(got)) {
		if string(name) != "Authentication-Results" {
			t.Fatalf("field %q", name)
		}
	}
}

func TestServID(t *testing.T) {
	for in, want := range map[string]string{
		"mx.example.test; spf=pass":           "mx.example.test",
		"  mx.example.test 1; none":           "mx.example.test",
		"(comment (nested)) mx.example.test;": "mx.example.test",
		`"mx.example.test"; none`:             "mx.example.test",
		`"mx.\"ex\"ample"; none`:              `mx."ex"ample`,
		"mx.example.test(comment); none":      "mx.example.test",
		"mx.bücher.test; none":                "mx.bücher.test",
		"\r\n\tmx.example.test;":              "mx.example.test",
	} {
		if got, ok := ServID(in); !ok || got != want {
			t.Errorf("ServID(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "   ", "(unterminated", `"unterminated`, "; spf=pass", `""; none`} {
		if got, ok := ServID(bad); ok {
			t.Errorf("ServID(%q) = %q", bad, got)
		}
	}
}

func TestRemove(t *testing.T) {
	header := "Received: from a by b\r\n" +
		"Authentication-Results: mx.postern.test; spf=pass smtp.mailfrom=x@y.test\r\n" +
		"Authentication-Results: other.test; dkim=pass header.d=y.test\r\n" +
		"authentication-results : MX.Postern.TEST.\r\n\t; dmarc=pass\r\n" +
		"Authentication-Results: (forged) \"mx.postern.test\"; none\r\n" +
		"Authentication-Results: mx.postern.test.evil.test; none\r\n" +
		"Authentication-Results: xn--mx-bcher-95a.test; none\r\n" +
		"Subject: hi\r\n" +
		"\r\n"
	got := string(Remove([]byte(header), "mx.postern.test"))
	want := "Received: from a by b\r\n" +
		"Authentication-Results: other.test; dkim=pass header.d=y.test\r\n" +
		"Authentication-Results: mx.postern.test.evil.test; none\r\n" +
		"Authentication-Results: xn--mx-bcher-95a.test; none\r\n" +
		"Subject: hi\r\n" +
		"\r\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// A U-label identifier matches its A-label form (RFC 8601 §5).
	if got := string(Remove([]byte(header), "mx-bücher.test")); strings.Contains(got, "xn--") {
		t.Fatalf("A-label field kept:\n%s", got)
	}
	plain := []byte("Subject: x\r\n\r\n")
	if out := Remove(plain, "mx.postern.test"); &out[0] != &plain[0] {
		t.Fatal("unchanged header was copied")
	}
	// Only the header block is examined; what follows stays as is.
	withBody := []byte("Authentication-Results: mx.postern.test; none\r\n\r\nAuthentication-Results: mx.postern.test; none\r\n")
	if got := string(Remove(withBody, "mx.postern.test")); got != "\r\nAuthentication-Results: mx.postern.test; none\r\n" {
		t.Fatalf("%q", got)
	}
}

func FuzzRemove(f *testing.F) {
	f.Add([]byte("Authentication-Results: mx.postern.test; none\r\nSubject: x\r\n\r\nbody"), "mx.postern.test")
	f.Add([]byte("Authentication-Results: (c\r\n (d)) \"mx\\\".p\"; x\r\n\r\n"), "mx\".p")
	f.Add([]byte("authentication-results:mx\r\n\tcont\r\n"), "MX.")
	f.Fuzz(func(t *testing.T, header []byte, id string) {
		out := Remove(header, id)
		if len(out) > len(header) {
			t.Fatal("output grew")
		}
		// Nothing claiming our identifier is left, and removal is idempotent.
		again := Remove(out, id)
		if !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n%q\n%q", out, again)
		}
		for name, raw := range mimeinfo.Fields(out) {
			if isAuthResults(name) {
				if got, ok := ServID(mimeinfo.FieldValue(raw)); ok && normalizeID(got) == normalizeID(id) {
					t.Fatalf("left %q", raw)
				}
			}
		}
	})
}

func FuzzServID(f *testing.F) {
	for _, s := range []string{"mx; none", `"a\"b"; x`, "((((", "(a\\) b) c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, ok := ServID(v)
		if ok && id == "" {
			t.Fatal("empty identifier")
		}
	})
}

package mailaddr

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in, want, key string
	}{
		{"alice@example.com", "alice@example.com", "alice@example.com"},
		{"Alice@Example.COM", "Alice@example.com", "alice@example.com"},
		{"alice@example.com.", "alice@example.com", "alice@example.com"},
		// RFC 5322 §3.4.1: a quoted dot-atom is the same local part.
		{`"alice"@example.com`, "alice@example.com", "alice@example.com"},
		{`"john doe"@example.com`, `"john doe"@example.com`, `"john doe"@example.com`},
		{`"a\"b\\c"@example.com`, `"a\"b\\c"@example.com`, `"a\"b\\c"@example.com`},
		{`"a@b"@example.com`, `"a@b"@example.com`, `"a@b"@example.com`},
		{`"\a"@example.com`, "a@example.com", "a@example.com"},
		// RFC 6531 §3.3: UTF-8 local parts; IDNA domains to A-labels.
		{"jörg@Bücher.Example", "jörg@xn--bcher-kva.example", "jörg@xn--bcher-kva.example"},
		{"user@xn--bcher-kva.example", "user@xn--bcher-kva.example", "user@xn--bcher-kva.example"},
		{"用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v", "用户@xn--fsqu00a.xn--4rr70v"},
		// RFC 5321 §4.1.3 address literals, in canonical text.
		{"postmaster@[192.0.2.1]", "postmaster@[192.0.2.1]", "postmaster@[192.0.2.1]"},
		{"postmaster@[ipv6:2001:DB8:0::1]", "postmaster@[IPv6:2001:db8::1]", "postmaster@[ipv6:2001:db8::1]"},
		{"a+tag@example.com", "a+tag@example.com", "a+tag@example.com"},
		{"!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@example.com"},
	}
	for _, c := range cases {
		a, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if a.String() != c.want || a.Key() != c.key {
			t.Errorf("Parse(%q) = %q key %q, want %q key %q", c.in, a.String(), a.Key(), c.want, c.key)
		}
		if Normalize("  "+c.in+" ") != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, Normalize(c.in), c.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	long := strings.Repeat("a", 65)
	cases := []struct {
		in   string
		want error
	}{
		{"", ErrSyntax},
		{"alice", ErrSyntax},
		{"@example.com", ErrLocal},
		{"alice@", ErrDomain},
		{"a b@example.com", ErrLocal},
		{"a..b@example.com", ErrLocal},
		{".a@example.com", ErrLocal},
		{"a.@example.com", ErrLocal},
		{`"unterminated@example.com`, ErrLocal},
		{`"a"b@example.com`, ErrSyntax},
		{"\"a\x01\"@example.com", ErrLocal},
		{"\"a\\\x01\"@example.com", ErrLocal},
		{long + "@example.com", ErrLocal},
		{"a@exa mple.com", ErrDomain},
		{"a@-example.com", ErrDomain},
		{"a@example-.com", ErrDomain},
		{"a@exa_mple.com", ErrDomain},
		{"a@example..com", ErrDomain},
		{"a@.example.com", ErrDomain},
		{"a@example.com..", ErrDomain},
		{"a@" + strings.Repeat("a", 64) + ".com", ErrDomain},
		{"a@" + strings.Repeat("abcdefghi.", 26) + "com", ErrDomain},
		{"a@[192.0.2.1", ErrDomain},
		{"a@[300.0.2.1]", ErrDomain},
		{"a@[IPv6:192.0.2.1]", ErrDomain},
		{"a@[2001:db8::1]", ErrDomain},
		{"a@[IPv6:fe80::1%eth0]", ErrDomain},
		{"a@xn--zz.example", ErrDomain},
		{"a@ex\xffample.com", ErrDomain},
		{"\xff@example.com", ErrLocal},
		{"a@b@example.com", ErrDomain},
	}
	for _, c := range cases {
		if a, err := Parse(c.in); !errors.Is(err, c.want) {
			t.Errorf("Parse(%q) = %q, %v; want %v", c.in, a, err, c.want)
		}
	}
}

// go-smtp hands over paths with the local part unquoted.
func TestParseUnquoted(t *testing.T) {
	a, err := ParseUnquoted("john doe@Example.com")
	if err != nil || a.String() != `"john doe"@example.com` {
		t.Fatalf("ParseUnquoted: %q %v", a, err)
	}
	if a, err := ParseUnquoted("a@b@example.com"); err != nil || a.String() != `"a@b"@example.com` {
		t.Fatalf("ParseUnquoted with @ in the local part: %q %v", a, err)
	}
	if _, err := ParseUnquoted("a\r\nb@example.com"); !errors.Is(err, ErrLocal) {
		t.Fatalf("control characters: %v", err)
	}
}

func TestNormalizeOddText(t *testing.T) {
	cases := map[string]string{
		"@Example.COM":     "@example.com", // a catch-all alias
		" bob@EXAMPLE.com": "bob@example.com",
		"no-at-sign":       "no-at-sign",
		"a b@Example.com":  `"a b"@example.com`,
		"x@Exa_mple.COM":   "x@exa_mple.com",
	}
	for in, want := range cases {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
	if Key("Bob@Example.com") != Key("bob@EXAMPLE.COM") {
		t.Error("keys differ by case")
	}
}

func TestDomain(t *testing.T) {
	if got := Domain("x@Bücher.example."); got != "xn--bcher-kva.example" {
		t.Errorf("Domain = %q", got)
	}
	if got := Domain("no-domain"); got != "" {
		t.Errorf("Domain of no address = %q", got)
	}
	for _, d := range []string{"localhost", "mail.example.com", "[127.0.0.1]", "[IPv6:::1]"} {
		if !ValidDomain(d) {
			t.Errorf("ValidDomain(%q) = false", d)
		}
	}
}

// FuzzParse: no input makes Parse panic; whatever it accepts is written in
// a normal form that parses back to the same address, is valid UTF-8, has
// no control characters and fits a path.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"alice@example.com", `"a b"@x.y`, "jörg@bücher.example", "a@[IPv6:::1]",
		"a@[1.2.3.4]", `"\""@x`, "a@xn--bcher-kva.example", "@x", "a@b@c", "\"\xff\"@x", "a@" + strings.Repeat("x.", 130)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		n := Normalize(s)
		if !utf8.ValidString(s) && utf8.ValidString(n) && err == nil {
			t.Fatalf("invalid UTF-8 %q accepted", s)
		}
		if err != nil {
			return
		}
		w := a.String()
		if len(w)+2 > MaxPath || !utf8.ValidString(w) || strings.ContainsAny(w, "\r\n\x00") {
			t.Fatalf("Parse(%q) wrote %q", s, w)
		}
		b, err := Parse(w)
		if err != nil || b != a {
			t.Fatalf("Parse(%q) = %#v; its form %q parses to %#v, %v", s, a, w, b, err)
		}
		if n != w {
			t.Fatalf("Normalize(%q) = %q, Parse wrote %q", s, n, w)
		}
	})
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"a@b", "@b", "a@", "", "a@b@c", "\"a b\"@c", "a+b@c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		local, domain, ok := Split(s)
		if !ok {
			return
		}
		if local == "" || domain == "" || local+"@"+domain != s || strings.Contains(domain, "@") {
			t.Fatalf("Split(%q) = %q, %q", s, local, domain)
		}
	})
}

package srs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func rewriter(domain string, now *time.Time, secrets ...string) *Rewriter {
	r := &Rewriter{Domain: domain, Now: func() time.Time { return *now }}
	for _, s := range secrets {
		r.Secrets = append(r.Secrets, []byte(s))
	}
	return r
}

func TestRoundTrip(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fwd := rewriter("fwd.test", &now, "first secret 123456")

	got, err := fwd.Forward("alice@example.test")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "SRS0=") || !strings.HasSuffix(got, "=example.test=alice@fwd.test") || !IsSRS(got) {
		t.Fatalf("Forward = %q", got)
	}
	if back, err := fwd.Reverse(got); err != nil || back != "alice@example.test" {
		t.Fatalf("Reverse = %q %v", back, err)
	}
	// Case changes on the way back do not matter.
	if back, err := fwd.Reverse(strings.ToUpper(got)); err != nil || !strings.EqualFold(back, "alice@example.test") {
		t.Fatalf("upper case: %q %v", back, err)
	}
	if back, err := fwd.Reverse(strings.ToLower(got)); err != nil || back != "alice@example.test" {
		t.Fatalf("lower case: %q %v", back, err)
	}
	// Separators '+' and '-' after the tag are read too.
	if back, err := fwd.Reverse("SRS0+" + strings.TrimPrefix(got, "SRS0=")); err != nil || back != "alice@example.test" {
		t.Fatalf("'+' separator: %q %v", back, err)
	}

	for _, keep := range []string{"", "bob@fwd.test", "bob@FWD.test."} {
		if out, err := fwd.Forward(keep); err != nil || out != keep {
			t.Errorf("Forward(%q) = %q %v", keep, out, err)
		}
	}
	if _, err := fwd.Forward(`"a b"@example.test`); err != ErrUnsupported {
		t.Errorf("quoted local part: %v", err)
	}
	if _, err := fwd.Reverse("alice@fwd.test"); err != ErrNotSRS {
		t.Errorf("plain address: %v", err)
	}
}

func TestSecondHop(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	first := rewriter("first.test", &now, "the first forwarder secret")
	second := rewriter("second.test", &now, "the second forwarder secret")
	third := rewriter("third.test", &now, "the third forwarder secret")

	a, _ := first.Forward("alice@example.test")
	b, err := second.Forward(a)
	if err != nil || !strings.HasPrefix(b, "SRS1=") || !strings.Contains(b, "=first.test==") || !strings.HasSuffix(b, "@second.test") {
		t.Fatalf("second hop: %q %v", b, err)
	}
	c, err := third.Forward(b)
	if err != nil || !strings.HasPrefix(c, "SRS1=") || !strings.Contains(c, "=first.test==") || !strings.HasSuffix(c, "@third.test") {
		t.Fatalf("third hop: %q %v", c, err)
	}
	// A bounce goes from the last forwarder straight to the first.
	back, err := third.Reverse(c)
	if err != nil || back != a {
		t.Fatalf("third.Reverse = %q %v, want %q", back, err, a)
	}
	if back, err := second.Reverse(b); err != nil || back != a {
		t.Fatalf("second.Reverse = %q %v", back, err)
	}
	if back, err := first.Reverse(back); err != nil || back != "alice@example.test" {
		t.Fatalf("first.Reverse = %q %v", back, err)
	}
	// Each forwarder verifies only its own hashes.
	if _, err := second.Reverse(c); err != ErrForged {
		t.Fatalf("foreign SRS1: %v", err)
	}
}

func TestForgedAndExpired(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fwd := rewriter("fwd.test", &now, "first secret 123456")
	addr, _ := fwd.Forward("alice@example.test")
	parts := strings.SplitN(addr, "=", 5) // SRS0 hash ts domain local@fwd

	forged := []string{
		strings.Replace(addr, "alice", "mallory", 1),
		strings.Replace(addr, "example.test", "evil.test", 1),
		"SRS0=" + flip(parts[1]) + "=" + strings.Join(parts[2:], "="),
		"SRS0=" + parts[1] + "=" + flip(parts[2]) + "=" + strings.Join(parts[3:], "="),
	}
	for _, f := range forged {
		if _, err := fwd.Reverse(f); err != ErrForged {
			t.Errorf("%q: %v, want ErrForged", f, err)
		}
	}
	other := rewriter("fwd.test", &now, "some other secret 1234")
	if _, err := other.Reverse(addr); err != ErrForged {
		t.Errorf("other secret: %v", err)
	}
	for _, bad := range []string{"SRS0=@fwd.test", "SRS0=abc@fwd.test", "SRS0=h=t=d=l@fwd.test", "SRS0==ab=d=l@fwd.test",
		"SRS1=@fwd.test", "SRS1=h=first.test@fwd.test", "SRS1=h=first.test=x@fwd.test", "SRS0=aaaaaa=!!=d=l@fwd.test"} {
		if _, err := fwd.Reverse(bad); err != ErrMalformed && err != ErrForged {
			t.Errorf("%q: %v", bad, err)
		}
	}

	// 21 days is still fine, 22 is too old; one day ahead is a fast clock.
	now = now.Add(21 * day)
	if _, err := fwd.Reverse(addr); err != nil {
		t.Errorf("21 days: %v", err)
	}
	now = now.Add(day)
	if _, err := fwd.Reverse(addr); err != ErrExpired {
		t.Errorf("22 days: %v", err)
	}
	now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(-day)
	if _, err := fwd.Reverse(addr); err != nil {
		t.Errorf("a day ahead: %v", err)
	}
	now = now.Add(-day)
	if _, err := fwd.Reverse(addr); err != ErrExpired {
		t.Errorf("two days ahead: %v", err)
	}
}

func TestRotation(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	old := rewriter("fwd.test", &now, "the old secret 123456")
	addr, _ := old.Forward("alice@example.test")
	rotated := rewriter("fwd.test", &now, "the new secret 123456", "the old secret 123456")
	if back, err := rotated.Reverse(addr); err != nil || back != "alice@example.test" {
		t.Fatalf("%q %v", back, err)
	}
	fresh, _ := rotated.Forward("alice@example.test")
	if _, err := old.Reverse(fresh); err != ErrForged {
		t.Fatalf("new address verified with the old secret only: %v", err)
	}
}

func TestTimestampCycle(t *testing.T) {
	// The two-character day count wraps every 1024 days: an address made on
	// the last day of a cycle is one day old on the first day of the next.
	base := time.Unix(0, 0).UTC().Add(1023 * day)
	now := base
	fwd := rewriter("fwd.test", &now, "first secret 123456")
	addr, _ := fwd.Forward("a@example.test")
	now = base.Add(day)
	if _, err := fwd.Reverse(addr); err != nil {
		t.Fatalf("across the wrap: %v", err)
	}
}

func TestLoadSecrets(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", SecretFile)
	s1, err := LoadSecrets(path)
	if err != nil || len(s1) != 1 || len(s1[0]) < 32 {
		t.Fatalf("%q %v", s1, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	s2, err := LoadSecrets(path)
	if err != nil || string(s2[0]) != string(s1[0]) {
		t.Fatal("secret changed between loads")
	}
	os.WriteFile(path, []byte("# comment\nnew secret that is long\n\n"+string(s1[0])+"\n"), 0o600)
	s3, err := LoadSecrets(path)
	if err != nil || len(s3) != 2 || string(s3[0]) != "new secret that is long" {
		t.Fatalf("%q %v", s3, err)
	}
	os.WriteFile(path, []byte("short\n"), 0o600)
	if _, err := LoadSecrets(path); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("short secret: %v", err)
	}
	os.WriteFile(path, []byte("# nothing\n"), 0o600)
	if _, err := LoadSecrets(path); err == nil {
		t.Fatal("empty file accepted")
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'a' {
		b[0] = 'b'
	} else {
		b[0] = 'a'
	}
	return string(b)
}

func FuzzReverse(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fwd := rewriter("fwd.test", &now, "first secret 123456")
	for _, s := range []string{"alice@example.test", "SRS0=abcdef=AB=example.test=x@fwd.test", "SRS1=x=y==z@fwd.test", "srs0+a=b=c=d@e", "@", "SRS1==="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		back, err := fwd.Reverse(addr)
		if err == nil && back == "" {
			t.Fatal("empty result without error")
		}
		// Whatever Forward accepts, Reverse undoes.
		out, err := fwd.Forward(addr)
		if err != nil || out == addr {
			return
		}
		back, err = fwd.Reverse(out)
		want := addr
		if strings.HasPrefix(strings.ToUpper(addr), "SRS") && IsSRS(addr) {
			return // an SRS address of another forwarder reverses to that forwarder
		}
		if err != nil || back != want {
			t.Fatalf("Forward(%q) = %q, Reverse = %q %v", addr, out, back, err)
		}
	})
}

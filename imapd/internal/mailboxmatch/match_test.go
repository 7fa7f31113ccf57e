package mailboxmatch

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		pat, name string
		want      bool
	}{
		{"*", "INBOX", true},
		{"*", "a/b/c", true},
		{"%", "a", true},
		{"%", "a/b", false},
		{"a/%", "a/b", true},
		{"a/%", "a/b/c", false},
		{"a/*", "a/b/c", true},
		{"a*", "a", true},
		{"a%c", "abc", true},
		{"a%c", "a/c", false},
		{"a*c", "a/c", true},
		{"INBOX", "INBOX", true},
		{"INBOX", "INBOX/x", false},
		{"", "", true},
		{"", "a", false},
		{"*a", "bbba", true},
		{"*a", "bbbab", false},
		{"%/%", "a/b", true},
		{"%/%", "a/b/c", false},
		{"*/%", "a/b/c", true},
	}
	for _, c := range cases {
		p, err := Compile(c.pat, '/')
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Match(c.name); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pat, c.name, got, c.want)
		}
	}
}

func TestTooManyWildcards(t *testing.T) {
	if _, err := Compile(strings.Repeat("*a", 40), '/'); err != ErrTooManyWildcards {
		t.Fatalf("err = %v, want ErrTooManyWildcards", err)
	}
}

// The pattern that takes go-imap's MatchList 23 s must stay fast here;
// the benchmark gives the figure, the test only the answer.
func TestPathologicalPattern(t *testing.T) {
	p, err := Compile(strings.Repeat("*a", 10)+"b", '/')
	if err != nil {
		t.Fatal(err)
	}
	if p.Match(strings.Repeat("a", 40)) {
		t.Fatal("matched a name without b")
	}
}

func BenchmarkPathological(b *testing.B) {
	p, _ := Compile(strings.Repeat("*a", 16)+"b", '/')
	name := strings.Repeat("a", 200)
	for i := 0; i < b.N; i++ {
		p.Match(name)
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("*a%b", "xa/ab")
	f.Add("%/%", "a/b")
	f.Fuzz(func(t *testing.T, pat, name string) {
		p, err := Compile(pat, '/')
		if err != nil {
			return
		}
		got := p.Match(name)
		// A pattern without wildcards matches exactly itself.
		if !strings.ContainsAny(pat, "*%") && got != (pat == name) {
			t.Fatalf("Match(%q, %q) = %v", pat, name, got)
		}
		if pat == "*" && !got {
			t.Fatalf("* did not match %q", name)
		}
	})
}

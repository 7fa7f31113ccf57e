package mimeinfo

import (
	"fmt"
	"strings"
	"testing"
)

// scanAll runs a Matcher over pieces separated by Break and returns what
// it found.
func scanAll(m *Matcher, n int, pieces ...string) []bool {
	s := m.NewScan()
	for i, p := range pieces {
		if i > 0 {
			s.Break()
		}
		s.Write(p)
	}
	found := make([]bool, n)
	for i := range found {
		found[i] = s.Found(i)
	}
	return found
}

func TestMatcher(t *testing.T) {
	pats := []string{"he", "she", "his", "hers", "HERS", "", "Straße", "ǅ", "k", "zz", "s\u017f"}
	m := NewMatcher(pats)
	for _, tc := range []struct {
		pieces []string
		want   string // one letter per pattern: y found, n not
	}{
		{[]string{"ushers"}, "yynyyynnnnn"},
		{[]string{"USHERS"}, "yynyyynnnnn"},
		{[]string{"STRASSE"}, "nnnnnynnnny"},      // "ß" is not "ss" under simple folding, "sſ" is
		{[]string{"die straẞe"}, "nnnnnyynnnn"},   // capital sharp s folds to ß
		{[]string{"ǆ ǅ"}, "nnnnnynynnn"},          // titlecase digraph matches its orbit
		{[]string{"\u212a"}, "nnnnnynnynn"},       // Kelvin sign folds to k
		{[]string{"SS"}, "nnnnnynnnny"},           // long s folds to s
		{[]string{"h", "ers"}, "nnnnnynnnnn"},     // no match across a Break
		{[]string{"hi", "s"}, "nnnnnynnnnn"},      // nor here
		{[]string{"\xffhis\xfe"}, "nnynnynnnnn"},  // invalid UTF-8 reads as U+FFFD
		{[]string{"z", "z", "zz"}, "nnnnnynnnyn"}, // found in a later piece
		{[]string{""}, "nnnnnynnnnn"},             // an empty text has the empty pattern
		{[]string{"his hers she"}, "yyyyyynnnnn"}, // overlapping and suffix patterns
		{[]string{"ahishers"}, "yyyyyynnnnn"},     // dictionary links: "she" ends inside "shers"
	} {
		got := scanAll(m, len(pats), tc.pieces...)
		var sb strings.Builder
		for _, f := range got {
			if f {
				sb.WriteByte('y')
			} else {
				sb.WriteByte('n')
			}
		}
		if sb.String() != tc.want {
			t.Errorf("%q: got %s, want %s", tc.pieces, sb.String(), tc.want)
		}
	}
	// No text written: not even the empty pattern.
	s := m.NewScan()
	if s.Found(5) || s.Done() {
		t.Error("found something in no text")
	}
	// Reset forgets, and Done tells when nothing is left to find.
	s.Write("ushers his Straße ǅ k zz ss")
	if !s.Done() {
		t.Error("not done after every pattern was found")
	}
	s.Reset()
	if s.Found(0) || s.Done() {
		t.Error("Reset kept what was found")
	}
}

// Each key of a SEARCH behaves as ContainsFold, whatever else is in the set.
func TestMatcherAgreesWithContainsFold(t *testing.T) {
	texts := []string{
		"The quick brown fox jumps over the lazy dog",
		"Grüße aus Zürich, ÄÖÜ äöü, İstanbul ıi",
		"aaaaaaaaaaaaaaaaaaaaaaab",
		"ΣίσυφοςΣ σς ς",
		"",
	}
	pats := []string{"QUICK", "fox jumps", "lazy cat", "GRÜSSE", "grüße", "zürich", "äöü", "ISTANBUL", "İ",
		"aab", "aaaaaaaaaaaaaaaaaaaaaaaaa", "a", "ab", "b", "σίσυφοσς", "σΣ", "", " "}
	m := NewMatcher(pats)
	for _, text := range texts {
		got := scanAll(m, len(pats), text)
		for i, p := range pats {
			if want := ContainsFold(text, p); got[i] != want {
				t.Errorf("%q in %q: got %v, want %v", p, text, got[i], want)
			}
		}
	}
}

// Many patterns sharing prefixes and suffixes, as a wide SEARCH has.
func TestMatcherManyPatterns(t *testing.T) {
	var pats []string
	for i := 0; i < 2000; i++ {
		pats = append(pats, fmt.Sprintf("word%04d", i))
	}
	m := NewMatcher(pats)
	text := strings.Repeat("filler text ", 100) + "WORD0007 word1999 word 0008 Word20000"
	got := scanAll(m, len(pats), text)
	for i, p := range pats {
		if want := ContainsFold(text, p); got[i] != want {
			t.Errorf("%s: got %v, want %v", p, got[i], want)
		}
	}
	// Each pattern alone in a text: nodes with many children (all ten
	// digits, all 256 bytes) find each of them.
	for i, p := range pats {
		got := scanAll(m, len(pats), "x "+strings.ToUpper(p)+" y")
		for k := range pats {
			if got[k] != (k == i) {
				t.Fatalf("text %q: pattern %s found=%v", p, pats[k], got[k])
			}
		}
	}
	var all []string
	for c := 0; c < 256; c++ {
		all = append(all, "q"+string(rune(c)))
	}
	m = NewMatcher(all)
	for c := 0; c < 256; c++ {
		if got := scanAll(m, len(all), all[c]); !got[c] {
			t.Errorf("pattern %q not found", all[c])
		}
	}
}

func FuzzMatcher(f *testing.F) {
	f.Add("ushers", "he\x00she\x00his\x00hers")
	f.Add("Grüße STRASSE straẞe", "straße\x00SS\x00ß")
	f.Add("aaaaab", "aab\x00aaab\x00b\x00")
	f.Add("\xff\xfe\xc3", "\xff\x00\xef\xbf\xbd")
	f.Add("word0050 x7 X8", "word005\x00x\x00")
	f.Fuzz(func(t *testing.T, text, patterns string) {
		pats := strings.Split(patterns, "\x00")
		if len(pats) > 64 {
			pats = pats[:64]
		}
		// Siblings: trie nodes with more children than a linear scan takes.
		for _, p := range pats[:min(len(pats), 3)] {
			for _, c := range "0123456789abcdef" {
				pats = append(pats, p+string(c))
			}
		}
		m := NewMatcher(pats)
		s := m.NewScan()
		// In two pieces without a Break: the same as one text.
		half := len(text) / 2
		for half > 0 && half < len(text) && text[half]&0xc0 == 0x80 {
			half--
		}
		s.Write(text[:half])
		s.Write(text[half:])
		for i, p := range pats {
			if got, want := s.Found(i), ContainsFold(text, p); got != want {
				t.Fatalf("%q in %q: got %v, want %v", p, text, got, want)
			}
		}
	})
}

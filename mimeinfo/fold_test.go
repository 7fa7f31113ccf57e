package mimeinfo

import "testing"

func TestContainsFold(t *testing.T) {
	for _, tc := range []struct {
		s, sub string
		want   bool
	}{
		{"Viele Grüße", "GRÜßE", true},
		{"Viele Grüße", "grüße", true},
		{"Viele Grüße", "GRÜSSE", false}, // full folding would match; simple does not
		{"GROẞ", "groß", true},           // U+1E9E folds to ß
		{"Ärger", "ärger", true},
		{"ПРИВЕТ мир", "привет МИР", true},
		{"ΟΔΥΣΣΕΥΣ", "οδυσσευς", true}, // final sigma is in the orbit of Σ
		{"20 \u212A", "20 k", true},    // Kelvin sign
		{"20 k", "20 \u212A", true},
		{"plain ascii", "ASCII", true},
		{"plain ascii", "asciii", false},
		{"abc", "", true},
		{"", "a", false},
		{"bad \xff octet", "BAD", true},
		{"日本語", "本", true},
	} {
		if got := ContainsFold(tc.s, tc.sub); got != tc.want {
			t.Errorf("ContainsFold(%q, %q) = %v", tc.s, tc.sub, got)
		}
	}
	if got := FoldCase("AbC \xff"); got != "abc \uFFFD" {
		t.Errorf("FoldCase: %q", got)
	}
	if FoldCase("Ä ẞ Σ") != FoldCase("ä ß ς") {
		t.Errorf("FoldCase differs on one orbit: %q %q", FoldCase("Ä ẞ Σ"), FoldCase("ä ß ς"))
	}
	if s := "already folded"; FoldCase(s) != s {
		t.Errorf("FoldCase changed folded ASCII")
	}
}

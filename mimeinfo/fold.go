package mimeinfo

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ContainsFold reports whether s contains substr, ignoring case (RFC 3501
// §6.4.4: "case-insensitive substring") by Unicode simple case folding: "Ä"
// matches "ä" and "ẞ" matches "ß", but "SS" does not match "ß". ASCII is
// compared in place; other text is folded first.
func ContainsFold(s, substr string) bool {
	if substr == "" {
		return true
	}
	if !isASCII(substr) || !isASCII(s) {
		return strings.Contains(FoldCase(s), FoldCase(substr))
	}
	if len(substr) > len(s) {
		return false
	}
	first := lowerASCII(substr[0])
	for i := 0; i+len(substr) <= len(s); i++ {
		if lowerASCII(s[i]) != first {
			continue
		}
		j := 1
		for j < len(substr) && lowerASCII(s[i+j]) == lowerASCII(substr[j]) {
			j++
		}
		if j == len(substr) {
			return true
		}
	}
	return false
}

// FoldCase maps every character of s to one representative of its simple
// case folding orbit (unicode.SimpleFold), so two strings are equal after
// FoldCase exactly when they are equal under simple case folding. The
// representative is the lowest code point of the orbit, lowered when it is
// ASCII, so that ASCII text folds to its lower case. Invalid UTF-8 becomes
// U+FFFD.
func FoldCase(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s // nothing to fold
	}
	b := make([]byte, i, len(s))
	copy(b, s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, lowerASCII(c))
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		b = utf8.AppendRune(b, foldRune(r))
		i += n
	}
	return string(b)
}

func foldRune(r rune) rune {
	low := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		low = min(low, f)
	}
	if low < utf8.RuneSelf {
		return rune(lowerASCII(byte(low)))
	}
	return low
}

func lowerASCII(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

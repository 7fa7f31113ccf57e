package sqlite

import "strings"

// Keywords are stored as one column: sorted, separated by a space (a
// keyword is an atom and has none, RFC 3501 §9).
func encodeKeywords(kws []string) string { return strings.Join(kws, " ") }

func decodeKeywords(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

package mailport

import (
	"slices"
	"strings"
)

// System flags, RFC 3501 §2.3.2, and the keywords sources map to.
const (
	Seen     = `\Seen`
	Answered = `\Answered`
	Flagged  = `\Flagged`
	Deleted  = `\Deleted`
	Draft    = `\Draft`

	// Forwarded is the keyword for a message that was forwarded (Maildir's
	// "passed", Thunderbird's Forwarded bit); RFC 5788 registers it.
	Forwarded = "$Forwarded"
	// Important is the keyword of RFC 8457 §2, for Gmail's Important label.
	Important = "$Important"
)

var systemFlags = []string{Seen, Answered, Flagged, Deleted, Draft}

// maxKeyword bounds a keyword's length: the keywords come from files and
// servers we do not trust, and no client uses longer ones.
const maxKeyword = 200

// IsKeyword reports whether s can be an IMAP keyword: an atom (RFC 3501 §9,
// flag-keyword) of printable ASCII without atom-specials, not starting with
// "\", at most 200 octets.
func IsKeyword(s string) bool {
	if s == "" || len(s) > maxKeyword {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
		switch c {
		case '(', ')', '{', '%', '*', '"', '\\', ']':
			return false
		}
	}
	return true
}

// NormalizeFlags returns flags in the form Message.Flags promises: system flags
// spelled as RFC 3501 does and first, in a fixed order, then the keywords
// sorted, duplicates (case-insensitive) removed. \Recent and other unknown
// backslash flags are dropped (a client cannot set them, RFC 3501 §2.3.2), and
// so are keywords that are not atoms.
func NormalizeFlags(flags []string) []string {
	if len(flags) == 0 {
		return nil
	}
	var out, kws []string
	for _, sf := range systemFlags {
		for _, f := range flags {
			if strings.EqualFold(f, sf) {
				out = append(out, sf)
				break
			}
		}
	}
	for _, f := range flags {
		if !IsKeyword(f) {
			continue
		}
		if !slices.ContainsFunc(kws, func(k string) bool { return strings.EqualFold(k, f) }) {
			kws = append(kws, f)
		}
	}
	slices.Sort(kws)
	return append(out, kws...)
}

// HasFlag reports whether flags holds f, case-insensitively.
func HasFlag(flags []string, f string) bool {
	return slices.ContainsFunc(flags, func(g string) bool { return strings.EqualFold(g, f) })
}

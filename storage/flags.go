package storage

import (
	"sort"
	"strings"
)

// Flags is the set of system flags of a message (RFC 3501 §2.3.2), as bits.
// \Recent is not among them: it belongs to a session, not to the message.
type Flags uint8

const (
	FlagSeen Flags = 1 << iota
	FlagAnswered
	FlagFlagged
	FlagDeleted
	FlagDraft
)

var flagNames = []struct {
	f    Flags
	name string
}{
	{FlagSeen, `\Seen`},
	{FlagAnswered, `\Answered`},
	{FlagFlagged, `\Flagged`},
	{FlagDeleted, `\Deleted`},
	{FlagDraft, `\Draft`},
}

// FlagSet is every flag of a message: system flags and keywords.
type FlagSet struct {
	System   Flags
	Keywords []string // sorted, no duplicates
}

// ParseFlags builds a FlagSet from flag names as clients send them. System flag
// names are case-insensitive; \Recent and other unknown backslash flags are
// dropped, since a client cannot set them (RFC 3501 §2.3.2).
func ParseFlags(names []string) FlagSet {
	var fs FlagSet
	for _, n := range names {
		if strings.HasPrefix(n, `\`) {
			for _, fn := range flagNames {
				if strings.EqualFold(n, fn.name) {
					fs.System |= fn.f
				}
			}
			continue
		}
		if n != "" {
			fs.Keywords = append(fs.Keywords, n)
		}
	}
	fs.Keywords = normKeywords(fs.Keywords)
	return fs
}

// Names returns the flags as IMAP spells them, system flags first.
func (fs FlagSet) Names() []string {
	out := make([]string, 0, 5+len(fs.Keywords))
	for _, fn := range flagNames {
		if fs.System&fn.f != 0 {
			out = append(out, fn.name)
		}
	}
	return append(out, fs.Keywords...)
}

// Has reports whether the system flag f is set.
func (fs FlagSet) Has(f Flags) bool { return fs.System&f != 0 }

// HasKeyword reports whether the keyword is set; keywords compare case-insensitively.
func (fs FlagSet) HasKeyword(k string) bool {
	for _, kw := range fs.Keywords {
		if strings.EqualFold(kw, k) {
			return true
		}
	}
	return false
}

// Equal reports whether two flag sets are the same.
func (fs FlagSet) Equal(o FlagSet) bool {
	if fs.System != o.System || len(fs.Keywords) != len(o.Keywords) {
		return false
	}
	for i := range fs.Keywords {
		if fs.Keywords[i] != o.Keywords[i] {
			return false
		}
	}
	return true
}

// FlagOp says how StoreFlags combines the given flags with the present ones.
type FlagOp uint8

const (
	FlagsReplace FlagOp = iota // FLAGS
	FlagsAdd                   // +FLAGS
	FlagsRemove                // -FLAGS
)

// Apply returns fs changed by op with arg.
func (fs FlagSet) Apply(op FlagOp, arg FlagSet) FlagSet {
	switch op {
	case FlagsReplace:
		return FlagSet{System: arg.System, Keywords: append([]string(nil), arg.Keywords...)}
	case FlagsAdd:
		return FlagSet{System: fs.System | arg.System, Keywords: normKeywords(append(append([]string(nil), fs.Keywords...), arg.Keywords...))}
	default:
		var kws []string
		for _, k := range fs.Keywords {
			if !arg.HasKeyword(k) {
				kws = append(kws, k)
			}
		}
		return FlagSet{System: fs.System &^ arg.System, Keywords: kws}
	}
}

// normKeywords sorts and removes duplicates (case-insensitively, keeping the
// first spelling).
func normKeywords(kws []string) []string {
	if len(kws) == 0 {
		return nil
	}
	sort.Strings(kws)
	out := kws[:0]
	for _, k := range kws {
		dup := false
		for _, o := range out {
			if strings.EqualFold(o, k) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, k)
		}
	}
	return out
}

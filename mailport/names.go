package mailport

import (
	"strings"
	"unicode/utf8"
)

// Delimiter separates the levels of a Postern mailbox name.
const Delimiter = "/"

// The names Postern gives its special-use mailboxes (RFC 6154), as it creates
// them with every account.
const (
	Inbox   = "INBOX"
	Sent    = "Sent"
	Drafts  = "Drafts"
	Trash   = "Trash"
	Junk    = "Junk"
	Archive = "Archive"
)

// specialNames are the names other mail systems give to their special-use
// folders, lower case; a top-level folder with one of them is imported into
// Postern's folder of that use, so that sent mail lands in Sent.
var specialNames = map[string]string{
	"inbox":            Inbox,
	"sent":             Sent,
	"sent items":       Sent,
	"sent messages":    Sent,
	"sent mail":        Sent,
	"sent-mail":        Sent,
	"drafts":           Drafts,
	"draft":            Drafts,
	"trash":            Trash,
	"deleted items":    Trash,
	"deleted messages": Trash,
	"bin":              Trash,
	"junk":             Junk,
	"spam":             Junk,
	"junk e-mail":      Junk,
	"junk email":       Junk,
	"bulk mail":        Junk,
	"archive":          Archive,
	"archives":         Archive,
}

// SpecialName returns the Postern name for a top-level folder name that other
// systems use for a special-use folder ("Sent Items" → "Sent", "Spam" →
// "Junk", "inbox" → "INBOX"), or name unchanged.
func SpecialName(name string) string {
	if p, ok := specialNames[strings.ToLower(name)]; ok {
		return p
	}
	return name
}

// SpecialUseName returns the Postern name for a mailbox with an RFC 6154
// special-use attribute, or "" for attributes that name no Postern mailbox.
func SpecialUseName(attr string) string {
	switch strings.ToLower(attr) {
	case `\sent`:
		return Sent
	case `\drafts`:
		return Drafts
	case `\trash`:
		return Trash
	case `\junk`:
		return Junk
	case `\archive`:
		return Archive
	}
	return ""
}

// Name joins levels read from a source into a Postern mailbox name. Each
// level is made acceptable to the store (storage.ValidateName is the
// authority): invalid UTF-8, control characters, the wildcards "*" and "%"
// and the delimiter "/" become "_", and an empty level becomes "_". The first
// level goes through SpecialName; INBOX is spelled in upper case, also as
// the parent of a hierarchy (RFC 3501 §5.1).
func Name(levels ...string) string {
	var sb strings.Builder
	for i, l := range levels {
		l = CleanLevel(l)
		if i == 0 {
			l = SpecialName(l)
		} else {
			sb.WriteString(Delimiter)
		}
		sb.WriteString(l)
	}
	return sb.String()
}

// CleanLevel returns one level of a mailbox name with what the store refuses
// in a name replaced by "_".
func CleanLevel(l string) string {
	if l == "" {
		return "_"
	}
	clean := true
	for _, r := range l {
		if bad(r) {
			clean = false
			break
		}
	}
	if clean && utf8.ValidString(l) {
		return l
	}
	var sb strings.Builder
	for _, r := range strings.ToValidUTF8(l, "_") {
		if bad(r) {
			r = '_'
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

func bad(r rune) bool {
	return r < 0x20 || r == 0x7f || r == '*' || r == '%' || r == '/' || r == utf8.RuneError
}

// Rebase places name under into, for an import into a chosen mailbox: INBOX
// becomes into itself and every other mailbox a child of into. An empty into
// leaves name as it is.
func Rebase(name, into string) string {
	switch {
	case into == "":
		return name
	case name == Inbox:
		return into
	case strings.HasPrefix(name, Inbox+Delimiter):
		return into + name[len(Inbox):]
	}
	return into + Delimiter + name
}

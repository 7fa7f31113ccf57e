package maildir

import (
	"strings"

	"postern/mailport"
)

// A Maildir message file is named BASE ":2," FLAGS (cr.yp.to/proto/maildir.html):
// BASE is unique in the folder and stays when the flags change; FLAGS are
// letters in ASCII order. Where ":" cannot be in a file name (Windows file
// systems, as mbsync writes them) ";" or "!" stands for it.

// infoSeps are the separators tried, in order, before "2,".
var infoSeps = []string{":2,", ";2,", "!2,"}

// SplitName splits a message file name into its base and its flag letters.
// A name without the info part (new/, or ":1," experimental info) has no flags.
func SplitName(name string) (base, letters string) {
	for _, sep := range infoSeps {
		if i := strings.LastIndex(name, sep); i >= 0 {
			return name[:i], name[i+len(sep):]
		}
	}
	if i := strings.LastIndex(name, ":1,"); i >= 0 {
		return name[:i], ""
	}
	return name, ""
}

// Flag letters of the Maildir "2," info.
var letterFlags = map[byte]string{
	'D': mailport.Draft,
	'F': mailport.Flagged,
	'P': mailport.Forwarded, // passed: resent, forwarded or bounced
	'R': mailport.Answered,
	'S': mailport.Seen,
	'T': mailport.Deleted, // trashed
}

// ParseFlags returns the flags the letters stand for. Upper-case letters
// are the standard flags; a lower-case letter is keyword number letter-'a'
// of the folder's dovecot-keywords file (kw may be nil). Letters with no
// meaning, and anything else, are ignored: another program's extensions
// must not stop an import.
func ParseFlags(letters string, kw *Keywords) []string {
	var flags []string
	// Keywords first: where "P" and a keyword letter both name $Forwarded,
	// the file's spelling of it is kept.
	for i := 0; i < len(letters); i++ {
		if c := letters[i]; c >= 'a' && c <= 'z' {
			if k := kw.Name(int(c - 'a')); k != "" {
				flags = append(flags, k)
			}
		}
	}
	for i := 0; i < len(letters); i++ {
		if f, ok := letterFlags[letters[i]]; ok {
			flags = append(flags, f)
		}
	}
	return mailport.NormalizeFlags(flags)
}

// FormatFlags returns the info letters for flags, in ASCII order, and the
// keywords that have no letter (a folder has 26 at most). Keywords get
// letters from kw, which assigns new ones as needed. $Forwarded is written
// both as "P" and as its keyword letter: Dovecot reads only the letter.
func FormatFlags(flags []string, kw *Keywords) (letters string, dropped []string) {
	var set [128]bool
	for _, f := range flags {
		for c, lf := range letterFlags {
			if strings.EqualFold(f, lf) {
				set[c] = true
			}
		}
		if strings.HasPrefix(f, `\`) {
			continue
		}
		if i, ok := kw.Index(f); ok {
			set['a'+i] = true
		} else {
			dropped = append(dropped, f)
		}
	}
	var sb strings.Builder
	for c := range set {
		if set[c] {
			sb.WriteByte(byte(c))
		}
	}
	return sb.String(), dropped
}

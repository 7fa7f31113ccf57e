package maildir

import (
	"fmt"
	"strings"

	"postern/mailport"
	"postern/mutf7"
)

// Maildir++ keeps INBOX in the top directory and every other folder in a
// directory beside cur/new/tmp named "." + the levels joined by "." (so
// Work/2024 is ".Work.2024"), each level in modified UTF-7 (RFC 3501
// §5.1.3), as Dovecot and Courier write them. A "." inside a level cannot be
// told from the delimiter; Postern escapes it, "/", "\" and a leading "~" the
// way Dovecot's listescape plugin does, as "\" and two hex digits ("a.b" is
// "a\2eb").

// FolderDir returns the directory name of a mailbox in a Maildir++ tree,
// "" for INBOX.
func FolderDir(mailbox string) string {
	if mailbox == mailport.Inbox {
		return ""
	}
	levels := strings.Split(mailbox, mailport.Delimiter)
	var sb strings.Builder
	for _, l := range levels {
		sb.WriteByte('.')
		l = mutf7.Encode(l)
		for i := 0; i < len(l); i++ {
			c := l[i]
			if c == '.' || c == '/' || c == '\\' || c == '~' && i == 0 {
				fmt.Fprintf(&sb, "\\%02x", c)
			} else {
				sb.WriteByte(c)
			}
		}
	}
	return sb.String()
}

// FolderName returns the mailbox of a Maildir++ folder directory (".Work.2024").
// A level that is not valid modified UTF-7 is kept as it is (made valid for
// the store as mailport.Name does) and err says so: the mail is imported
// under a name that may look odd rather than left behind.
func FolderName(dir string) (name string, err error) {
	dir = strings.TrimPrefix(dir, ".")
	levels := strings.Split(dir, ".")
	for i, l := range levels {
		l = unescape(l)
		dec, derr := mutf7.Decode(l)
		if derr != nil {
			err = fmt.Errorf("folder %q: level %q is not valid modified UTF-7 (%v); imported under its raw name", "."+dir, l, derr)
			dec = l
		}
		levels[i] = dec
	}
	return mailport.Name(levels...), err
}

// unescape undoes listescape's "\XX" (hex); other backslashes stay.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+2 < len(s) {
			if v, ok := hexByte(s[i+1], s[i+2]); ok {
				sb.WriteByte(v)
				i += 2
				continue
			}
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

func hexByte(a, b byte) (byte, bool) {
	h := func(c byte) (byte, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, true
		}
		return 0, false
	}
	x, ok1 := h(a)
	y, ok2 := h(b)
	return x<<4 | y, ok1 && ok2
}

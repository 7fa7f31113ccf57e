package storage

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Delimiter separates the levels of a mailbox name.
const Delimiter = "/"

// Mailbox is a folder of one account.
type Mailbox struct {
	ID            int64
	AccountID     int64
	Name          string
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	SpecialUse    string // RFC 6154 attribute such as `\Sent`, or ""
}

// MailboxStatus is a mailbox with its counts.
type MailboxStatus struct {
	Mailbox
	Messages uint32
	Unseen   uint32
	Recent   uint32
	Deleted  uint32
	Size     int64
}

// CanonicalName returns name with INBOX spelled in upper case, which RFC 3501
// §5.1 makes case-insensitive (also as the first level of a hierarchy).
func CanonicalName(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	if len(name) > 6 && strings.EqualFold(name[:6], "INBOX/") {
		return "INBOX" + name[5:]
	}
	return name
}

// ValidateName checks a mailbox name: non-empty, valid UTF-8, no control
// characters or wildcards, no empty hierarchy level and no level "." or
// "..", at most 512 bytes.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("mailbox name is empty: %w", ErrInvalidName)
	case len(name) > 512:
		return fmt.Errorf("mailbox name is longer than 512 bytes: %w", ErrInvalidName)
	case !utf8.ValidString(name):
		return fmt.Errorf("mailbox name is not UTF-8: %w", ErrInvalidName)
	case strings.HasPrefix(name, Delimiter) || strings.HasSuffix(name, Delimiter) || strings.Contains(name, Delimiter+Delimiter):
		return fmt.Errorf("mailbox name %q has an empty level: %w", name, ErrInvalidName)
	case strings.ContainsAny(name, "*%"):
		return fmt.Errorf("mailbox name %q contains a wildcard: %w", name, ErrInvalidName)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("mailbox name contains a control character: %w", ErrInvalidName)
		}
	}
	// Clients and tools that map mailboxes to folders on disk (mbsync,
	// Maildir exports, backups) would read these as "here" and "up".
	for level := range strings.SplitSeq(name, Delimiter) {
		if level == "." || level == ".." {
			return fmt.Errorf("mailbox name %q has a level %q: %w", name, level, ErrInvalidName)
		}
	}
	return nil
}

package mbox

import (
	"mime"
	"slices"
	"strings"

	"postern/mailport"
)

// Google Takeout exports all of Gmail as one mbox and names each message's
// labels in X-Gmail-Labels, comma-separated, a label with a comma in double
// quotes, non-ASCII in RFC 2047 encoded words. Gmail's labels are both
// folders and flags; they map so:
//
//	Inbox → INBOX, Sent → Sent, Drafts/Draft → Drafts, Spam → Junk,
//	Trash → Trash, Chat → Chats, any other label → a mailbox of that name
//	("/" in a label is a level, as in Gmail);
//	Opened → \Seen, Unread → not \Seen (it wins over Opened),
//	Starred → \Flagged, Important → $Important (RFC 8457);
//	Archived and "Category ..." → nothing: Archived only says the message
//	left the inbox, and the categories are Gmail's own sorting of the inbox,
//	recomputed by Gmail and meaningless elsewhere.
//
// A message in Trash or Spam goes there only, as Gmail shows it. A message
// with no mailbox label (archived, all of its labels removed) goes to Archive,
// so that nothing in "All Mail" is lost.
var gmailFolders = map[string]string{
	"inbox":  mailport.Inbox,
	"sent":   mailport.Sent,
	"drafts": mailport.Drafts,
	"draft":  mailport.Drafts,
	"spam":   mailport.Junk,
	"trash":  mailport.Trash,
	"chat":   "Chats",
}

// gmailLabels returns the mailboxes and flags for an X-Gmail-Labels value.
func gmailLabels(raw string) (mailboxes, flags []string) {
	dec := mime.WordDecoder{}
	if s, err := dec.DecodeHeader(raw); err == nil {
		raw = s
	}
	seen, unread := false, false
	for _, l := range splitLabels(raw) {
		low := strings.ToLower(l)
		switch {
		case low == "opened":
			seen = true
			continue
		case low == "unread":
			unread = true
			continue
		case low == "starred":
			flags = append(flags, mailport.Flagged)
			continue
		case low == "important":
			flags = append(flags, mailport.Important)
			continue
		case low == "archived" || strings.HasPrefix(low, "category "):
			continue
		}
		name := gmailFolders[low]
		if name == "" {
			name = mailport.Name(strings.Split(l, "/")...)
		}
		if !slices.Contains(mailboxes, name) {
			mailboxes = append(mailboxes, name)
		}
	}
	for _, only := range []string{mailport.Trash, mailport.Junk} {
		if slices.Contains(mailboxes, only) {
			mailboxes = []string{only}
			break
		}
	}
	if seen && !unread {
		flags = append(flags, mailport.Seen)
	}
	if len(mailboxes) == 0 {
		mailboxes = []string{mailport.Archive}
	}
	return mailboxes, flags
}

// splitLabels splits at commas outside double quotes; a backslash in quotes
// escapes the next character.
func splitLabels(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote, esc := false, false
	emit := func() {
		if l := strings.TrimSpace(cur.String()); l != "" {
			out = append(out, l)
		}
		cur.Reset()
	}
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case inQuote && r == '\\':
			esc = true
		case r == '"':
			inQuote = !inQuote
		case r == ',' && !inQuote:
			emit()
		default:
			cur.WriteRune(r)
		}
	}
	emit()
	return out
}

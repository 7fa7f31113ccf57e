package imapsrc

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestMailboxName(t *testing.T) {
	for _, c := range []struct {
		name   string
		delim  rune
		attrs  []imap.MailboxAttr
		prefix string
		want   string
	}{
		{"INBOX", '/', nil, "", "INBOX"},
		{"inbox", '.', nil, "", "INBOX"},
		{"[Gmail]/Sent Mail", '/', []imap.MailboxAttr{imap.MailboxAttrSent}, "", "Sent"},
		{"[Gmail]/All Mail", '/', []imap.MailboxAttr{imap.MailboxAttrAll}, "", ""},
		{"[Gmail]/Starred", '/', []imap.MailboxAttr{imap.MailboxAttrFlagged}, "", ""},
		{"[Gmail]/Important", '/', []imap.MailboxAttr{imap.MailboxAttrImportant}, "", ""},
		{"[Gmail]", '/', []imap.MailboxAttr{imap.MailboxAttrNoSelect}, "", ""},
		{"INBOX.Sent Items", '.', nil, "INBOX.", "Sent"},
		{"INBOX.Work.a/b", '.', nil, "INBOX.", "Work/a_b"},
		{"Archiv/2020", '/', []imap.MailboxAttr{imap.MailboxAttrArchive, imap.MailboxAttrHasNoChildren}, "", "Archive"},
		{"Deleted Items", '/', nil, "", "Trash"},
		{"Lists/Deleted Items", '/', nil, "", "Lists/Deleted Items"},
		{"flat", 0, nil, "", "flat"},
	} {
		got, _ := mailboxName(&imap.ListData{Mailbox: c.name, Delim: c.delim, Attrs: c.attrs}, c.prefix)
		if got != c.want {
			t.Errorf("%q %v: %q, want %q", c.name, c.attrs, got, c.want)
		}
	}
}

func TestMapNamesChildren(t *testing.T) {
	lists := []*imap.ListData{
		{Mailbox: "Sent Items", Delim: '/', Attrs: []imap.MailboxAttr{imap.MailboxAttrSent}},
		{Mailbox: "Sent Items/2019", Delim: '/'},
		{Mailbox: "Sent Items/2019/Q1", Delim: '/'},
		{Mailbox: "Work", Delim: '/'},
		{Mailbox: "Work/Spam", Delim: '/', Attrs: []imap.MailboxAttr{imap.MailboxAttrJunk}},
		{Mailbox: "Work/Spam/old", Delim: '/'},
	}
	var got []string
	for _, m := range mapNames(lists, "") {
		got = append(got, m.mailbox)
	}
	want := []string{"Sent", "Sent/2019", "Sent/2019/Q1", "Work", "Junk", "Junk/old"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

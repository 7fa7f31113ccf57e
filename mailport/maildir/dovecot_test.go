package maildir

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"postern/internal/testkit/dovecot"
)

// dovecotMessage is a message put into Dovecot over IMAP.
type dovecotMessage struct {
	mailbox string // Dovecot's name, "." between levels
	flags   []imap.Flag
	date    time.Time
	body    string
}

// TestDovecotMaildir has Debian's Dovecot store messages with flags and
// keywords, over IMAP APPEND and STORE, then reads the Maildir it wrote.
func TestDovecotMaildir(t *testing.T) {
	srv := dovecot.Start(t, dovecot.Options{})
	c := srv.Dial(t)
	date := time.Date(2019, 6, 7, 8, 9, 10, 0, time.UTC)
	msgs := []dovecotMessage{
		{"INBOX", []imap.Flag{imap.FlagSeen, "$Forwarded", "work"}, date, "Subject: one\r\n\r\nFrom here on\r\nbody\r\n"},
		{"INBOX", nil, date.Add(time.Hour), "Subject: two\r\n\r\nunread\r\n"},
		{"INBOX", []imap.Flag{imap.FlagAnswered, imap.FlagDeleted, "$label1"}, date.Add(2 * time.Hour), "Subject: three\r\n\r\nx\x00y\r\n"},
		{"Entwürfe", []imap.Flag{imap.FlagDraft, imap.FlagFlagged}, date.Add(3 * time.Hour), "Subject: draft\r\n\r\ndraft\r\n"},
		{"Work.2024", []imap.Flag{"NonJunk", "work"}, date.Add(4 * time.Hour), "Subject: work\r\n\r\nwork\r\n"},
		{"a&b", []imap.Flag{imap.FlagSeen}, date.Add(5 * time.Hour), "Subject: amp\r\n\r\namp\r\n"},
	}
	for _, mb := range []string{"Entwürfe", "Work.2024", "a&b", "Empty"} {
		if err := c.Create(mb, nil).Wait(); err != nil {
			t.Fatalf("CREATE %s: %v", mb, err)
		}
	}
	for _, m := range msgs {
		dovecot.Append(t, c, m.mailbox, m.flags, m.date, m.body)
	}
	// A flag change renames the file in cur/: the base, and so the key, stays.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen, "later"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	msgs[1].flags = []imap.Flag{imap.FlagSeen, "later"}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}

	src, err := Open(srv.Maildir())
	if err != nil {
		t.Fatal(err)
	}
	boxes, _ := src.Mailboxes(t.Context())
	src.Close()
	if want := []string{"Empty", "Entwürfe", "INBOX", "Work/2024", "a&b"}; !slices.Equal(slices.Sorted(slices.Values(boxes)), want) {
		t.Fatalf("mailboxes %q, want %q", boxes, want)
	}
	got, probs := readTree(t, srv.Maildir())
	if len(probs) != 0 {
		t.Fatalf("problems: %q", probs)
	}
	var have, want []string
	for _, m := range got {
		have = append(have, fmt.Sprintf("%s %q %s %q", m.Mailboxes[0], m.Flags, m.InternalDate.UTC().Format(time.RFC3339), m.body))
	}
	for _, m := range msgs {
		var fl []string
		for _, f := range m.flags {
			fl = append(fl, string(f))
		}
		// Dovecot stores messages with LF line endings.
		body := strings.ReplaceAll(m.body, "\r\n", "\n")
		name := strings.ReplaceAll(m.mailbox, ".", "/")
		want = append(want, fmt.Sprintf("%s %q %s %q", name, normalize(fl), m.date.Format(time.RFC3339), body))
	}
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Fatalf("read from Dovecot's Maildir:\n%s\nwant\n%s\nlogs: %s", strings.Join(have, "\n"), strings.Join(want, "\n"), srv.Logs())
	}
	// INBOX comes in UID order (dovecot-uidlist).
	var inbox []string
	for _, m := range got {
		if m.Mailboxes[0] == "INBOX" {
			inbox = append(inbox, strings.SplitN(m.body, "\n", 2)[0])
		}
	}
	if !slices.Equal(inbox, []string{"Subject: one", "Subject: two", "Subject: three"}) {
		t.Fatalf("INBOX order %q", inbox)
	}
}

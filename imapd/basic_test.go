package imapd

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestLoginSelectFetch(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("hello world", "bob@example.test", "first body"))
	e.deliver(t, "INBOX", testMessage("second", "carol@example.test", "second body"))
	c := e.client(t, nil)
	if !c.Caps().Has(imap.CapIdle) || !c.Caps().Has(imap.CapUIDPlus) || !c.Caps().Has(imap.CapMove) {
		t.Fatalf("caps after login: %v", c.Caps())
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 2 || sel.UIDValidity == 0 || sel.UIDNext != 3 {
		t.Fatalf("select: %+v", sel)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{
		Flags: true, UID: true, RFC822Size: true, Envelope: true, InternalDate: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection:   []*imap.FetchItemBodySection{{Peek: true, Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}}},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Envelope.Subject != "hello world" || msgs[1].UID != 2 || msgs[0].RFC822Size == 0 {
		t.Fatalf("fetch: %+v", msgs)
	}
	hdr := msgs[0].FindBodySection(&imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}})
	if string(hdr) != "Subject: hello world\r\n\r\n" {
		t.Fatalf("header fields: %q", hdr)
	}
	// A non-peek BODY[] sets \Seen and returns FLAGS.
	msgs, err = c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if body := msgs[0].FindBodySection(&imap.FetchItemBodySection{}); !strings.Contains(string(body), "first body") {
		t.Fatalf("body: %q", body)
	}
	if !hasFlag(msgs[0].Flags, imap.FlagSeen) {
		t.Fatalf("flags after BODY[]: %v", msgs[0].Flags)
	}
}

func hasFlag(flags []imap.Flag, f imap.Flag) bool {
	for _, x := range flags {
		if x == f {
			return true
		}
	}
	return false
}

package imapurl

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	// The examples of RFC 4469 §5 and RFC 4467 §7, and RFC 5092's forms.
	u, err := Parse("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER")
	if err != nil || u.Absolute || u.Mailbox != "Drafts" || u.UIDValidity != 385759045 || u.UID != 20 || u.Spec != "HEADER" || len(u.Part) != 0 {
		t.Fatalf("%+v %v", u, err)
	}
	u, err = Parse("imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038")
	if err != nil || !u.Absolute || u.User != "joe" || u.Host != "example.com" || u.Mailbox != "INBOX" || u.UID != 20 ||
		len(u.Part) != 2 || u.Access != "submit+fred" || u.Mechanism != "INTERNAL" || u.Token != "91354a473744909de610943775f92038" ||
		u.Rump != "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred" {
		t.Fatalf("%+v %v", u, err)
	}
	u, err = Parse("imap://alice%40example.test;AUTH=*@mail.example.test:993/Sent%20Items/Entw&APw-rfe;UIDVALIDITY=7/;UID=3/;SECTION=2.HEADER.FIELDS%20(SUBJECT%20FROM)/;PARTIAL=10.20;EXPIRE=2030-01-01T00:00:00Z;URLAUTH=authuser")
	if err != nil || u.User != "alice@example.test" || u.Host != "mail.example.test:993" || u.Mailbox != "Sent Items/Entwürfe" ||
		u.Spec != "HEADER.FIELDS" || strings.Join(u.Fields, ",") != "SUBJECT,FROM" || !u.Partial || u.Offset != 10 || u.Length != 20 ||
		u.Expire.Year() != 2030 || u.Access != "authuser" || u.Mechanism != "" {
		t.Fatalf("%+v %v", u, err)
	}
	for _, bad := range []string{"", "/", "/INBOX", "/INBOX;UID=1", "/INBOX/;UID=0", "/INBOX/;UID=x", "/INBOX/;UID=1/", "/INBOX/;UID=1;SECTION=1",
		"/INBOX/;SECTION=1/;UID=1", "/INBOX/;UID=1/;SECTION=1..2", "/INBOX/;UID=1/;SECTION=FOO", "/INBOX/;UID=1/;SECTION=MIME",
		"/INBOX/;UID=1/;PARTIAL=1.0", "/INBOX/;UID=1/;URLAUTH=anonymous", "/INBOX/;UID=1;URLAUTH=nobody", "/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL:abc",
		"/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL:91354a473744909de610943775f92038;UID=2", "imap://host", "imap:///INBOX/;UID=1",
		"/IN%2/;UID=1", "/&Jjo/;UID=1", "/INBOX/;UID=1/;UID=2", "/INBOX/;UID=4294967296", "/INBOX/;UID=+1", strings.Repeat("/a", 3000) + "/;UID=1"} {
		if u, err := Parse(bad); err == nil {
			t.Errorf("%q accepted: %+v", bad, u)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER",
		"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038",
		"imap://a@b/c/;UID=1/;SECTION=HEADER.FIELDS%20(A)/;PARTIAL=0.5;EXPIRE=2030-01-01T00:00:00Z;URLAUTH=user+a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := Parse(s)
		if err != nil {
			return
		}
		if u.UID == 0 || u.Mailbox == "" || len(u.Part) > 64 {
			t.Fatalf("accepted %q as %+v", s, u)
		}
		if u.Access != "" && !strings.HasPrefix(s, u.Rump) {
			t.Fatalf("rump %q is not a prefix of %q", u.Rump, s)
		}
	})
}

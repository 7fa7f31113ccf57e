package imapd

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

const multipartMsg = "From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: parts\r\n" +
	"Date: Tue, 03 Sep 2024 12:00:00 +0200\r\nX-Tag: blue sky\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b1\r\n\r\n" +
	"--b1\r\nContent-Type: text/plain\r\n\r\nplain part text\r\n" +
	"--b1\r\nContent-Type: text/html\r\n\r\n<p>html part</p>\r\n--b1--\r\n"

func TestFetchSections(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", multipartMsg)
	c := e.client(t, nil)
	c.Select("INBOX", nil).Wait()
	secs := []*imap.FetchItemBodySection{
		{Peek: true, Part: []int{1}},
		{Peek: true, Part: []int{2}, Specifier: imap.PartSpecifierMIME},
		{Peek: true, Specifier: imap.PartSpecifierText, Partial: &imap.SectionPartial{Offset: 0, Size: 4}},
		{Peek: true, Specifier: imap.PartSpecifierHeader, HeaderFieldsNot: []string{"Subject", "X-Tag", "Date", "To", "MIME-Version", "Content-Type"}},
		{Peek: true, Part: []int{9}},
	}
	m, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: secs, BodyStructure: &imap.FetchItemBodyStructure{Extended: true}, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"plain part text", "Content-Type: text/html\r\n\r\n", "--b1", "From: Bob <bob@example.test>\r\n\r\n", ""}
	for i, s := range secs {
		got := string(m[0].FindBodySection(s))
		if got != want[i] {
			t.Errorf("section %d: got %q, want %q", i, got, want[i])
		}
	}
	mp, ok := m[0].BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || len(mp.Children) != 2 || !strings.EqualFold(mp.Subtype, "mixed") {
		t.Fatalf("BODYSTRUCTURE: %#v", m[0].BodyStructure)
	}
	if hasFlag(m[0].Flags, imap.FlagSeen) {
		t.Fatal("BODY.PEEK set \\Seen")
	}
	// RFC822.* forms and the macros, over the raw wire.
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")
	r.send("a FETCH 1 (RFC822.HEADER RFC822.SIZE)\r\n")
	l := r.expect("a OK")
	if !strings.HasPrefix(l[0], "* 1 FETCH (RFC822.SIZE ") || !strings.Contains(l[0], "RFC822.HEADER {") {
		t.Fatalf("RFC822.HEADER: %q", l)
	}
	r.send("b FETCH 1 FULL\r\n")
	l = r.expect("b OK")
	if !strings.Contains(l[0], "ENVELOPE (") || !strings.Contains(l[0], "BODY ((") || !strings.Contains(l[0], "INTERNALDATE") {
		t.Fatalf("FULL: %q", l)
	}
	r.send("c FETCH 1 RFC822.TEXT\r\n")
	l = r.expect("c OK")
	if !strings.Contains(strings.Join(l, "\n"), `\Seen`) {
		t.Fatalf("RFC822.TEXT did not report \\Seen: %q", l)
	}
	r.send("d FETCH 1 BODY[]<5.10>\r\n")
	l = r.expect("d OK")
	if !strings.Contains(l[0], "BODY[]<5> {10}") || !strings.HasPrefix(l[1], " Bob <bob@)") {
		t.Fatalf("partial: %q", l)
	}
	r.send("e UID FETCH 1 (FLAGS)\r\n")
	if l := r.expect("e OK"); !strings.Contains(l[0], "UID 1") {
		t.Fatalf("UID FETCH without UID: %q", l)
	}
	r.send("f FETCH 2 FLAGS\r\n")
	r.expect("f BAD")
}

func TestSearch(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("Hello World", "bob@example.test", "alpha text"))
	e.deliver(t, "INBOX", multipartMsg)
	e.deliver(t, "INBOX", testMessage("Grüße aus Köln", "carol@example.test", strings.Repeat("big ", 500)))
	c := e.client(t, nil)
	c.Select("INBOX", nil).Wait()
	c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen, "$Work"}}, nil).Close()
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	cases := []struct {
		name string
		crit imap.SearchCriteria
		want []uint32
	}{
		{"all", imap.SearchCriteria{}, []uint32{1, 2, 3}},
		{"subject", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "hello"}}}, []uint32{1}},
		{"subject utf8", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "KÖLN"}}}, []uint32{3}},
		{"from", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "Bob"}}}, []uint32{1, 2}},
		{"header", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "X-Tag", Value: "SKY"}}}, []uint32{2}},
		{"header exists", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "X-Tag", Value: ""}}}, []uint32{2}},
		{"body", imap.SearchCriteria{Body: []string{"PLAIN PART"}}, []uint32{2}},
		{"body not header", imap.SearchCriteria{Body: []string{"Hello World"}}, nil},
		{"text", imap.SearchCriteria{Text: []string{"hello world"}}, []uint32{1}},
		{"seen", imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, []uint32{1}},
		{"unseen", imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, []uint32{2, 3}},
		{"keyword", imap.SearchCriteria{Flag: []imap.Flag{"$Work"}}, []uint32{1}},
		{"larger", imap.SearchCriteria{Larger: 1000}, []uint32{3}},
		{"smaller", imap.SearchCriteria{Smaller: 1000}, []uint32{1, 2}},
		{"not", imap.SearchCriteria{Not: []imap.SearchCriteria{{Flag: []imap.Flag{imap.FlagSeen}}}}, []uint32{2, 3}},
		{"or", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{Larger: 1000}, {Flag: []imap.Flag{imap.FlagSeen}}}}}, []uint32{1, 3}},
		{"seqset", imap.SearchCriteria{SeqNum: []imap.SeqSet{imap.SeqSetNum(2, 3)}}, []uint32{2, 3}},
		{"uidset", imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSetNum(1, 3)}}, []uint32{1, 3}},
		{"sentbefore", imap.SearchCriteria{SentBefore: day("2024-09-03")}, []uint32{1, 3}},
		{"senton", imap.SearchCriteria{SentSince: day("2024-09-03"), SentBefore: day("2024-09-04")}, []uint32{2}},
		{"since today", imap.SearchCriteria{Since: time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)}, []uint32{1, 2, 3}},
		{"before 2000", imap.SearchCriteria{Before: day("2000-01-01")}, nil},
	}
	for _, tc := range cases {
		res, err := c.Search(&tc.crit, nil).Wait()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := res.AllSeqNums()
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}
	}
	res, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "parts"}}}, nil).Wait()
	if err != nil || len(res.AllUIDs()) != 1 || res.AllUIDs()[0] != 2 {
		t.Fatalf("UID SEARCH: %v %v", res, err)
	}
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")
	r.send("a SEARCH CHARSET KOI8-R ALL\r\n")
	r.expect("a NO [BADCHARSET")
	r.send("b SEARCH NEW\r\n")
	if l := r.expect("b OK"); l[0] != "* SEARCH" {
		// The first session claimed \Recent; this one sees none.
		t.Fatalf("SEARCH NEW: %q", l)
	}
	r.send("c SEARCH OLD UNKEYWORD $Work\r\n")
	if l := r.expect("c OK"); l[0] != "* SEARCH 2 3" {
		t.Fatalf("SEARCH OLD: %q", l)
	}
}

func TestAuthMechanisms(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw(t, false)
	r.send("a CAPABILITY\r\n")
	if l := r.expect("a OK"); !strings.Contains(l[0], "AUTH=PLAIN") || strings.Contains(l[0], "LOGINDISABLED") {
		t.Fatalf("loopback CAPABILITY: %q", l)
	}
	// SASL-IR PLAIN.
	r.send("b AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABjb3JyZWN0IGhvcnNlIGJhdHRlcnk=\r\n")
	if l := r.expect("b OK"); !strings.Contains(l[0], "[CAPABILITY ") {
		t.Fatalf("AUTHENTICATE: %q", l)
	}
	// LOGIN mechanism with challenges.
	r2 := e.raw(t, false)
	r2.send("c AUTHENTICATE LOGIN\r\n")
	r2.expect("+ ")
	r2.send("YWxpY2VAZXhhbXBsZS50ZXN0\r\n")
	r2.expect("+ ")
	r2.send("Y29ycmVjdCBob3JzZSBiYXR0ZXJ5\r\n")
	r2.expect("c OK")
	// Wrong password, cancelled exchange, unknown mechanism.
	r3 := e.raw(t, false)
	r3.send("d LOGIN alice@example.test wrong\r\n")
	r3.expect("d NO [AUTHENTICATIONFAILED]")
	r3.send("e AUTHENTICATE PLAIN\r\n")
	r3.expect("+ ")
	r3.send("*\r\n")
	r3.expect("e BAD")
	r3.send("f AUTHENTICATE CRAM-MD5\r\n")
	r3.expect("f NO")
	r3.send("g SELECT INBOX\r\n")
	r3.expect("g BAD")
}

func TestLoginDisabledWithoutTLS(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Auth = testAuth(c.Store, false) })
	r := e.raw(t, false)
	r.send("a CAPABILITY\r\n")
	if l := r.expect("a OK"); !strings.Contains(l[0], "LOGINDISABLED") || strings.Contains(l[0], "AUTH=") {
		t.Fatalf("CAPABILITY: %q", l)
	}
	r.send("b LOGIN alice@example.test \"" + testPassword + "\"\r\n")
	r.expect("b NO [PRIVACYREQUIRED]")
	r.send("c AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABjb3JyZWN0IGhvcnNlIGJhdHRlcnk=\r\n")
	r.expect("c NO [PRIVACYREQUIRED]")
}

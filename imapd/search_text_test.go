package imapd

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// textMsg builds a message with the given MIME header lines and body.
func textMsg(subject, mimeHeader, body string) string {
	return "From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: " + subject +
		"\r\nDate: Mon, 02 Sep 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\n" + mimeHeader + "\r\n\r\n" + body + "\r\n"
}

var base64Text = base64.StdEncoding.EncodeToString([]byte("Treffen in Zürich am Bahnhof"))

// searchTextMsgs are delivered in order: UID n is searchTextMsgs[n-1].
var searchTextMsgs = []string{
	// 1: base64 UTF-8 text/plain.
	textMsg("one", "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64", base64Text),
	// 2: quoted-printable ISO-8859-1.
	textMsg("two", "Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable",
		"Viele Gr=FC=DFe aus dem S=FCden,=\r\n bis bald"),
	// 3: windows-1251, 8bit: "Привет мир".
	textMsg("three", "Content-Type: text/plain; charset=windows-1251\r\nContent-Transfer-Encoding: 8bit",
		"\xcf\xf0\xe8\xe2\xe5\xf2 \xec\xe8\xf0"),
	// 4: ISO-2022-JP, 7bit: "日本語".
	textMsg("four", "Content-Type: text/plain; charset=iso-2022-jp", "\x1b$BF|K\\8l\x1b(B"),
	// 5: HTML in a multipart/alternative.
	textMsg("five", "Content-Type: multipart/alternative; boundary=alt",
		"--alt\r\nContent-Type: text/plain\r\n\r\nplain version\r\n"+
			"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"+
			"<html><head><style>.hidden { colour: red }</style></head>"+
			"<body><p>Hello <b>wonder</b>ful &amp; world, caf&#233;</p></body></html>\r\n--alt--"),
	// 6: a forwarded message/rfc822 with an encoded subject and a QP body.
	textMsg("six", "Content-Type: multipart/mixed; boundary=mix",
		"--mix\r\nContent-Type: text/plain\r\n\r\nsee the forwarded message\r\n"+
			"--mix\r\nContent-Type: message/rfc822\r\n\r\n"+
			"Subject: =?utf-8?q?Inneres_Th=C3=A9ma?=\r\nContent-Type: text/plain; charset=utf-8\r\n"+
			"Content-Transfer-Encoding: quoted-printable\r\n\r\nVerschachtelter =C3=84rger\r\n--mix--"),
	// 7: a text part and a base64 application/octet-stream attachment.
	textMsg("seven", "Content-Type: multipart/mixed; boundary=mix",
		"--mix\r\nContent-Type: text/plain\r\n\r\nvisible words\r\n"+
			"--mix\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"+
			base64.StdEncoding.EncodeToString([]byte("secretword inside a binary"))+"\r\n--mix--"),
	// 8: an RFC 2047 subject ("Überraschung für dich") and a plain body.
	textMsg("=?utf-8?b?w5xiZXJyYXNjaHVuZyBmw7xyIGRpY2g=?=", "Content-Type: text/plain", "ordinary body"),
}

func TestSearchBodyText(t *testing.T) {
	e := newEnv(t, nil)
	for _, m := range searchTextMsgs {
		e.deliver(t, "INBOX", m)
	}
	c := e.client(t, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(8), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	body := func(s ...string) imap.SearchCriteria { return imap.SearchCriteria{Body: s} }
	text := func(s ...string) imap.SearchCriteria { return imap.SearchCriteria{Text: s} }
	flagged := imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}
	cases := []struct {
		name string
		crit imap.SearchCriteria
		want []uint32
	}{
		{"base64 utf-8", body("zürich"), []uint32{1}},
		{"base64 utf-8 upper", body("ZÜRICH AM"), []uint32{1}},
		{"base64 encoded form", body(base64Text[:12]), nil},
		{"qp latin-1", body("grüße"), []uint32{2}},
		{"qp latin-1 folded", body("GRÜßE"), []uint32{2}},
		{"qp soft break joins", body("süden, bis"), []uint32{2}},
		{"qp simple folding only", body("GRÜSSE"), nil},
		{"qp encoded form", body("Gr=FC"), nil},
		{"windows-1251", body("привет"), []uint32{3}},
		{"windows-1251 upper", body("ПРИВЕТ МИР"), []uint32{3}},
		{"iso-2022-jp", body("日本語"), []uint32{4}},
		{"iso-2022-jp encoded form", body("F|K"), nil},
		{"html word across inline tag", body("wonderful"), []uint32{5}},
		{"html entities", body("& world, café"), []uint32{5}},
		{"html markup", body("<b>"), nil},
		{"html entity form", body("&amp;"), nil},
		{"html style", body("colour"), nil},
		{"html plain alternative", body("plain version"), []uint32{5}},
		{"nested body", body("ärger"), []uint32{6}},
		{"nested encoded subject", body("inneres théma"), []uint32{6}},
		{"attachment", body("secretword"), nil},
		{"attachment text", text("secretword"), nil},
		{"text part next to attachment", body("visible words"), []uint32{7}},
		{"body not header", body("überraschung"), nil},
		{"text encoded subject", text("ÜBERRASCHUNG FÜR"), []uint32{8}},
		{"text header field", text("bob@example.test"), []uint32{1, 2, 3, 4, 5, 6, 7, 8}},
		{"text body", text("ordinary body"), []uint32{8}},
		{"text decoded body", text("zürich"), []uint32{1}},
		{"subject still decoded", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "überraschung"}}}, []uint32{8}},
		{"two bodies", body("grüße", "bis bald"), []uint32{2}},
		{"two bodies one missing", body("grüße", "zürich"), nil},
		{"or body flag", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{body("zürich"), flagged}}}, []uint32{1, 8}},
		{"or flag body", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{flagged, body("привет")}}}, []uint32{3, 8}},
		{"not body", imap.SearchCriteria{Not: []imap.SearchCriteria{body("e")}}, []uint32{3, 4, 8}},
		{"not body and flag", imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}, Not: []imap.SearchCriteria{body("ordinary")}}, nil},
		{"uid and body", imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSetNum(2, 3)}, Body: []string{"И"}}, []uint32{3}},
		{"not or", imap.SearchCriteria{Not: []imap.SearchCriteria{{Or: [][2]imap.SearchCriteria{{body("zürich"), text("überraschung")}}}}}, []uint32{2, 3, 4, 5, 6, 7}},
	}
	for _, tc := range cases {
		res, err := c.UIDSearch(&tc.crit, nil).Wait()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []uint32
		for _, uid := range res.AllUIDs() {
			got = append(got, uint32(uid))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestSearchBodyLiteral sends the UTF-8 search string as a literal over
// the raw wire, with and without a CHARSET.
func TestSearchBodyLiteral(t *testing.T) {
	e := newEnv(t, nil)
	for _, m := range searchTextMsgs {
		e.deliver(t, "INBOX", m)
	}
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")
	for i, tc := range []struct{ cmd, word, want string }{
		{"SEARCH CHARSET UTF-8 BODY", "GRÜßE", "* SEARCH 2"},
		{"UID SEARCH CHARSET UTF-8 TEXT", "für dich", "* SEARCH 8"},
		{"SEARCH BODY", "Привет", "* SEARCH 3"},
		{"SEARCH CHARSET US-ASCII BODY", "wonderful", "* SEARCH 5"},
	} {
		tag := fmt.Sprintf("t%d", i)
		r.send(fmt.Sprintf("%s %s {%d}\r\n", tag, tc.cmd, len(tc.word)))
		r.expect("+")
		r.send(tc.word + "\r\n")
		if l := r.expect(tag + " OK"); l[0] != tc.want {
			t.Errorf("%s %q: %q, want %q", tc.cmd, tc.word, l, tc.want)
		}
	}
}

// TestSearchBodyHostile searches messages whose encodings are broken or
// hostile: the search answers and finds what can be decoded.
func TestSearchBodyHostile(t *testing.T) {
	e := newEnv(t, nil)
	msgs := []string{
		textMsg("bad base64", "Content-Transfer-Encoding: base64", "!!!"+base64.StdEncoding.EncodeToString([]byte("findme one"))+"*junk*"),
		textMsg("bad qp", "Content-Transfer-Encoding: quoted-printable", "findme =ZZ two=\r\n=4"),
		textMsg("unknown charset", "Content-Type: text/plain; charset=x-klingon", "findme three \xff\xfe"),
		textMsg("deep", strings.Repeat("Content-Type: message/rfc822\r\n\r\n", 50)+"Content-Type: text/plain", "findme four"),
		textMsg("html", "Content-Type: text/html", strings.Repeat("<", 10000)+"findme five"),
		textMsg("no mime", "X-Nothing: here", "findme six"),
	}
	for _, m := range msgs {
		e.deliver(t, "INBOX", m)
	}
	c := e.client(t, nil)
	c.Select("INBOX", nil).Wait()
	res, err := c.UIDSearch(&imap.SearchCriteria{Body: []string{"findme"}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	// "deep" nests below the depth cap and "html" is one unterminated tag:
	// neither has text to find.
	if got, want := res.AllUIDs(), []imap.UID{1, 2, 3, 6}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// BenchmarkSearchBody10k reads and decodes all 10,000 bodies.
func BenchmarkSearchBody10k(b *testing.B) {
	e := benchEnv(b)
	r := e.raw(b, true)
	r.roundTrip("s", "EXAMINE INBOX")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.roundTrip("f", "SEARCH BODY needle")
	}
}

// BenchmarkSearchSubjectBody10k reads only the 100 bodies whose subject
// matches: BODY is evaluated after the cheaper criteria.
func BenchmarkSearchSubjectBody10k(b *testing.B) {
	e := benchEnv(b)
	r := e.raw(b, true)
	r.roundTrip("s", "EXAMINE INBOX")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.roundTrip("f", "SEARCH OR BODY needle NOT SUBJECT needle SUBJECT needle")
	}
}

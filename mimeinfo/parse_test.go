package mimeinfo

import (
	"strings"
	"testing"
	"time"
)

// crlf joins lines with CRLF, so test messages read like messages.
func crlf(lines ...string) string { return strings.Join(lines, "\r\n") }

func mustCheck(t *testing.T, msg string) *Info {
	t.Helper()
	info := Parse([]byte(msg))
	if err := checkInfo(info, len(msg)); err != nil {
		t.Fatalf("wire forms invalid: %v\nENVELOPE %s\nBODY %s\nBODYSTRUCTURE %s", err, info.Envelope, info.Body, info.BodyStructure)
	}
	return info
}

func mustWire(t *testing.T, b []byte) *sx {
	t.Helper()
	v, err := parseWire(b)
	if err != nil {
		t.Fatalf("parse %q: %v", b, err)
	}
	return v
}

func TestPlainText(t *testing.T) {
	msg := crlf(
		"From: Alice Example <alice@example.org>",
		"To: bob@example.net",
		"Subject: Lunch",
		"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)",
		"Message-ID: <B27397-0100000@cac.washington.edu>",
		"",
		"Hello Bob,",
		"see you at noon.",
		"")
	info := mustCheck(t, msg)
	if want := strings.Index(msg, "Hello"); info.HeaderLen != want {
		t.Errorf("HeaderLen = %d, want %d", info.HeaderLen, want)
	}
	alice := `(("Alice Example" NIL "alice" "example.org"))`
	wantEnv := `("Mon, 7 Feb 1994 21:52:25 -0800 (PST)" "Lunch" ` + alice + " " + alice + " " + alice +
		` ((NIL NIL "bob" "example.net")) NIL NIL NIL "<B27397-0100000@cac.washington.edu>")`
	if string(info.Envelope) != wantEnv {
		t.Errorf("ENVELOPE\n got %s\nwant %s", info.Envelope, wantEnv)
	}
	// Body "Hello Bob,\r\nsee you at noon.\r\n": 12 + 18 octets, 2 lines.
	if want := `("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 30 2)`; string(info.Body) != want {
		t.Errorf("BODY\n got %s\nwant %s", info.Body, want)
	}
	if want := `("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 30 2 NIL NIL NIL NIL)`; string(info.BodyStructure) != want {
		t.Errorf("BODYSTRUCTURE\n got %s\nwant %s", info.BodyStructure, want)
	}
	if want := time.Date(1994, 2, 7, 21, 52, 25, 0, time.FixedZone("", -8*3600)); !info.Date.Equal(want) {
		t.Errorf("Date = %v, want %v", info.Date, want)
	}
	if info.Subject != "Lunch" || info.From != "Alice Example <alice@example.org>" || info.To != "bob@example.net" ||
		info.MessageID != "<B27397-0100000@cac.washington.edu>" {
		t.Errorf("search fields: %+v", info)
	}
}

func TestMultipartAlternative(t *testing.T) {
	msg := crlf(
		`Content-Type: multipart/alternative; boundary="b1"`,
		"",
		"--b1",
		"Content-Type: text/plain; charset=utf-8",
		"",
		"hi",
		"--b1",
		"Content-Type: text/html; charset=utf-8",
		"Content-Transfer-Encoding: quoted-printable",
		"",
		"<p>hi=3D</p>",
		"--b1--",
		"")
	info := mustCheck(t, msg)
	wantBody := `(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 2 0)` +
		`("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 12 0) "ALTERNATIVE")`
	if string(info.Body) != wantBody {
		t.Errorf("BODY\n got %s\nwant %s", info.Body, wantBody)
	}
	wantBS := `(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 2 0 NIL NIL NIL NIL)` +
		`("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 12 0 NIL NIL NIL NIL)` +
		` "ALTERNATIVE" ("BOUNDARY" "b1") NIL NIL NIL)`
	if string(info.BodyStructure) != wantBS {
		t.Errorf("BODYSTRUCTURE\n got %s\nwant %s", info.BodyStructure, wantBS)
	}
	// No From: every address list and the strings are NIL.
	if want := `(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)`; string(info.Envelope) != want {
		t.Errorf("ENVELOPE = %s, want %s", info.Envelope, want)
	}
	if !info.Date.IsZero() {
		t.Errorf("Date = %v, want zero", info.Date)
	}
}

// mixedMsg is a multipart/mixed with a text part, a base64 attachment and a
// forwarded message that is itself multipart.
var mixedMsg = crlf(
	"From: Carol <carol@example.com>",
	"To: dave@example.com",
	"Subject: Report",
	"Date: 3 Mar 2024 09:15 +0100",
	"MIME-Version: 1.0",
	"Content-Type: multipart/mixed;",
	` boundary="outer=_1"`,
	"",
	"This is a multi-part message in MIME format.",
	"--outer=_1",
	"Content-Type: text/plain; charset=iso-8859-1",
	"Content-Transfer-Encoding: quoted-printable",
	"",
	"Gr=FC=DFe,",
	"see attached.",
	"--outer=_1",
	`Content-Type: application/pdf; name="report.pdf"`,
	"Content-Transfer-Encoding: base64",
	`Content-Disposition: attachment; filename="report.pdf"; size=12`,
	"Content-ID: <part2@example.com>",
	"Content-Description: the report",
	"Content-Language: en, de",
	"",
	"JVBERi0xLjQK",
	"JSVFT0YK",
	"--outer=_1",
	"Content-Type: message/rfc822",
	"Content-Disposition: inline",
	"",
	"From: Eve <eve@example.net>",
	"Subject: =?iso-8859-1?q?Caf=E9?=",
	"Message-ID: <inner@example.net>",
	`Content-Type: multipart/alternative; boundary=inner`,
	"",
	"--inner",
	"",
	"plain inner",
	"--inner",
	"Content-Type: text/html",
	"",
	"<b>inner</b>",
	"--inner--",
	"",
	"--outer=_1--",
	"epilogue",
	"")

func TestMultipartMixedNested(t *testing.T) {
	info := mustCheck(t, mixedMsg)
	bs := mustWire(t, info.BodyStructure)
	if len(bs.list) != 8 || bs.list[3].str != "MIXED" {
		t.Fatalf("top level: %v", bs)
	}
	text, att, fwd := bs.list[0], bs.list[1], bs.list[2]
	if got := text.String(); got != `("TEXT" "PLAIN" ("CHARSET" "iso-8859-1") NIL NIL "QUOTED-PRINTABLE" 25 1 NIL NIL NIL NIL)` {
		t.Errorf("text part: %s", got)
	}
	want := `("APPLICATION" "PDF" ("NAME" "report.pdf") "<part2@example.com>" "the report" "BASE64" 22 NIL ` +
		`("ATTACHMENT" ("FILENAME" "report.pdf" "SIZE" "12")) ("en" "de") NIL)`
	if got := att.String(); got != want {
		t.Errorf("attachment\n got %s\nwant %s", got, want)
	}
	if fwd.list[0].str != "MESSAGE" || fwd.list[1].str != "RFC822" {
		t.Fatalf("forwarded part: %v", fwd)
	}
	env := fwd.list[7]
	if env.list[1].str != "=?iso-8859-1?q?Caf=E9?=" || env.list[9].str != "<inner@example.net>" ||
		env.list[2].String() != `(("Eve" NIL "eve" "example.net"))` || !env.list[0].isNil {
		t.Errorf("inner envelope: %v", env)
	}
	inner := fwd.list[8]
	if got := inner.String(); got != `(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 11 0 NIL NIL NIL NIL) `+
		`("TEXT" "HTML" NIL NIL NIL "7BIT" 12 0 NIL NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" "inner") NIL NIL NIL)` {
		t.Errorf("inner structure: %s", got)
	}
	fwdBody, ok := Section([]byte(mixedMsg), []int{3}, "", nil)
	if !ok {
		t.Fatal("BODY[3] missing")
	}
	if fwd.list[6].num() != len(fwdBody) || fwd.list[9].num() != strings.Count(string(fwdBody), "\n") {
		t.Errorf("forwarded size/lines %v/%v, body %d octets", fwd.list[6], fwd.list[9], len(fwdBody))
	}
	if got := fwd.list[10].String() + " " + fwd.list[11].String(); got != `NIL ("INLINE" NIL)` {
		t.Errorf("forwarded md5/disposition: %s", got)
	}
	if info.Subject != "Report" || info.Date.IsZero() || info.Date.Minute() != 15 {
		t.Errorf("top-level fields: %q %v", info.Subject, info.Date)
	}
}

func TestEncodedSubjects(t *testing.T) {
	for _, tc := range []struct{ raw, decoded string }{
		{"=?UTF-8?B?w6lsw6h2ZSDinIU=?=", "élève ✅"},
		{"=?utf-8?q?caf=C3=A9?= =?utf-8?q?_cr=C3=A8me?=", "café crème"},
		{"=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"},
		{"=?windows-1252?q?=80_5?=", "€ 5"},
		{"=?x-unknown?q?abc?=", "abc"},
		{"plain =?broken", "plain =?broken"},
	} {
		msg := "Subject: " + tc.raw + "\r\nFrom: =?utf-8?q?J=C3=B6rg?= <j@x.de>\r\n\r\n"
		info := mustCheck(t, msg)
		if info.Subject != tc.decoded {
			t.Errorf("Subject %q decoded to %q, want %q", tc.raw, info.Subject, tc.decoded)
		}
		env := mustWire(t, info.Envelope)
		if env.list[1].str != tc.raw {
			t.Errorf("envelope subject %q, want raw %q", env.list[1].str, tc.raw)
		}
		if env.list[2].list[0].list[0].str != "=?utf-8?q?J=C3=B6rg?=" || info.From != "Jörg <j@x.de>" {
			t.Errorf("from: envelope %v, decoded %q", env.list[2], info.From)
		}
	}
}

func TestFoldedSubjectAndEightBit(t *testing.T) {
	msg := "Subject: a long\r\n\tsubject line\r\nTo: \"M\xfcller\" <m@x.de>\r\n\r\n"
	info := mustCheck(t, msg)
	env := mustWire(t, info.Envelope)
	if env.list[1].str != "a long\tsubject line" {
		t.Errorf("unfolded subject %q", env.list[1].str)
	}
	if !strings.Contains(string(info.Envelope), "{6}\r\nM\xfcller") {
		t.Errorf("8-bit name not sent as literal: %q", info.Envelope)
	}
	if info.To != "\"M\uFFFDller\" <m@x.de>" {
		t.Errorf("To for SEARCH = %q", info.To)
	}
}

func TestGroupAddresses(t *testing.T) {
	msg := crlf(
		"From: A <a@x.org>",
		"To: undisclosed-recipients:;",
		"Cc: Team: b@x.org, \"C D\" <c@x.org>;, e@x.org",
		"Bcc: Open Group: f@x.org",
		"Reply-To: ",
		"Sender: <@route.x,@r2.x:g@x.org>",
		"", "")
	env := mustWire(t, mustCheck(t, msg).Envelope)
	for i, want := range map[int]string{
		3: `((NIL "@route.x,@r2.x" "g" "x.org"))`,
		4: `(("A" NIL "a" "x.org"))`,
		5: `((NIL NIL "undisclosed-recipients" NIL) (NIL NIL NIL NIL))`,
		6: `((NIL NIL "Team" NIL) (NIL NIL "b" "x.org") ("C D" NIL "c" "x.org") (NIL NIL NIL NIL) (NIL NIL "e" "x.org"))`,
		7: `((NIL NIL "Open Group" NIL) (NIL NIL "f" "x.org") (NIL NIL NIL NIL))`,
	} {
		got := env.list[i].String()
		if got != want {
			t.Errorf("envelope field %d\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestAddressOddities(t *testing.T) {
	for in, want := range map[string]string{
		"joe@x.org (Joe Bloggs)":             `(("Joe Bloggs" NIL "joe" "x.org"))`,
		"postmaster":                         `((NIL NIL "postmaster" "MISSING_DOMAIN"))`,
		"<>":                                 `((NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))`,
		`"john doe"@x.org`:                   `((NIL NIL "\"john doe\"" "x.org"))`,
		"a@[192.0.2.1], , ,b@c":              `((NIL NIL "a" "[192.0.2.1]")(NIL NIL "b" "c"))`,
		"Broken <unterminated@x":             `(("Broken" NIL "unterminated" "x"))`,
		`"unterminated quote <q@x>`:          `((NIL NIL "\"unterminated quote <q@x>" "MISSING_DOMAIN"))`,
		"x@y (nested (comment) here)":        `(("nested (comment) here" NIL "x" "y"))`,
		"Mary Smith <mary@x.test>; junk>>,@": `(("Mary Smith" NIL "mary" "x.test")(NIL NIL "junk" "MISSING_DOMAIN"))`,
	} {
		b := appendAddressList(nil, hval{v: in, ok: true})
		if string(b) != want {
			t.Errorf("%q\n got %s\nwant %s", in, b, want)
		}
		if _, err := parseWire(b); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestMissingHeadersAndEmptyBody(t *testing.T) {
	info := mustCheck(t, "Subject: only\r\n\r\n")
	if string(info.Envelope) != `(NIL "only" NIL NIL NIL NIL NIL NIL NIL NIL)` {
		t.Errorf("ENVELOPE %s", info.Envelope)
	}
	if string(info.Body) != `("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0)` || info.HeaderLen != 17 {
		t.Errorf("BODY %s, HeaderLen %d", info.Body, info.HeaderLen)
	}
	info = mustCheck(t, "")
	if info.HeaderLen != 0 || string(info.Envelope) != `(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)` {
		t.Errorf("empty message: %d %s", info.HeaderLen, info.Envelope)
	}
	info = mustCheck(t, "\r\nbody only\r\n")
	if info.HeaderLen != 2 {
		t.Errorf("message starting with the empty line: HeaderLen %d", info.HeaderLen)
	}
}

func TestNoBlankLine(t *testing.T) {
	msg := "From: a@b.c\r\nSubject: no body\r\n"
	info := mustCheck(t, msg)
	if info.HeaderLen != len(msg) || info.Subject != "no body" {
		t.Errorf("HeaderLen %d (len %d), Subject %q", info.HeaderLen, len(msg), info.Subject)
	}
	if !strings.Contains(string(info.Body), `"7BIT" 0 0`) {
		t.Errorf("BODY %s", info.Body)
	}
}

func TestDates(t *testing.T) {
	utc := time.UTC
	for in, want := range map[string]time.Time{
		"Tue, 1 Jul 2003 10:52:37 +0200":                                time.Date(2003, 7, 1, 8, 52, 37, 0, utc),
		"1 Jul 03 10:52 GMT":                                            time.Date(2003, 7, 1, 10, 52, 0, 0, utc),
		"Fri, 21 Nov 97 09:55:06 PST":                                   time.Date(1997, 11, 21, 17, 55, 6, 0, utc),
		"Thu,\r\n 13\r\n  Feb\r\n 1969 23:32 -0330 (Newfoundland Time)": time.Date(1969, 2, 14, 3, 2, 0, 0, utc),
		"21 Nov 097 09:55:06 -0000":                                     time.Date(1997, 11, 21, 9, 55, 6, 0, utc),
		"Mon Jan 2 15:04:05 2006":                                       time.Date(2006, 1, 2, 15, 4, 5, 0, utc),
		"garbage":                                                       {},
		"32 Jan 2006 10:00":                                             {},
		"1 Jan 2006 25:00":                                              {},
		"":                                                              {},
	} {
		got := parseDate(in)
		if !got.Equal(want) || got.IsZero() != want.IsZero() {
			t.Errorf("parseDate(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestStrayParenthesis(t *testing.T) {
	b := appendAddressList(nil, hval{v: `0) a@b`, ok: true})
	if string(b) != `((NIL NIL "0)a" "b"))` {
		t.Errorf("got %s", b)
	}
}

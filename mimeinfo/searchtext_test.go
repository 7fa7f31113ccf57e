package mimeinfo

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"
)

// searchMsg has one part of every kind SearchText handles. The attachment
// holds a word (base64 of "attachmentword secret") that must not be found,
// and the text part's base64 must not be found as text either.
var searchMsg = crlf(
	"From: a@example.com",
	"Subject: toplevelsubject",
	"MIME-Version: 1.0",
	`Content-Type: multipart/mixed; boundary="outer"`,
	"",
	"preamble words are not text",
	"--outer",
	`Content-Type: multipart/alternative; boundary="alt"`,
	"",
	"--alt",
	"Content-Type: text/plain; charset=utf-8",
	"Content-Transfer-Encoding: base64",
	"",
	base64.StdEncoding.EncodeToString([]byte("Base64 sagt Grüße aus Köln")),
	"--alt",
	"Content-Type: text/html; charset=iso-8859-1",
	"Content-Transfer-Encoding: quoted-printable",
	"",
	"<html><body><p>Sch=F6ne <b>Gr</b>=FC=DFe,=",
	" &amp; bye</p></body></html>",
	"--alt--",
	"--outer",
	"Content-Type: text/plain; charset=windows-1251",
	"Content-Transfer-Encoding: 8bit",
	"",
	"\xcf\xf0\xe8\xe2\xe5\xf2 \xec\xe8\xf0",
	"--outer",
	"Content-Type: text/plain; charset=ISO-2022-JP",
	"",
	"\x1b$BF|K\\8l\x1b(B text",
	"--outer",
	"Content-Type: message/rfc822",
	"",
	"Subject: =?utf-8?q?nested_=C3=BCber?=",
	"Content-Type: text/plain; charset=koi8-r",
	"",
	"\xf0\xd2\xc9\xd7\xc5\xd4 inner",
	"--outer",
	"Content-Type: application/octet-stream",
	"Content-Transfer-Encoding: base64",
	`Content-Disposition: attachment; filename="a.bin"`,
	"",
	base64.StdEncoding.EncodeToString([]byte("attachmentword secret")),
	"--outer",
	"Content-Type: image/png",
	"",
	"pngword",
	"--outer--",
	"epilogue words",
	"")

func TestSearchText(t *testing.T) {
	got := SearchText([]byte(searchMsg), 1<<20)
	for _, want := range []string{
		"Base64 sagt Grüße aus Köln",
		"Schöne Grüße, & bye",
		"Привет мир",
		"日本語 text",
		"Subject: nested über",
		"Привет inner",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	for _, absent := range []string{
		"toplevelsubject", "preamble", "epilogue", "attachmentword", "pngword",
		base64.StdEncoding.EncodeToString([]byte("Base64 sagt")), "=F6", "<b>", "&amp;", "\x1b",
	} {
		if strings.Contains(got, absent) {
			t.Errorf("found %q in\n%s", absent, got)
		}
	}
	if !utf8.ValidString(got) {
		t.Errorf("invalid UTF-8: %q", got)
	}
}

func TestSearchTextSimple(t *testing.T) {
	for _, tc := range []struct{ msg, text string }{
		{"Subject: x\r\n\r\nbody only\r\n", "body only\r\n"},
		{"Subject: x\r\n", ""}, // no body at all
		{"", ""},
		{"\r\nno header", "no header"},
		{"Content-Type: text/plain; charset=\"iso-8859-1\"\r\n\r\ncaf\xe9", "café"},
		{"Content-Type: TEXT/HTML\r\nContent-Transfer-Encoding: BASE64\r\n\r\nPGk+aGk8L2k+", "hi"},
		{"Content-Type: broken\r\n\r\n8-bit caf\xe9 under the default", "8-bit café under the default"},
		{"Content-Type: text/plain\r\nContent-Transfer-Encoding: x-unknown\r\n\r\n=41", "=41"},
		{"Content-Type: application/pdf\r\n\r\n%PDF", ""},
		{"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--", "one\ntwo"},
		{"Content-Type: multipart/mixed\r\n\r\nno boundary", ""},
	} {
		if got := SearchText([]byte(tc.msg), 1<<20); got != tc.text {
			t.Errorf("%q: got %q, want %q", tc.msg, got, tc.text)
		}
	}
}

func TestSearchTextLimit(t *testing.T) {
	full := SearchText([]byte(searchMsg), 1<<20)
	for limit := -1; limit <= len(full)+2; limit++ {
		got := SearchText([]byte(searchMsg), limit)
		if len(got) > max(limit, 0) || !utf8.ValidString(got) {
			t.Fatalf("limit %d: %d octets, valid %v", limit, len(got), utf8.ValidString(got))
		}
	}
	if got := SearchText([]byte(searchMsg), len(full)); got != full {
		t.Errorf("limit = length changed the text:\n%q\n%q", got, full)
	}
	// A huge base64 part costs no more than the cap.
	big := "Content-Transfer-Encoding: base64\r\n\r\n" + strings.Repeat("QUJD", 1<<20)
	if got := SearchText([]byte(big), 10); got != "ABCABCABCA" {
		t.Errorf("capped base64: %q", got)
	}
	// A cut inside a multi-octet character drops the whole character.
	if got := SearchText([]byte("\r\nü"), 1); got != "" {
		t.Errorf("cut character: %q", got)
	}
}

func TestSearchTextHostile(t *testing.T) {
	deep := strings.Repeat("Content-Type: message/rfc822\r\n\r\n", 100) + "Subject: bottom\r\n\r\ndeep text"
	got := SearchText([]byte(deep), 1<<20)
	if strings.Contains(got, "deep text") {
		t.Errorf("text below the depth cap was read")
	}
	var sb strings.Builder
	sb.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	for range 10000 {
		sb.WriteString("--b\r\n\r\nw\r\n")
	}
	if got := SearchText([]byte(sb.String()), 1<<20); strings.Count(got, "w") >= 10000 || strings.Count(got, "w") < 100 {
		t.Errorf("part cap: %d parts of text", strings.Count(got, "w"))
	}
	for _, m := range []string{
		"Content-Type: text/html\r\n\r\n" + strings.Repeat("<", 100000),
		"Content-Type: text/html\r\n\r\n" + strings.Repeat("<a", 100000),
		"Content-Type: text/html\r\n\r\n" + strings.Repeat("&#", 100000),
		"Content-Type: text/html\r\n\r\n" + strings.Repeat("<style>", 100000),
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + strings.Repeat("= ", 100000),
		"Content-Type: text/plain; charset=utf-16\r\n\r\n\xd8\x00\xd8",
		"Content-Type: text/plain; charset=iso-2022-jp\r\n\r\n" + strings.Repeat("\x1b$B", 100000),
		"Content-Type: text/plain; charset=gb18030\r\n\r\n\x81\x30\x81",
	} {
		got := SearchText([]byte(m), 1<<20)
		if !utf8.ValidString(got) {
			t.Errorf("invalid UTF-8 from %.40q", m)
		}
	}
}

func TestDecodeHeader(t *testing.T) {
	h := "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\tfolded =?iso-8859-1?q?caf=E9?=\r\n" +
		"X-Cyr: =?windows-1251?B?z/Do4uXy?=\r\nX-Bad: \xff\r\nno colon line\r\nEmpty:\r\n\r\nBody: not header\r\n"
	want := "Subject: Grüße\tfolded café\nX-Cyr: Привет\nX-Bad: \uFFFD\nno colon line\nEmpty\n"
	if got := DecodeHeader([]byte(h)); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := DecodeHeader(nil); got != "" {
		t.Errorf("empty header: %q", got)
	}
}

// FuzzSearchText checks that SearchText never panics, keeps to its cap and
// returns valid UTF-8, and that DecodeHeader returns valid UTF-8.
func FuzzSearchText(f *testing.F) {
	seeds := append([]string{searchMsg,
		"Content-Type: text/html; charset=shift_jis\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>=93=FA&#x41;</p>",
		"Content-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: base64\r\n\r\n/v8ASA==",
		"Content-Type: message/rfc822\r\n\r\nSubject: =?koi8-r?q?=F0?=\r\n\r\ninner",
	}, fuzzSeeds...)
	for i, s := range seeds {
		f.Add([]byte(s), uint16(1<<15))
		f.Add([]byte(s), uint16(i*7))
	}
	f.Fuzz(func(t *testing.T, msg []byte, limit uint16) {
		got := SearchText(msg, int(limit))
		if len(got) > int(limit) {
			t.Fatalf("%d octets over the cap of %d", len(got), limit)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8: %q", got)
		}
		if h := DecodeHeader(msg); !utf8.ValidString(h) {
			t.Fatalf("DecodeHeader: invalid UTF-8: %q", h)
		}
	})
}

func BenchmarkSearchText(b *testing.B) {
	msg := benchMessage()
	if got := SearchText(msg, 4<<20); !strings.Contains(got, "lazy dog") || strings.Contains(got, "<p>") {
		b.Fatalf("unexpected text: %.200q", got)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		SearchText(msg, 4<<20)
	}
}

package mimeinfo

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestFieldList(t *testing.T) {
	h := crlf(
		"Received: from a",
		"\tby b; Tue, 1 Jul 2025 10:52:37 +0200",
		"Subject  : =?utf-8?q?caf=C3=A9?=",
		"no colon here",
		"X-Empty:",
		"received: second",
		"", "")
	got := FieldList([]byte(h))
	want := []Field{
		{"Received", "from a\tby b; Tue, 1 Jul 2025 10:52:37 +0200"},
		{"Subject", "=?utf-8?q?caf=C3=A9?="},
		{"X-Empty", ""},
		{"received", "second"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FieldList\n got %q\nwant %q", got, want)
	}
	if d := DecodeValue(got[1].Value); d != "café" {
		t.Errorf("DecodeValue = %q", d)
	}
	if n := HeaderLen([]byte(h + "body")); n != len(h) {
		t.Errorf("HeaderLength = %d, want %d", n, len(h))
	}
}

func TestFieldListHugeHeader(t *testing.T) {
	h := strings.Repeat("X-A: "+strings.Repeat("a", 1000)+"\r\n", 3000) // 3 MB
	got := FieldList([]byte(h))
	if len(got) == 0 || len(got) > maxHeaderAnalysis/1000 {
		t.Fatalf("%d fields from a 3 MB header; the analysis is capped at 1 MiB", len(got))
	}
}

func TestParseDateExported(t *testing.T) {
	d, ok := ParseDate("Tue, 1 Apr 1997 09:06:31 -0800 (PST)")
	if !ok || !d.Equal(time.Date(1997, 4, 1, 17, 6, 31, 0, time.UTC)) {
		t.Errorf("ParseDate = %v %v", d, ok)
	}
	if _, ok := ParseDate("not a date"); ok {
		t.Error("ParseDate accepted junk")
	}
}

func TestAddressList(t *testing.T) {
	got := AddressList(`"Coyote, W." <coyote@desert.example.org>, team: a@b, "x" <c@d>; undisclosed, <>, roadrunner (Road) `)
	want := []Address{
		{"Coyote, W.", "coyote", "desert.example.org"},
		{"", "a", "b"},
		{"x", "c", "d"},
		{"", "undisclosed", ""},
		{"Road", "roadrunner", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("AddressList\n got %q\nwant %q", got, want)
	}
	if got := AddressList(""); got != nil {
		t.Errorf("empty list: %q", got)
	}
}

func TestParts(t *testing.T) {
	msg := crlf(
		"From: a@b",
		`Content-Type: multipart/mixed; boundary="outer"`,
		"",
		"This is the preamble.",
		"--outer",
		"Content-Type: text/plain; charset=iso-8859-1",
		"Content-Transfer-Encoding: quoted-printable",
		"",
		"gr=FC=DFe",
		"--outer",
		"Content-Type: message/rfc822",
		"",
		"Subject: =?utf-8?q?inner_caf=C3=A9?=",
		"",
		"inner body",
		"--outer",
		"Content-Type: audio/mp3",
		"Content-Transfer-Encoding: base64",
		"",
		"SUQz",
		"--outer--",
		"The epilogue.",
		"")
	got := Parts([]byte(msg), 1<<20)
	want := []Part{
		{Type: "multipart", Subtype: "mixed", Content: "This is the preamble.", Epilogue: "The epilogue.\r\n"},
		{Type: "text", Subtype: "plain", Content: "grüße"},
		{Type: "message", Subtype: "rfc822", Content: "Subject: inner café\n"},
		{Type: "text", Subtype: "plain", Content: "inner body"},
		{Type: "audio", Subtype: "mp3", Content: "ID3"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parts\n got %q\nwant %q", got, want)
	}
}

func TestPartsPlainAndLimit(t *testing.T) {
	msg := "Subject: x\r\n\r\n" + strings.Repeat("é", 100)
	got := Parts([]byte(msg), 1<<20)
	if len(got) != 1 || got[0].Type != "text" || got[0].Subtype != "plain" || got[0].Content != strings.Repeat("é", 100) {
		t.Fatalf("plain message: %q", got)
	}
	for limit := 0; limit < 20; limit++ {
		got := Parts([]byte(msg), limit)
		if len(got) != 1 || len(got[0].Content) > limit || !utf8.ValidString(got[0].Content) {
			t.Fatalf("limit %d: %q", limit, got)
		}
	}
}

func TestPartsHostile(t *testing.T) {
	// Deep nesting and many parts stay within the walk's caps.
	var sb strings.Builder
	for i := 0; i < 100; i++ {
		sb.WriteString("Content-Type: multipart/mixed; boundary=b" + itoa(i) + "\r\n\r\n--b" + itoa(i) + "\r\n")
	}
	sb.WriteString("\r\ntext\r\n")
	got := Parts([]byte(sb.String()), 1<<20)
	if len(got) > maxDepth+2 {
		t.Fatalf("%d parts from 100 nested multiparts", len(got))
	}
	many := "Content-Type: multipart/mixed; boundary=x\r\n\r\n" + strings.Repeat("--x\r\n\r\na\r\n", 10000)
	if n := len(Parts([]byte(many), 1<<20)); n > maxParts {
		t.Fatalf("%d parts, cap %d", n, maxParts)
	}
}

package mimeinfo

import (
	"fmt"
	"strings"
	"testing"
)

// benchMessage is an 8 KB multipart/mixed: a text part, an HTML alternative
// and a base64 attachment.
func benchMessage() []byte {
	var sb strings.Builder
	sb.WriteString(crlf(
		"Received: from mx.example.net (mx.example.net [192.0.2.7])",
		"\tby mail.example.org with ESMTPS id 4Xy; Tue, 1 Jul 2025 10:52:37 +0200",
		"From: \"Sender, Some\" <sender@example.net>",
		"To: Alice <alice@example.org>, bob@example.org, team: carol@example.org, dave@example.org;",
		"Cc: =?utf-8?q?J=C3=B6rg?= <joerg@example.de>",
		"Subject: =?utf-8?q?Quarterly_r=C3=A9sum=C3=A9?= and numbers",
		"Date: Tue, 1 Jul 2025 10:52:37 +0200",
		"Message-ID: <20250701105237.1234@example.net>",
		"MIME-Version: 1.0",
		`Content-Type: multipart/mixed; boundary="=_mixed"`,
		"", "",
		"--=_mixed",
		`Content-Type: multipart/alternative; boundary="=_alt"`,
		"", "--=_alt",
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: quoted-printable", "", ""))
	for sb.Len() < 3000 {
		sb.WriteString("The quick brown fox jumps over the lazy dog; the numbers are attached.\r\n")
	}
	sb.WriteString("--=_alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n")
	for sb.Len() < 5000 {
		sb.WriteString("<p>The quick brown fox jumps over the lazy dog.</p>\r\n")
	}
	sb.WriteString("--=_alt--\r\n--=_mixed\r\nContent-Type: application/pdf; name=\"q.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"q.pdf\"\r\n\r\n")
	for sb.Len() < 8100 {
		sb.WriteString("JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0ZpbHRlci9GbGF0ZURl\r\n")
	}
	sb.WriteString("--=_mixed--\r\n")
	return []byte(sb.String())
}

func BenchmarkParse(b *testing.B) {
	msg := benchMessage()
	if err := checkInfo(Parse(msg), len(msg)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		Parse(msg)
	}
}

func BenchmarkSection(b *testing.B) {
	msg := benchMessage()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Section(msg, []int{1, 2}, "", nil); !ok {
			b.Fatal("BODY[1.2] missing")
		}
	}
}

// BenchmarkMatcher reads 1 MiB of text for one and for 1,000 keys; the
// cost per byte is the same (strings.Contains per key grows with keys).
func BenchmarkMatcher(b *testing.B) {
	text := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. Grüße aus Zürich.\r\n", 14000)
	for _, n := range []int{1, 1000} {
		var keys []string
		for i := 0; i < n; i++ {
			keys = append(keys, fmt.Sprintf("Amet%04d", i))
		}
		m := NewMatcher(keys)
		s := m.NewScan()
		b.Run(fmt.Sprintf("%dkeys", n), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				s.Reset()
				s.Write(text)
			}
		})
		b.Run(fmt.Sprintf("%dkeys-contains", n), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				folded := FoldCase(text)
				for _, k := range keys {
					strings.Contains(folded, FoldCase(k))
				}
			}
		})
	}
}

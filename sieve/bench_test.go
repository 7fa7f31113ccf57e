package sieve

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// benchScript is a filter of n rules of the kinds people write: header
// words, senders, lists, domains, now and then a size or a flag.
func benchScript(n int) string {
	var sb strings.Builder
	sb.WriteString("require [\"fileinto\", \"envelope\", \"imap4flags\", \"relational\", \"variables\"];\n")
	for i := 0; i < n; i++ {
		switch i % 6 {
		case 0:
			fmt.Fprintf(&sb, "if header :contains \"subject\" \"project-%d\" { fileinto \"Projects/%d\"; stop; }\n", i, i)
		case 1:
			fmt.Fprintf(&sb, "if address :is \"from\" \"person%d@example.org\" { fileinto \"People/%d\"; }\n", i, i)
		case 2:
			fmt.Fprintf(&sb, "if header :matches \"list-id\" \"*list%d.example.org*\" { fileinto \"Lists/%d\"; stop; }\n", i, i)
		case 3:
			fmt.Fprintf(&sb, "if address :domain :is [\"to\", \"cc\"] \"dept%d.example.com\" { addflag \"$Dept%d\"; }\n", i, i)
		case 4:
			fmt.Fprintf(&sb, "if allof (envelope :is \"from\" \"bounce%d@example.net\", size :over 1M) { discard; }\n", i)
		case 5:
			fmt.Fprintf(&sb, "if header :value \"ge\" \"x-priority\" \"%d\" { set \"p\" \"%d\"; }\n", 9, i)
		}
	}
	return sb.String()
}

// benchMessage is a 50 KB message with a usual header.
func benchMessage() []byte {
	var sb strings.Builder
	sb.WriteString(crlf(
		"Received: from mx.example.net (mx.example.net [192.0.2.7]) by mail.example.org; Tue, 1 Jul 2025 10:52:37 +0200",
		"Received: from client by mx.example.net; Tue, 1 Jul 2025 10:52:30 +0200",
		"From: \"Sender, Some\" <sender@example.net>",
		"To: Alice <alice@example.org>, bob@example.org",
		"Cc: =?utf-8?q?J=C3=B6rg?= <joerg@example.de>",
		"Subject: =?utf-8?q?Quarterly_r=C3=A9sum=C3=A9?= and numbers",
		"Date: Tue, 1 Jul 2025 10:52:37 +0200",
		"Message-ID: <20250701105237.1234@example.net>",
		"List-Id: Team list <team.example.org>",
		"X-Priority: 3",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
		""))
	for sb.Len() < 50<<10 {
		sb.WriteString("The quick brown fox jumps over the lazy dog; the numbers are attached.\r\n")
	}
	return []byte(sb.String())
}

func benchRun(b *testing.B, rules int) {
	s, err := Compile([]byte(benchScript(rules)), nil)
	if err != nil {
		b.Fatal(err)
	}
	raw := benchMessage()
	msg := ParseMessage(raw)
	env := Envelope{From: "sender@example.net", To: "alice@example.org"}
	ctx := context.Background()
	if res := s.Run(ctx, msg, env, nil); res.Err != nil || len(res.Actions) != 1 {
		b.Fatalf("%v %s", res.Err, fmtActions(res.Actions))
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Run(ctx, msg, env, nil)
	}
}

// BenchmarkRun1000 is the measure: 1,000 rules on a 50 KB
// message, the message prepared once as delivery does for all recipients.
func BenchmarkRun1000(b *testing.B) { benchRun(b, 1000) }
func BenchmarkRun50(b *testing.B)   { benchRun(b, 50) }

// BenchmarkParseMessage is the once-per-message cost.
func BenchmarkParseMessage(b *testing.B) {
	raw := benchMessage()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		ParseMessage(raw)
	}
}

func BenchmarkCompile1000(b *testing.B) {
	src := []byte(benchScript(1000))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(src, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBodyText is one body :text test on the 50 KB message, the
// text made once.
func BenchmarkBodyText(b *testing.B) {
	s, err := Compile([]byte(`require "body"; if body :text :contains "missile" { discard; }`), nil)
	if err != nil {
		b.Fatal(err)
	}
	msg := ParseMessage(benchMessage())
	b.ReportAllocs()
	for b.Loop() {
		s.Run(context.Background(), msg, Envelope{}, nil)
	}
}

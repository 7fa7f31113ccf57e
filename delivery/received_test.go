package delivery

import (
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// checkHeader fails unless h is well-formed header fields (RFC 5322 §2.1.1,
// §2.2): CRLF line ends only, every line at most 998 octets, continuation
// lines folded with white space, and only printable ASCII, or valid UTF-8
// when the transaction used SMTPUTF8 (RFC 6532 §3.2). It returns the
// longest line's length.
func checkHeader(t *testing.T, h string, allowUTF8 bool) int {
	t.Helper()
	if !strings.HasSuffix(h, "\r\n") {
		t.Fatalf("header does not end in CRLF: %q", h)
	}
	longest := 0
	for i, l := range strings.Split(strings.TrimSuffix(h, "\r\n"), "\r\n") {
		if len(l) > 998 {
			t.Fatalf("header line of %d octets (RFC 5322 §2.1.1 allows 998): %.80q...", len(l), l)
		}
		longest = max(longest, len(l))
		if i > 0 && !strings.HasPrefix(l, "\t") && !strings.HasPrefix(l, "Received: ") {
			t.Fatalf("line %d neither folded nor a new field: %q", i, l)
		}
		if !utf8.ValidString(l) {
			t.Fatalf("invalid UTF-8 in header line %q", l)
		}
		for _, r := range l {
			switch {
			case r == '\t' && i > 0:
			case r >= ' ' && r < 0x7f:
			case r >= 0x80 && allowUTF8 && unicode.IsPrint(r):
			default:
				t.Fatalf("character %U in header line %q (utf8 %v)", r, l, allowUTF8)
			}
		}
	}
	return longest
}

// TestReceivedHostileRecipient: a catch-all takes any local part, so the
// FOR clause must cope with whatever the client sent: 600 octets of
// invalid UTF-8 once made a Received line of 1,819 octets (each bad octet
// became a 3-octet U+FFFD).
func TestReceivedHostileRecipient(t *testing.T) {
	tr := Trace{Helo: "client.test", RemoteIP: netip.MustParseAddr("192.0.2.7"), By: "mx.example.test", ID: "id1", Time: time.Unix(0, 0).UTC()}
	for _, rcpt := range []string{
		strings.Repeat("\xff", 600) + "@example.test",
		strings.Repeat("\x80\"", 300) + "@example.test",
		strings.Repeat("a", 600) + "@example.test",
		"user@" + strings.Repeat("d.", 400) + "test",
	} {
		for _, u := range []bool{false, true} {
			tr.UTF8 = u
			h := tr.Received([]string{rcpt})
			checkHeader(t, h, u)
			if strings.Contains(h, "for <") {
				t.Errorf("a recipient that is no valid path was named: %q", h)
			}
		}
	}
}

// TestReceivedFolds: long but valid names are kept and folded so that
// lines stay at 78 octets wherever a line can be broken.
func TestReceivedFolds(t *testing.T) {
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + ".example.test"
	tr := Trace{
		Helo: long, RemoteIP: netip.MustParseAddr("2001:db8::1"), By: "mx.example.test",
		AuthUser: strings.Repeat("u", 60) + "@example.test", ID: "id1", Time: time.Unix(0, 0).UTC(),
		UTF8: true,
	}
	rcpt := "ünïcödé." + strings.Repeat("x", 40) + "@example.test"
	h := tr.Received([]string{rcpt})
	checkHeader(t, h, true)
	for _, want := range []string{long, "for <" + rcpt + ">", tr.AuthUser} {
		if !strings.Contains(h, want) {
			t.Errorf("Received lacks %q:\n%s", want, h)
		}
	}
	for _, l := range strings.Split(strings.TrimSuffix(h, "\r\n"), "\r\n") {
		// Only a single word too long for a line (here the EHLO name)
		// may pass 78 octets.
		if len(l) > 78 && strings.Count(strings.TrimSpace(strings.TrimPrefix(l, "Received: from")), " ") > 0 {
			t.Errorf("line of %d octets could have been folded: %q", len(l), l)
		}
	}
	// Without SMTPUTF8 a non-ASCII recipient is not written.
	tr.UTF8 = false
	h = tr.Received([]string{rcpt})
	checkHeader(t, h, false)
	if strings.Contains(h, "for <") {
		t.Errorf("non-ASCII recipient written without SMTPUTF8:\n%s", h)
	}
}

func TestReturnPathHostile(t *testing.T) {
	for _, from := range []string{
		strings.Repeat("\xff", 600) + "@example.test",
		strings.Repeat("a", 2000) + "@example.test",
		"a\r\nBcc: x@y@example.test",
		"ünï@example.test",
	} {
		for _, u := range []bool{false, true} {
			rp := ReturnPath(from, u)
			checkHeader(t, rp, u)
			if !strings.HasPrefix(rp, "Return-Path: <") || strings.Count(rp, "\r\n") != 1 {
				t.Errorf("Return-Path %q", rp)
			}
		}
	}
	if rp := ReturnPath("ünï@example.test", true); rp != "Return-Path: <ünï@example.test>\r\n" {
		t.Errorf("UTF-8 sender under SMTPUTF8: %q", rp)
	}
}

// FuzzReceived: whatever the client chose as EHLO name or addresses, the
// trace fields stay well-formed (checkHeader).
func FuzzReceived(f *testing.F) {
	f.Add("client.test", "a@b.test", "x@y.test", false)
	f.Add("[192.0.2.1]", "", "\"q\\\"x\"@y", true)
	f.Add("\r\n\x00(", "a\rb@c", "d\ne@f", false)
	f.Fuzz(func(t *testing.T, helo, from, rcpt string, utf8 bool) {
		tr := Trace{Helo: helo, By: "mx.example.test", ID: NewID(), Time: time.Unix(0, 0), UTF8: utf8, AuthUser: from}
		checkHeader(t, ReturnPath(from, utf8)+tr.Received([]string{rcpt}), utf8)
	})
}

package mimeinfo

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// The cases follow the steps of RFC 5256 §2.1 one by one, then together.
func TestBaseSubject(t *testing.T) {
	for _, c := range []struct {
		in, want string
		reply    bool
	}{
		{"", "", false},
		{"hello", "hello", false},
		// (1) tabs, continuations and runs of spaces
		{"  hello \t\r\n  world  ", "hello world", false},
		// (2) subj-trailer: "(fwd)" and WSP, repeated
		{"hello (fwd)", "hello", true},
		{"hello (Fwd) (FWD)  ", "hello", true},
		{"hello(fwd)", "hello", true},
		{"hello (fwd) x", "hello (fwd) x", false},
		// (3) subj-leader: *subj-blob subj-refwd, or WSP
		{"Re: hello", "hello", true},
		{"RE: Re: re:hello", "hello", true},
		{"Fwd: hello", "hello", true},
		{"FW: hello", "hello", true},
		{"fw : hello", "hello", true},
		{"Re[2]: hello", "hello", true},
		{"Re [list]: hello", "hello", true},
		{"[list] Re: hello", "hello", true},
		{"[a][b] Re: [c] Fwd: hello", "hello", true},
		{"Reply: hello", "Reply: hello", false},
		{"Re hello", "Re hello", false},
		{"Fwx: hello", "Fwx: hello", false},
		{"Re: ", "", true},
		// (4) subj-blob, when a subj-base is left after it
		{"[list] hello", "hello", false},
		{"[list]", "[list]", false},
		{"[list]   ", "[list]", false},
		{"[a] [b]", "[b]", false},
		{"[a] [b] c", "c", false},
		{"[unclosed hello", "[unclosed hello", false},
		{"[a[b] hello", "[a[b] hello", false},
		// (5) (3) and (4) again, in turn
		{"[list] Re: [list] Re: hello", "hello", true},
		{"Re: [list] hello", "hello", true},
		// (6) subj-fwd-hdr and subj-fwd-trl, and again from (2)
		{"[fwd: hello]", "hello", true},
		{"[Fwd: Re: hello]", "hello", true},
		{"[FWD:[fwd: hello]]", "hello", true},
		{"Re: [fwd: Re: hello] (fwd)", "hello", true},
		{"[PATCH 1/2] [fwd: hello]", "hello", true},
		{"[fwd: hello] world", "world", false}, // a subj-blob, like any other
		{"[fwd:]", "", true},
		// Not ASCII: the steps only look at ASCII.
		{"Re: Grüße aus Köln", "Grüße aus Köln", true},
		{"АW: привет", "АW: привет", false}, // a Cyrillic А is not "a"
		{"[リスト] Re: 件名", "件名", true},
	} {
		got, reply := BaseSubject(c.in)
		if got != c.want || reply != c.reply {
			t.Errorf("BaseSubject(%q) = %q, %v; want %q, %v", c.in, got, reply, c.want, c.reply)
		}
	}
}

// FuzzBaseSubject: never a panic; the result is a base subject already
// (extracting again changes nothing), no longer than the input, trimmed,
// with single spaces, and valid UTF-8 when the input is.
func FuzzBaseSubject(f *testing.F) {
	for _, s := range []string{"Re: [fwd: Re: x] (fwd)", "[a] [b]", "[fwd:]", "re[", "[[[]]] re: [] fw:", " \t(fwd)(fwd)", "Grüße"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, _ := BaseSubject(in)
		again, _ := BaseSubject(got)
		if again != got {
			t.Fatalf("BaseSubject(%q) = %q, but BaseSubject(%q) = %q", in, got, got, again)
		}
		if len(got) > len(in) || strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") || strings.Contains(got, "  ") {
			t.Fatalf("BaseSubject(%q) = %q", in, got)
		}
		if utf8.ValidString(in) && !utf8.ValidString(got) {
			t.Fatalf("BaseSubject(%q) = %q, not UTF-8", in, got)
		}
	})
}

func TestParsedAddresses(t *testing.T) {
	info := Parse([]byte("From: \"Ann Smith\" <Ann@Example.TEST>\r\n" +
		"Sender: =?UTF-8?Q?B=C3=A9a?= <bea@LISTS.example.test>\r\n" +
		"Reply-To: list: a@x.test, (comment) b@Y.test;, \"quoted local\"@Q.test\r\n" +
		"To: undisclosed-recipients:;\r\n" +
		"Cc: nobody, <>, c@[192.0.2.1]\r\n" +
		"Subject: Re: [list] hello\r\n\r\nbody\r\n"))
	for name, c := range map[string]struct {
		got  []string
		want string
	}{
		"From":     {info.FromAddrs, "[Ann@example.test]"},
		"Sender":   {info.SenderAddrs, "[bea@lists.example.test]"},
		"Reply-To": {info.ReplyToAddrs, `[a@x.test b@y.test "quoted local"@q.test]`},
		"To":       {info.ToAddrs, "[]"},
		"Cc":       {info.CcAddrs, "[c@[192.0.2.1]]"},
		"Bcc":      {info.BccAddrs, "[]"},
	} {
		if fmt.Sprint(c.got) != c.want {
			t.Errorf("%s: %q, want %s", name, c.got, c.want)
		}
	}
	if info.BaseSubject != "hello" {
		t.Errorf("base subject %q", info.BaseSubject)
	}
	if info.Subject != "Re: [list] hello" {
		t.Errorf("subject %q", info.Subject)
	}
}

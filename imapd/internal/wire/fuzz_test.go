package wire

import (
	"strings"
	"testing"
)

// Each fuzz target feeds arbitrary bytes to a parser, then checks that
// the reader can always skip to the next command.

func fuzzParser(data string) *Parser {
	return &Parser{R: NewReader(strings.NewReader(data), 512), MaxLiteral: 64, Continue: func() error { return nil }}
}

func FuzzSearch(f *testing.F) {
	for _, s := range []string{"ALL", "CHARSET UTF-8 OR FROM a (TO b) NOT 1:*", "HEADER X {3}\r\nabc", "SINCE 1-Jan-2020 UID 1,2:4", "((((NOT SEEN))))"} {
		f.Add(s + "\r\n")
	}
	f.Fuzz(func(t *testing.T, data string) {
		p := fuzzParser(data)
		if _, err := p.SearchCriteria(false); err == nil {
			p.CRLF()
		}
		p.R.SkipCommand()
	})
}

func FuzzFetch(f *testing.F) {
	for _, s := range []string{"ALL", "(FLAGS BODY.PEEK[1.2.HEADER.FIELDS.NOT (A B)]<1.2>)", "BODY[]", "(RFC822 RFC822.TEXT)"} {
		f.Add(s + "\r\n")
	}
	f.Fuzz(func(t *testing.T, data string) {
		p := fuzzParser(data)
		p.FetchItems()
		p.R.SkipCommand()
	})
}

func FuzzArgs(f *testing.F) {
	for _, s := range []string{"\"a\\\"b\" {2}\r\nhi", "(\\Seen x)", "\"01-Jan-2020 00:00:00 +0000\"", "1:*,5", "&APw-"} {
		f.Add(s + "\r\n")
	}
	f.Fuzz(func(t *testing.T, data string) {
		p := fuzzParser(data)
		p.AString()
		p = fuzzParser(data)
		p.FlagList()
		p = fuzzParser(data)
		p.DateTime()
		p = fuzzParser(data)
		p.NumSet(true)
		p = fuzzParser(data)
		p.Mailbox()
		p.R.SkipCommand()
	})
}

func FuzzUTF7(f *testing.F) {
	f.Add("Entw&APw-rfe")
	f.Add("&ZeVnLIqe-")
	f.Fuzz(func(t *testing.T, s string) {
		dec, err := DecodeUTF7(s)
		if err != nil {
			return
		}
		// Whatever decodes must encode back to something that decodes
		// to the same name.
		again, err := DecodeUTF7(EncodeUTF7(dec))
		if err != nil || again != dec {
			t.Fatalf("round trip of %q: %q %v", dec, again, err)
		}
	})
}

package wire

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// Each fuzz target feeds arbitrary bytes to a parser, then checks that
// the reader can always skip to the next command.

func fuzzParser(data string) *Parser {
	p := &Parser{R: NewReader(strings.NewReader(data), 512), MaxLiteral: 64, MaxLiterals: 100, Continue: func() error { return nil }}
	p.Start()
	return p
}

// checkBounds fails when a parse read more of a command than its limits
// allow: string literals past MaxLiterals.
func checkBounds(t *testing.T, p *Parser) {
	if p.literals > p.MaxLiterals {
		t.Fatalf("%d bytes of literals read, limit %d", p.literals, p.MaxLiterals)
	}
}

func FuzzSearch(f *testing.F) {
	for _, s := range []string{"ALL", "CHARSET UTF-8 OR FROM a (TO b) NOT 1:*", "HEADER X {3}\r\nabc", "SINCE 1-Jan-2020 UID 1,2:4", "((((NOT SEEN))))",
		"BODY {60+}\r\n" + strings.Repeat("x", 60) + " BODY {60+}\r\n" + strings.Repeat("y", 60)} {
		f.Add(s + "\r\n")
	}
	f.Fuzz(func(t *testing.T, data string) {
		p := fuzzParser(data)
		if c, err := p.SearchCriteria(false); err == nil {
			// NEW sets two flags: at most two entries per key.
			if n := countKeys(c); n > 2*MaxSearchKeys {
				t.Fatalf("%d search keys accepted", n)
			}
			p.CRLF()
		}
		checkBounds(t, p)
		p.R.SkipCommand()
	})
}

func FuzzFetch(f *testing.F) {
	for _, s := range []string{"ALL", "(FLAGS BODY.PEEK[1.2.HEADER.FIELDS.NOT (A B)]<1.2>)", "BODY[]", "(RFC822 RFC822.TEXT)",
		"(BINARY[1.2]<0.10> BINARY.PEEK[] BINARY.SIZE[3])", "BINARY[1.]", "BINARY.SIZE[1]<0.1>",
		"BODY[HEADER.FIELDS ({50+}\r\n" + strings.Repeat("n", 50) + " {50+}\r\n" + strings.Repeat("m", 50) + ")]"} {
		f.Add(s + "\r\n")
	}
	f.Fuzz(func(t *testing.T, data string) {
		p := fuzzParser(data)
		if req, err := p.FetchItems(); err == nil {
			names := 0
			for _, s := range req.BodySection {
				names += len(s.HeaderFields) + len(s.HeaderFieldsNot)
			}
			if len(req.BodySection)+len(req.BinarySection)+len(req.BinarySectionSize) > MaxFetchSections || names > MaxHeaderFieldNames {
				t.Fatalf("%d sections, %d header field names accepted", len(req.BodySection), names)
			}
		}
		checkBounds(t, p)
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

// countKeys counts the search keys of c as the parser does: flags, dates,
// sizes, sets and strings each one, NOT and OR one besides their operands.
func countKeys(c *imap.SearchCriteria) int {
	n := len(c.SeqNum) + len(c.UID) + len(c.Flag) + len(c.NotFlag) + len(c.Header) + len(c.Body) + len(c.Text)
	for i := range c.Not {
		n += 1 + countKeys(&c.Not[i])
	}
	for i := range c.Or {
		n += 1 + countKeys(&c.Or[i][0]) + countKeys(&c.Or[i][1])
	}
	return n
}

func FuzzSearchReturn(f *testing.F) {
	for _, s := range []string{"RETURN () ALL", "RETURN (MIN MAX COUNT ALL SAVE) 1:*", "RETURN (PARTIAL 10:1 UPDATE CONTEXT) $",
		"RETURN (ALL PARTIAL 1:2) ALL", "return (min", "RETURN (PARTIAL 0:4294967295)", "UID $ NOT $"} {
		f.Add(s + "\r\n")
	}
	f.Fuzz(func(t *testing.T, data string) {
		p := fuzzParser(data)
		if ret, err := p.SearchReturnOpts(); err == nil && ret != nil {
			if ret.All && ret.Partial != nil {
				t.Fatal("ALL and PARTIAL accepted together")
			}
			if ret.Partial != nil && (ret.Partial[0] == 0 || ret.Partial[0] > ret.Partial[1]) {
				t.Fatalf("bad PARTIAL range %v accepted", *ret.Partial)
			}
			p.SearchCriteria(true)
		}
		checkBounds(t, p)
		p.R.SkipCommand()
	})
}

func FuzzListArgs(f *testing.F) {
	for _, s := range []string{`(SUBSCRIBED RECURSIVEMATCH) "" ("a" b% {2+}` + "\r\n" + `*c) RETURN (CHILDREN STATUS (MESSAGES SIZE))`,
		`() x * RETURN ()`, `(SPECIAL-USE) "" * RETURN (SPECIAL-USE SUBSCRIBED)`, `(RECURSIVEMATCH) "" *`, `"" (` + strings.Repeat("a ", 70) + `)`} {
		f.Add(s + "\r\n")
	}
	f.Fuzz(func(t *testing.T, data string) {
		p := fuzzParser(data)
		var o ListOptions
		if p.ListSelectOpts(&o) == nil {
			if o.SelectRecursive && !o.SelectSubscribed && !o.SelectSpecialUse {
				t.Fatal("RECURSIVEMATCH accepted alone")
			}
			if _, err := p.Mailbox(); err == nil && p.SP() == nil {
				if pats, err := p.ListPatterns(&o); err == nil {
					if len(pats) > MaxListPatterns {
						t.Fatalf("%d patterns accepted", len(pats))
					}
					p.ListReturnOpts(&o)
				}
			}
		}
		checkBounds(t, p)
		p.R.SkipCommand()
		p = fuzzParser(data)
		if use, err := p.CreateParams(); err == nil && len(use) > maxListOpts {
			t.Fatalf("%d USE attributes accepted", len(use))
		}
		p.R.SkipCommand()
	})
}

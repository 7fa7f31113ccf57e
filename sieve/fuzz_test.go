package sieve

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzSeeds are scripts from the RFCs and the tests, and broken ones.
var fuzzSeeds = []string{
	rfc5228Extended,
	`require "encoded-character"; if header :contains "Subject" "$${hex:24 24}" { discard; }`,
	"require [\"variables\", \"fileinto\"]; if header :matches \"List-ID\" \"*<*@*\" { fileinto \"INBOX.lists.${2}\"; stop; }",
	"require \"vacation\";\nvacation :days 23 :addresses [\"tjs@example.edu\"] text:\nI'm away.\r\n..\r\n.\r\n;",
	"require [\"imap4flags\", \"fileinto\", \"variables\"]; addflag \"f\" \"\\\\Seen $x\"; fileinto :flags \"${f}\" \"b\";",
	"require [\"body\", \"relational\", \"comparator-i;ascii-numeric\"]; if body :content \"text\" :count \"ge\" :comparator \"i;ascii-numeric\" \"1\" { keep; }",
	"require [\"date\", \"index\", \"relational\"]; if date :value \"gt\" :index 2 :zone \"-0500\" \"received\" \"iso8601\" \"2007\" { redirect \"a@b.c\"; }",
	"require [\"include\", \"variables\"]; global \"x\"; set \"global.x\" \"1\"; include :optional \"a\"; return;",
	"require [\"duplicate\", \"spamtestplus\", \"virustest\", \"mailbox\", \"reject\"]; if anyof(duplicate :seconds 60, spamtest :percent \"5\", virustest \"1\", mailboxexists \"x\") { reject \"no\"; }",
	"require \"subaddress\"; if address :detail :matches \"to\" \"*\" { discard; }",
	"if allof (not not true, anyof(false, size :over 1K)) { keep; } elsif exists \"x\" {} else { discard; }",
	"text:\r\nunterminated",
	"if \"",
	"/* open",
	"if anyof(((((",
	"keep; \x00",
	"x \xff\xfe;",
	"require \"variables\"; set :length :lower :upperfirst :quotewildcard \"a\" \"${a}${1}${hex:41}\";",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cmds, err := Parse(src, 0)
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Pos.Line < 1 || e.Pos.Col < 1 || e.Pos.Line > strings.Count(string(src), "\n")+1 {
				t.Fatalf("error without a position in the script: %#v", err)
			}
			return
		}
		var walk func([]*Command, int)
		walk = func(cmds []*Command, depth int) {
			if depth > DefaultMaxNesting+1 {
				t.Fatalf("nesting %d", depth)
			}
			for _, c := range cmds {
				if c.Name == "" || strings.ToLower(c.Name) != c.Name || c.Pos.Line < 1 {
					t.Fatalf("command %+v", c)
				}
				walk(c.Tests, depth+1)
				walk(c.Block, depth+1)
			}
		}
		walk(cmds, 0)
		// Whatever parses can be checked without a panic.
		if _, err := Compile(src, nil); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("compile error %T", err)
			}
		}
	})
}

func FuzzRun(f *testing.F) {
	msgs := []string{messageA, messageB, "", "Subject: x\r\n", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n\xff\r\n--b--"}
	for i, s := range fuzzSeeds {
		f.Add([]byte(s), []byte(msgs[i%len(msgs)]))
	}
	host := &Host{
		Mailboxes:  memMailboxes{"x": true},
		Scripts:    memLoader{"personal/a": "require \"include\"; include \"a\";", "personal/b": "keep;"},
		Duplicates: &memDuplicates{},
		Now:        func() time.Time { return fixedNow },
		Spam:       &Score{Percent: 40},
	}
	opts := &Options{MaxSteps: 200000}
	f.Fuzz(func(t *testing.T, src, msg []byte) {
		s, err := Compile(src, opts)
		if err != nil {
			return
		}
		res := s.Run(context.Background(), ParseMessage(msg), Envelope{From: "a@b.example", To: "c+d@e.example"}, host)
		if res.Err != nil {
			if k, ok := res.Actions[0].(Keep); len(res.Actions) != 1 || !ok || !k.Implicit || k.Flags != nil || len(res.Duplicates) != 0 {
				t.Fatalf("error %v with actions %s", res.Err, fmtActions(res.Actions))
			}
			return
		}
		if res.Steps > opts.MaxSteps+2*DefaultMaxBodyBytes {
			t.Fatalf("%d steps", res.Steps)
		}
		kept := false
		for _, a := range res.Actions {
			switch a := a.(type) {
			case FileInto:
				if !utf8.ValidString(a.Mailbox) || a.Mailbox == "" {
					t.Fatalf("mailbox %q", a.Mailbox)
				}
				kept = kept || !a.Copy
			case Redirect:
				if !strings.Contains(a.Address, "@") {
					t.Fatalf("redirect to %q", a.Address)
				}
				kept = kept || !a.Copy
			case Keep, Discard, Reject:
				kept = true
			}
		}
		if !kept {
			t.Fatalf("message neither kept nor disposed of: %s", fmtActions(res.Actions))
		}
	})
}

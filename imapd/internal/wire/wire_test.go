package wire

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func parser(s string) *Parser {
	return &Parser{R: NewReader(strings.NewReader(s), 1024), MaxLiteral: 100}
}

func TestAtomQuotedLiteral(t *testing.T) {
	p := parser("abc \"q \\\" \\\\ x\" {3}\r\nxyz {2+}\r\nhi\r\n")
	var conts int
	p.Continue = func() error { conts++; return nil }
	a, err := p.Atom()
	if err != nil || a != "abc" {
		t.Fatalf("atom %q %v", a, err)
	}
	p.SP()
	q, err := p.AString()
	if err != nil || q != `q " \ x` {
		t.Fatalf("quoted %q %v", q, err)
	}
	p.SP()
	l, err := p.AString()
	if err != nil || l != "xyz" || conts != 1 {
		t.Fatalf("literal %q %v conts=%d", l, err, conts)
	}
	p.SP()
	l, err = p.AString()
	if err != nil || l != "hi" || conts != 1 {
		t.Fatalf("non-sync literal %q %v conts=%d", l, err, conts)
	}
	if err := p.CRLF(); err != nil {
		t.Fatal(err)
	}
}

func TestLiteralTooBig(t *testing.T) {
	p := parser("{500+}\r\n")
	_, err := p.String()
	var lit *LiteralTooBigError
	if !errors.As(err, &lit) || !lit.NonSync || lit.Size != 500 {
		t.Fatalf("err = %v", err)
	}
}

// A rejected non-synchronizing literal and the lines after it, chained
// through further literals, are skipped as one command: nothing of them
// is parsed as a command.
func TestSkipCommandDrainsLiterals(t *testing.T) {
	in := "a APPEND INBOX {10+}\r\nx1 DELETE {5+}\r\nx2 OK\r\nb NOOP\r\n"
	r := NewReader(strings.NewReader(in), 1024)
	p := &Parser{R: r, MaxLiteral: 4}
	p.Tag()
	if err := r.SkipCommand(); err != nil {
		t.Fatal(err)
	}
	tag, err := p.Tag()
	if err != nil || tag != "b" {
		t.Fatalf("next tag = %q %v", tag, err)
	}
}

func TestSkipAfterLiteralHeader(t *testing.T) {
	in := "a LOGIN {8+}\r\nx DELETE\r\nb NOOP\r\n"
	r := NewReader(strings.NewReader(in), 1024)
	p := &Parser{R: r, MaxLiteral: 4}
	p.Tag()
	p.SP()
	p.Atom()
	p.SP()
	_, err := p.AString()
	var lit *LiteralTooBigError
	if !errors.As(err, &lit) {
		t.Fatal(err)
	}
	r.Discard(lit.Size)
	r.SkipCommand()
	if tag, _ := p.Tag(); tag != "b" {
		t.Fatalf("next tag %q", tag)
	}
}

func TestLineTooLong(t *testing.T) {
	in := "a " + strings.Repeat("x", 5000) + "\r\nb NOOP\r\n"
	r := NewReader(strings.NewReader(in), 1024)
	p := &Parser{R: r}
	p.Tag()
	p.SP()
	if _, err := p.Atom(); err != ErrLineTooLong {
		t.Fatalf("err = %v", err)
	}
	if err := r.SkipCommand(); err != nil {
		t.Fatal(err)
	}
	if tag, _ := p.Tag(); tag != "b" {
		t.Fatalf("next tag %q", tag)
	}
}

func TestCannotResync(t *testing.T) {
	r := NewReader(io.LimitReader(zeroReader{}, 3<<20), 1024)
	if err := r.SkipCommand(); err != ErrCannotResync {
		t.Fatalf("err = %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestNumSet(t *testing.T) {
	for in, want := range map[string]string{
		"1":          "1",
		"1:3,5":      "1:3,5",
		"*":          "*",
		"3:*":        "3:*",
		"*:3":        "3:*",
		"5:2":        "2:5",
		"9,7,5,3,1":  "1,3,5,7,9",
		"4294967295": "4294967295",
	} {
		s, err := ParseNumSet(in, false)
		if err != nil || s.String() != want {
			t.Errorf("%q: %v %v, want %q", in, s, err, want)
		}
	}
	for _, bad := range []string{"0", "", "1:", ":1", "a", "1,,2", "4294967296", "99999999999999999999"} {
		if _, err := ParseNumSet(bad, true); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestDateTime(t *testing.T) {
	tm, ok := ParseDateTime(" 5-Mar-2024 10:11:12 +0130")
	if !ok || tm.Day() != 5 || tm.Hour() != 10 {
		t.Fatalf("%v %v", tm, ok)
	}
	if _, off := tm.Zone(); off != 5400 {
		t.Fatalf("zone offset %d", off)
	}
	for _, bad := range []string{"", "31-Feb-2024 10:11:12 +0000", "05-Foo-2024 10:11:12 +0000", "05-Mar-2024 25:11:12 +0000", "05-Mar-2024 10:11:12 0000"} {
		if _, ok := ParseDateTime(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	if d, ok := ParseDate("1-jan-2020"); !ok || !d.Equal(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatal(d, ok)
	}
}

func TestFetchItems(t *testing.T) {
	p := parser("(FLAGS UID BODY.PEEK[HEADER.FIELDS (From \"Subject\")]<0.100> BODY[1.2.MIME] RFC822.SIZE BODY BODYSTRUCTURE BODY[])")
	req, err := p.FetchItems()
	if err != nil {
		t.Fatal(err)
	}
	if !req.Flags || !req.UID || !req.RFC822Size || !req.Body || req.BodyStructure == nil || len(req.BodySection) != 3 {
		t.Fatalf("%+v", req)
	}
	s := req.BodySection[0]
	if !s.Peek || s.Specifier != imap.PartSpecifierHeader || len(s.HeaderFields) != 2 || s.Partial == nil || s.Partial.Size != 100 {
		t.Fatalf("%+v", s)
	}
	s = req.BodySection[1]
	if s.Peek || s.Specifier != imap.PartSpecifierMIME || len(s.Part) != 2 {
		t.Fatalf("%+v", s)
	}
	req, err = parser("FULL\r\n").FetchItems()
	if err != nil || !req.Envelope || !req.Body || !req.Flags {
		t.Fatal(req, err)
	}
	for _, bad := range []string{"(ALL)", "BODY[MIME]", "BODY[1.TEXT.2]", "BODY.PEEK", "FOO", "BODY[HEADER.FIELDS ()]", "()", "BODY[]<1.0>", "(FLAGS"} {
		if _, err := parser(bad + "\r\n").FetchItems(); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSearch(t *testing.T) {
	p := parser("CHARSET UTF-8 OR (FROM alice SUBJECT \"hi there\") NOT SEEN 1:5 UID 3:* ON 1-Feb-2024 LARGER 10 KEYWORD $Junk\r\n")
	c, err := p.SearchCriteria(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Or) != 1 || len(c.Or[0][0].Header) != 2 || len(c.Or[0][1].Not) != 1 || len(c.SeqNum) != 1 || len(c.UID) != 1 || c.Larger != 10 || len(c.Flag) != 1 {
		t.Fatalf("%+v", c)
	}
	if c.Since.IsZero() || c.Before.Sub(c.Since) != 24*time.Hour {
		t.Fatalf("ON: %v %v", c.Since, c.Before)
	}
	// A short final line must not block waiting for "CHARSET".
	if c, err := parser("ALL\r\n").SearchCriteria(false); err != nil || c == nil {
		t.Fatal(err)
	}
	_, err = parser("CHARSET KOI8-R ALL\r\n").SearchCriteria(false)
	var bc *BadCharsetError
	if !errors.As(err, &bc) {
		t.Fatalf("err = %v", err)
	}
	for _, bad := range []string{"", "FOO", "OR ALL", "NOT", "BEFORE 1-Foo-2020", "(ALL", strings.Repeat("NOT ", 40) + "ALL", "LARGER x", "HEADER x"} {
		if _, err := parser(bad + "\r\n").SearchCriteria(false); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestFlags(t *testing.T) {
	f, err := parser("(\\seen $Junk \\Deleted)").FlagList()
	if err != nil || len(f) != 3 || f[0] != imap.FlagSeen || f[1] != "$Junk" {
		t.Fatal(f, err)
	}
	f, err = parser("\\Seen \\Flagged\r\n").Flags()
	if err != nil || len(f) != 2 {
		t.Fatal(f, err)
	}
	if _, err := parser("(\\*)").FlagList(); err == nil {
		t.Fatal(`\* accepted as a message flag`)
	}
}

func TestEncoder(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	e.Raw("* ").String("a\"b").SP().String("x\r\ny").SP().NString("").SP().Mailbox("Entwürfe").SP().AString("NIL").CRLF()
	if err := e.LiteralFrom(strings.NewReader("ab"), 4); err == nil {
		t.Fatal("short literal source not reported")
	}
	e.CRLF()
	e.Flush()
	want := "* \"a\\\"b\" {4}\r\nx\r\ny NIL Entw&APw-rfe \"NIL\"\r\n{4}\r\nab  \r\n"
	if buf.String() != want {
		t.Fatalf("got %q\nwant %q", buf.String(), want)
	}
}

// The text of a command is counted over all its lines: a literal starts a
// new line but not a new count.
func TestTextCountSpansLiterals(t *testing.T) {
	in := strings.Repeat("aaaaaaaaaa {1+}\r\nx ", 5) + "\r\n"
	p := &Parser{R: NewReader(strings.NewReader(in), 40), MaxLiteral: 10}
	p.Start()
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		if _, err = p.AString(); err == nil {
			err = p.SP()
		}
	}
	if err != ErrLineTooLong {
		t.Fatalf("err = %v, want ErrLineTooLong", err)
	}
	// A new command counts afresh.
	p = &Parser{R: NewReader(strings.NewReader(strings.Repeat("a", 30)+"\r\n"+strings.Repeat("b", 30)+"\r\n"), 40)}
	for _, want := range []string{strings.Repeat("a", 30), strings.Repeat("b", 30)} {
		p.Start()
		if a, err := p.Atom(); err != nil || a != want {
			t.Fatalf("atom %q %v", a, err)
		}
		if err := p.CRLF(); err != nil {
			t.Fatal(err)
		}
	}
}

// String literals share the command's MaxLiterals; the one that would
// go past it is refused before any of its bytes is read.
func TestLiteralBudget(t *testing.T) {
	in := "{10+}\r\n0123456789 {10+}\r\n0123456789 {10+}\r\n0123456789\r\n{2+}\r\nxy\r\n"
	p := &Parser{R: NewReader(strings.NewReader(in), 1024), MaxLiteral: 10, MaxLiterals: 25}
	p.Start()
	for i := 0; i < 2; i++ {
		if s, err := p.String(); err != nil || s != "0123456789" {
			t.Fatalf("literal %d: %q %v", i, s, err)
		}
		p.SP()
	}
	_, err := p.String()
	var lit *LiteralTooBigError
	if !errors.As(err, &lit) || !lit.Command || lit.Limit != 25 || lit.Size != 10 || !lit.NonSync {
		t.Fatalf("err = %#v", err)
	}
	if err := p.R.Discard(lit.Size); err != nil {
		t.Fatal(err)
	}
	if err := p.R.SkipCommand(); err != nil {
		t.Fatal(err)
	}
	// The next command has its own budget.
	p.Start()
	if s, err := p.String(); err != nil || s != "xy" {
		t.Fatalf("next command: %q %v", s, err)
	}
}

func TestCommandCountLimits(t *testing.T) {
	keys := func(n int) string { return strings.TrimSpace(strings.Repeat("SEEN ", n)) }
	for _, c := range []struct {
		search string
		limit  bool
	}{
		{keys(MaxSearchKeys), false},
		{keys(MaxSearchKeys + 1), true},
		{"(" + keys(MaxSearchKeys) + ")", false},
		{strings.Repeat("NOT ", MaxSearchKeys) + "SEEN", true},
		{strings.Repeat("(", maxSearchDepth) + "SEEN" + strings.Repeat(")", maxSearchDepth), false},
		{strings.Repeat("(", maxSearchDepth+1) + "SEEN" + strings.Repeat(")", maxSearchDepth+1), true},
	} {
		p := &Parser{R: NewReader(strings.NewReader(c.search+"\r\n"), 1<<20)}
		_, err := p.SearchCriteria(false)
		var le *LimitError
		if errors.As(err, &le) != c.limit || (!c.limit && err != nil) {
			t.Errorf("SEARCH %.40s...: %v", c.search, err)
		}
	}
	sections := func(n int) string { return strings.TrimSpace(strings.Repeat("BODY[1] ", n)) }
	names := func(n int) string { return strings.TrimSpace(strings.Repeat("X-A ", n)) }
	for _, c := range []struct {
		fetch string
		limit bool
	}{
		{"(" + sections(MaxFetchSections) + ")", false},
		{"(" + sections(MaxFetchSections+1) + ")", true},
		{"(BODY[HEADER.FIELDS (" + names(MaxHeaderFieldNames) + ")])", false},
		{"(BODY[HEADER.FIELDS (" + names(MaxHeaderFieldNames/2) + ")] BODY[HEADER.FIELDS.NOT (" + names(MaxHeaderFieldNames/2+1) + ")])", true},
		{"(" + strings.TrimSpace(strings.Repeat("FLAGS ", maxFetchItems+1)) + ")", true},
	} {
		p := &Parser{R: NewReader(strings.NewReader(c.fetch+"\r\n"), 1<<20)}
		_, err := p.FetchItems()
		var le *LimitError
		if errors.As(err, &le) != c.limit || (!c.limit && err != nil) {
			t.Errorf("FETCH %.40s...: %v", c.fetch, err)
		}
	}
}

func TestSearchReturnOpts(t *testing.T) {
	for in, want := range map[string]string{
		"RETURN () ALL":              "{All}",
		"RETURN (min MAX) ALL":       "{Min Max}",
		"RETURN (SAVE) ALL":          "{Save}",
		"RETURN (PARTIAL 500:400) x": "{Partial 400:500}",
		"ALL":                        "nil",
	} {
		p := fuzzParser(in + "\r\n")
		ret, err := p.SearchReturnOpts()
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := describeReturn(ret); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
	for _, in := range []string{"RETURN (FOO) ALL", "RETURN (MIN MIN) ALL", "RETURN (ALL PARTIAL 1:2) ALL", "RETURN (PARTIAL 0:1) ALL",
		"RETURN (PARTIAL 1:*) ALL", "RETURN (PARTIAL -1:-5) ALL", "RETURN MIN", "RETURN (MIN", "RETURN ()x", "RETURN (" + strings.Repeat("MIN ", 100) + ")"} {
		p := fuzzParser(in + "\r\n")
		if ret, err := p.SearchReturnOpts(); err == nil {
			t.Errorf("%q accepted: %+v", in, ret)
		}
	}
}

func describeReturn(r *SearchReturn) string {
	if r == nil {
		return "nil"
	}
	var parts []string
	for _, x := range []struct {
		on   bool
		name string
	}{{r.Min, "Min"}, {r.Max, "Max"}, {r.All, "All"}, {r.Count, "Count"}, {r.Save, "Save"}, {r.Update, "Update"}, {r.Context, "Context"}} {
		if x.on {
			parts = append(parts, x.name)
		}
	}
	if r.Partial != nil {
		parts = append(parts, "Partial "+itoa(r.Partial[0])+":"+itoa(r.Partial[1]))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

package sieve

import (
	"strings"
	"testing"
)

func TestParseStrings(t *testing.T) {
	cases := []struct {
		src  string
		want []string // the string values of the first command's arguments
	}{
		{`x "a\"b\\c\d";`, []string{`a"b\cd`}},
		{"x \"two\r\nlines\";", []string{"two\r\nlines"}},
		{"x \"bare\nLF\";", []string{"bare\r\nLF"}},
		{"x text:\r\nline 1\r\n..dot\r\n.foo\r\n.\r\n;", []string{"line 1\r\n.dot\r\n.foo\r\n"}},
		{"x text: # comment\r\nbody\r\n.\r\n;", []string{"body\r\n"}},
		{"x TEXT:  \t\r\n\r\n.\r\n;", []string{"\r\n"}},
		{"x text:\n.\n;", []string{""}},
		{"x [\"a\", \"b\" , text:\r\nc\r\n.\r\n];", []string{"a", "b", "c\r\n"}},
		{"x \"caf\xe9 \xff\";", []string{"caf\xe9 \xff"}}, // octets that are not UTF-8 are allowed in strings (RFC 5228 §2.4.2)
		{"# caf\xe9\r\nx \"\";", []string{""}},
		{"/* \xff */ x \"\";", []string{""}},
	}
	for _, tc := range cases {
		cmds, err := Parse([]byte(tc.src), 0)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		var got []string
		for _, a := range cmds[0].Args {
			for _, s := range a.Strings {
				got = append(got, s.Value)
			}
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%q: got %q, want %q", tc.src, got, tc.want)
		}
	}
}

func TestParseNumbers(t *testing.T) {
	for src, want := range map[string]uint64{
		"x 0;": 0, "x 100k;": 102400, "x 100K;": 102400, "x 2M;": 2 << 20, "x 1G;": 1 << 30,
		"x 2147483647;": 2147483647, "x 9223372036854775807;": 1<<63 - 1,
	} {
		cmds, err := Parse([]byte(src), 0)
		if err != nil || cmds[0].Args[0].Num != want {
			t.Errorf("%s: %v %v, want %d", src, cmds, err, want)
		}
	}
}

func TestParseStructure(t *testing.T) {
	src := `if allof (header :is "a" "b", not exists "c") { keep; } else { discard; }`
	cmds, err := Parse([]byte(src), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 2 || cmds[0].Name != "if" || cmds[1].Name != "else" {
		t.Fatalf("commands %+v", cmds)
	}
	allof := cmds[0].Tests[0]
	if allof.Name != "allof" || !allof.TestList || len(allof.Tests) != 2 || allof.Tests[1].Name != "not" {
		t.Fatalf("allof %+v", allof)
	}
	if h := allof.Tests[0]; h.Args[0].Kind != ArgTag || h.Args[0].Tag != "is" || h.Pos != (Pos{1, 11}) {
		t.Fatalf("header %+v", h)
	}
	if !cmds[1].HasBlock || cmds[1].Block[0].Name != "discard" {
		t.Fatalf("else %+v", cmds[1])
	}
	if cmds, err := Parse(nil, 0); err != nil || cmds != nil {
		t.Fatalf("empty script: %v %v", cmds, err)
	}
}

// Every syntax error names its line and column.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		src  string
		pos  Pos
		text string
	}{
		{"keep", Pos{1, 1}, `expected ";" or a block`},
		{"keep;\n  fileinto \"x\"", Pos{2, 3}, `expected ";"`},
		{"keep;\n  fileinto \"x\" ];", Pos{2, 16}, `expected ";"`},
		{"if true {\n keep;\n", Pos{1, 1}, "not closed"},
		{"keep; }", Pos{1, 7}, `"}" without a matching "{"`},
		{"x \"abc", Pos{1, 3}, "unterminated quoted string"},
		{"x\n text:\r\nabc\r\n", Pos{2, 2}, "unterminated multi-line string"},
		{"x text: junk\r\n.\r\n;", Pos{1, 9}, "line ending"},
		{"/* open\n", Pos{1, 1}, "unterminated comment"},
		{"keep;\r", Pos{1, 6}, "CR must be followed by LF"},
		{"keep;\x00", Pos{1, 6}, "NUL"},
		{"x \"a\x00\";", Pos{1, 5}, "NUL"},
		{"kéép;", Pos{1, 2}, "unexpected character"},
		{"x \xff;", Pos{1, 3}, "unexpected byte 0xff"},
		{"x [\"a\" \"b\"];", Pos{1, 8}, `expected "," or "]"`},
		{"x [];", Pos{1, 4}, "expected a string"},
		{"x : ;", Pos{1, 3}, "tag needs a name"},
		{"x 99999999999999999999;", Pos{1, 3}, "too large"},
		{"x 100kb;", Pos{1, 3}, "followed by white space"},
		{"if anyof (true; false) {}", Pos{1, 15}, `expected "," or ")"`},
		{"if anyof (true, ) {}", Pos{1, 17}, "expected a test"},
		{"\"s\";", Pos{1, 1}, "expected a command"},
		{"é", Pos{1, 1}, "unexpected character"},
	}
	for _, tc := range cases {
		_, err := Parse([]byte(tc.src), 0)
		e, ok := err.(*Error)
		if !ok {
			t.Errorf("%q: error %v", tc.src, err)
			continue
		}
		if e.Pos != tc.pos || !strings.Contains(e.Msg, tc.text) {
			t.Errorf("%q: %v; want %v and %q", tc.src, e, tc.pos, tc.text)
		}
		if !strings.HasPrefix(e.Error(), "line ") {
			t.Errorf("%q: %q does not start with the position", tc.src, e.Error())
		}
	}
}

func TestParseNestingLimit(t *testing.T) {
	deep := func(n int) string {
		return strings.Repeat("if true {", n) + strings.Repeat("}", n)
	}
	if _, err := Parse([]byte(deep(32)), 32); err != nil {
		t.Fatalf("32 nested blocks: %v", err)
	}
	if _, err := Parse([]byte(deep(33)), 32); err == nil || !strings.Contains(err.Error(), "nested more than 32") {
		t.Fatalf("33 nested blocks: %v", err)
	}
	nots := "if " + strings.Repeat("not ", 40) + "true {}"
	if _, err := Parse([]byte(nots), 32); err == nil {
		t.Fatal("40 nested not tests parsed")
	}
	lists := "if " + strings.Repeat("anyof(", 40) + "true" + strings.Repeat(")", 40) + " {}"
	if _, err := Parse([]byte(lists), 32); err == nil {
		t.Fatal("40 nested test lists parsed")
	}
	// A million open brackets is an error, not a stack overflow.
	if _, err := Parse([]byte(strings.Repeat("if anyof(", 1e6)), 0); err == nil {
		t.Fatal("a million nested test lists parsed")
	}
}

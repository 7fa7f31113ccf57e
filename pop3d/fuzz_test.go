package pop3d

import (
	"strings"
	"testing"
)

func FuzzParseCommand(f *testing.F) {
	for _, seed := range []string{
		"USER user@example.test\r\n", "PASS a b  c\r\n", "RETR 1\r\n", "TOP 1 0\r\n", "list\n",
		"AUTH PLAIN AHVzZXIAcGFzcw==\r\n", "", "\r\n", "X\r\n", "QUIT", "STAT \x00\r\n",
		"UIDL   7  \r\n", "TOOLONG 1\r\n", "\xff\xfe\r\n", "RETR 1 2 3 4 5 6\r\n", "NOOP\r\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		cmd, err := ParseCommand(line)
		if err != nil {
			if cmd.Name != "" || cmd.Args != nil {
				t.Fatalf("error %v with a command %+v", err, cmd)
			}
			return
		}
		if n := len(cmd.Name); n < 3 || n > 4 || strings.ToUpper(cmd.Name) != cmd.Name {
			t.Fatalf("keyword %q", cmd.Name)
		}
		if len(cmd.Args) > maxArgs {
			t.Fatalf("%d arguments", len(cmd.Args))
		}
		for _, a := range cmd.Args {
			if a == "" || strings.ContainsAny(a, " \r\n\x00") {
				t.Fatalf("argument %q", a)
			}
			if !strings.Contains(cmd.Rest, a) {
				t.Fatalf("argument %q not in rest %q", a, cmd.Rest)
			}
		}
		if strings.ContainsAny(cmd.Rest, "\r\n\x00") {
			t.Fatalf("rest %q has control characters", cmd.Rest)
		}
		if len(cmd.Rest) >= len(line) {
			t.Fatalf("rest %q longer than line %q", cmd.Rest, line)
		}
	})
}

func TestParseCommand(t *testing.T) {
	cases := []struct {
		in   string
		name string
		args []string
		rest string
		bad  bool
	}{
		{in: "retr 5\r\n", name: "RETR", args: []string{"5"}, rest: "5"},
		{in: "TOP 1 10\n", name: "TOP", args: []string{"1", "10"}, rest: "1 10"},
		{in: "PASS two  words \r\n", name: "PASS", args: []string{"two", "words"}, rest: "two  words "},
		{in: "CAPA", name: "CAPA"},
		{in: "\r\n", bad: true},
		{in: "RE\r\n", bad: true},
		{in: "RETRX 1\r\n", bad: true},
		{in: "R3TR 1\r\n", bad: true},
		{in: "RETR\x001\r\n", bad: true},
		{in: "RETR 1\x1b\r\n", bad: true},
		{in: "LIST 1 2 3 4 5\r\n", bad: true},
	}
	for _, tc := range cases {
		cmd, err := ParseCommand([]byte(tc.in))
		if tc.bad {
			if err == nil {
				t.Errorf("%q: parsed as %+v, want error", tc.in, cmd)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if cmd.Name != tc.name || strings.Join(cmd.Args, ",") != strings.Join(tc.args, ",") || cmd.Rest != tc.rest {
			t.Errorf("%q = %+v", tc.in, cmd)
		}
	}
	for _, n := range []string{"0", "1", "123456789"} {
		if _, ok := parseNumber(n); !ok {
			t.Errorf("parseNumber(%q) failed", n)
		}
	}
	for _, n := range []string{"", "-1", "+1", "1x", "1234567890", "0x10"} {
		if _, ok := parseNumber(n); ok {
			t.Errorf("parseNumber(%q) accepted", n)
		}
	}
}

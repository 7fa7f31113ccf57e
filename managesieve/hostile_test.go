package managesieve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLongLines(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	// Longer than a line may be, but less than what is skipped: the
	// command is refused and the session goes on.
	c.expect("NOOP \""+strings.Repeat("x", 200<<10)+"\"", "NO", "longer than")
	c.expect("NOOP "+strings.Repeat(" ", 10<<10), "NO")
	c.expect(`NOOP "`+strings.Repeat("q", 2000)+`"`, "NO", "longer than 1024")
	c.expect("NOOP", "OK")
	// A line without end is not a client: the connection closes. The
	// BYE may be lost to the reset of a socket closed with unread data,
	// so the test asks only that the connection ends.
	go io.WriteString(c.conn, strings.Repeat("y", maxDiscard+(1<<20)))
	resp, err := io.ReadAll(c.r)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connection not closed: %v", err)
	}
	if err == nil && !bytes.Contains(resp, []byte("BYE")) {
		t.Fatalf("closed without BYE: %q", resp)
	}
}

func TestHugeLiterals(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxScriptSize = 1000 })
	c := e.dial()
	c.login("alice@example.test", "secret one")
	// Over the script size, but small enough to skip: NO with QUOTA/MAXSIZE.
	c.expect(`PUTSCRIPT "big" `+literal(strings.Repeat("#", 5000)), "NO (QUOTA/MAXSIZE)")
	c.expect(`PUTSCRIPT "ok" `+literal("keep;"), "OK")
	c.expect(`CHECKSCRIPT {5000}`+"\r\n"+strings.Repeat("x", 5000), "NO (QUOTA/MAXSIZE)")
	// A literal of gigabytes closes the connection at once.
	c.send(`PUTSCRIPT "huge" {4000000000+}` + "\r\n")
	if resp := c.response(); !strings.HasPrefix(resp, "BYE") {
		t.Fatalf("huge literal: %s", resp)
	}
	if _, err := c.r.ReadByte(); err != io.EOF {
		t.Fatalf("connection open: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxErrors = 5 })
	c := e.dial()
	for _, bad := range []string{"NOOP \x00", "(((", `NOOP "a\q"`, "NOOP {abc}", "NOOP 007"} {
		c.expect(bad, "NO")
	}
	// After MaxErrors the session says BYE and closes.
	if line, _ := c.r.ReadString('\n'); !strings.HasPrefix(line, "BYE") {
		t.Fatalf("after 5 bad commands: %q", line)
	}
	if _, err := c.r.ReadByte(); err != io.EOF {
		t.Fatalf("still open: %v", err)
	}
	c = e.dial()
	c.expect("NOOP 99999999999", "NO", "invalid number")
	c.expect(strings.Repeat("A", 9000), "NO", "longer than")
}

func TestPipelining(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.send(`AUTHENTICATE "PLAIN" "` + plain("alice@example.test", "secret one") + "\"\r\n" +
		"PUTSCRIPT \"a\" " + literal("keep;") + "\r\nSETACTIVE \"a\"\r\nLISTSCRIPTS\r\nLOGOUT\r\n")
	var all []string
	for i := 0; i < 5; i++ {
		all = append(all, c.response())
	}
	got := strings.Join(all, "\n")
	if strings.Count(got, "\nOK") != 4 || !strings.Contains(got, `"a" ACTIVE`) {
		t.Fatalf("pipelined:\n%s", got)
	}
}

func TestLoginTimeoutAndShutdown(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LoginTimeout = time.Second })
	c := e.dial()
	line, err := c.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "BYE") {
		t.Fatalf("idle client: %q %v", line, err)
	}
	// Shutdown says BYE to a session waiting for a command.
	e2 := newEnv(t)
	c2 := e2.dial()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go e2.srv.Shutdown(ctx)
	line, err = c2.r.ReadString('\n')
	if err != nil || !strings.Contains(line, "shutting down") {
		t.Fatalf("shutdown: %q %v", line, err)
	}
}

func TestReadCommand(t *testing.T) {
	cases := []struct {
		in   string
		name string
		args []Arg
		err  string
	}{
		{"capability\r\n", "CAPABILITY", nil, ""},
		{"NOOP\n", "NOOP", nil, ""},
		{`PUTSCRIPT "a \"b\" \\" {3+}` + "\r\nx\ny\r\n", "PUTSCRIPT", []Arg{{Str: `a "b" \`}, {Str: "x\ny"}}, ""},
		{"HAVESPACE \"n\" 4294967295\r\n", "HAVESPACE", []Arg{{Str: "n"}, {IsNumber: true, Num: 4294967295}}, ""},
		{"CHECKSCRIPT {0}\r\n\r\n", "CHECKSCRIPT", []Arg{{Str: ""}}, ""},
		{"HAVESPACE \"n\" 4294967296\r\n", "", nil, "invalid number"},
		{"NOOP  \"x\"\r\n", "", nil, "expected a string"},
		{"NOOP \"x\r\n", "", nil, "unterminated"},
		{"NOOP \"x\"\"y\"\r\n", "", nil, "expected a space"},
		{"NOOP {2+}\r\nab\"c\"\r\n", "", nil, "expected a space"},
		{"\r\n", "", nil, "expected a command name"},
		{"A \"1\" \"2\" \"3\" \"4\" \"5\" \"6\" \"7\" \"8\" \"9\"\r\n", "", nil, "too many"},
		{"NOOP {1+}x\r\n", "", nil, "end of the line"},
	}
	for _, tc := range cases {
		rd := &reader{r: bufio.NewReader(strings.NewReader(tc.in + "NEXT\r\n")), maxLiteral: 100}
		cmd, err := rd.ReadCommand()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want %q", tc.in, err, tc.err)
			}
		} else if err != nil || cmd.Name != tc.name || !sameArgs(cmd.Args, tc.args) {
			t.Errorf("%q: %+v %v", tc.in, cmd, err)
		}
		// The next command is read cleanly after an error too.
		if next, err := rd.ReadCommand(); err != nil || next.Name != "NEXT" {
			t.Errorf("%q: next command %+v %v", tc.in, next, err)
		}
	}
}

func sameArgs(a, b []Arg) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzReadCommand(f *testing.F) {
	for _, s := range []string{
		"CAPABILITY\r\n", `AUTHENTICATE "PLAIN" "AGEAYg=="` + "\r\n", "PUTSCRIPT \"a\" {5+}\r\nkeep;\r\n",
		"HAVESPACE \"x\" 12\r\n", "NOOP \"a\\\"b\"\r\n", "NOOP {99999999999}\r\n", "\x00\xff\r\n", "RENAMESCRIPT \"a\" \"b\"\n",
		"CHECKSCRIPT {10}\r\nabc", "LOGOUT", `NOOP "` + strings.Repeat("a", 1100) + `"` + "\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rd := &reader{r: bufio.NewReaderSize(bytes.NewReader(in), 64), maxLiteral: 256}
		for i := 0; i < 100; i++ {
			cmd, err := rd.ReadCommand()
			var se *errSyntax
			if errors.As(err, &se) {
				continue
			}
			if err != nil {
				return
			}
			if cmd.Name == "" || strings.ToUpper(cmd.Name) != cmd.Name || len(cmd.Args) > maxArgs {
				t.Fatalf("command %+v", cmd)
			}
			for _, a := range cmd.Args {
				if len(a.Str) > 256 && len(a.Str) > maxQuoted {
					t.Fatalf("argument of %d octets", len(a.Str))
				}
			}
		}
	})
}

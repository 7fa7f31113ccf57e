package outbound

import (
	"bytes"
	"strings"
	"testing"
)

func TestHeaderOf(t *testing.T) {
	for _, c := range []struct {
		name, msg string
		limit     int
		want      string
	}{
		{"plain", "A: 1\r\nB: 2\r\n\r\nbody\r\n", 0, "A: 1\r\nB: 2\r\n\r\n"},
		{"folded", "A: 1\r\n 1b\r\n\tc\r\nB: 2\r\n\r\nbody", 0, "A: 1\r\n 1b\r\n\tc\r\nB: 2\r\n\r\n"},
		{"obsolete space before the colon", "Subject : x\r\n\r\nb", 0, "Subject : x\r\n\r\n"},
		{"no body", "A: 1\r\nB: 2\r\n", 0, "A: 1\r\nB: 2\r\n"},
		{"no final line end", "A: 1\r\nB: 2", 0, "A: 1\r\nB: 2"},
		{"empty", "", 0, ""},
		{"only the empty line", "\r\nbody\r\n", 0, "\r\n"},
		// A message without the empty line cannot pass its body off as header.
		{"body without empty line", "A: 1\r\nBUY NOW cheap\r\nmore: text\r\n", 0, "A: 1\r\n"},
		{"starts with text", "hello world\r\nA: 1\r\n\r\n", 0, ""},
		{"starts folded", " A: 1\r\n\r\n", 0, ""},
		{"colon first", ":x\r\n\r\n", 0, ""},
		{"control in name", "A\x01: 1\r\n\r\n", 0, ""},
		{"8-bit in name", "Ä: 1\r\n\r\n", 0, ""},
		// A limit cuts after the last whole field that fits, folded lines and all.
		{"limit whole", "A: 1\r\nB: 2\r\n\r\nbody", 100, "A: 1\r\nB: 2\r\n\r\n"},
		{"limit cuts a field", "A: 1\r\nB: 2222222222\r\n\r\nbody", 12, "A: 1\r\n"},
		{"limit inside a fold", "A: 1\r\n 1111\r\n 1111\r\nB: 2\r\n\r\n", 10, ""},
		{"limit at a boundary", "A: 1\r\nB: 2\r\n\r\n", 12, "A: 1\r\nB: 2\r\n"},
		{"limit before the empty line", "A: 1\r\n\r\n", 6, "A: 1\r\n"},
		{"limit without empty line", "A: 1\r\nB: 2\r\nC: 3", 12, "A: 1\r\nB: 2\r\n"},
	} {
		if got := string(headerOf([]byte(c.msg), c.limit)); got != c.want {
			t.Errorf("%s: headerOf(%q, %d) = %q, want %q", c.name, c.msg, c.limit, got, c.want)
		}
	}
}

// FuzzHeaderOf checks what a notice relies on: the header returned is a
// prefix of the message, within the limit, made of header fields and their
// continuations only, with at most one empty line, at its end.
func FuzzHeaderOf(f *testing.F) {
	for _, s := range []string{
		"A: 1\r\nB: 2\r\n\r\nbody\r\n",
		"Received: from x\r\n\tby y;\r\n\tdate\r\nFrom: a@b\r\n\r\n",
		"A: 1\r\nbody without separator\r\n",
		" folded first\r\n\r\n",
		"A: 1\n\nbare line feeds\n",
		"\r\n\r\n",
		"X: " + strings.Repeat("y", 300) + "\r\n z\r\n\r\n",
	} {
		f.Add([]byte(s), 0)
		f.Add([]byte(s), 7)
	}
	f.Fuzz(func(t *testing.T, msg []byte, limit int) {
		if limit < 0 {
			limit = -limit
		}
		h := headerOf(msg, limit)
		if !bytes.HasPrefix(msg, h) {
			t.Fatalf("not a prefix: %q of %q", h, msg)
		}
		if limit > 0 && len(h) > limit {
			t.Fatalf("%d octets, limit %d", len(h), limit)
		}
		lines := bytes.SplitAfter(h, []byte("\n"))
		for i, l := range lines {
			body := bytes.TrimRight(l, "\r\n")
			switch {
			case len(l) == 0:
				// After the last line end.
			case len(body) == 0:
				if i != len(lines)-1 && !(i == len(lines)-2 && len(lines[i+1]) == 0) {
					t.Fatalf("empty line inside the header: %q", h)
				}
			case body[0] == ' ' || body[0] == '\t':
				if i == 0 {
					t.Fatalf("starts with a continuation: %q", h)
				}
			case !fieldStart(body):
				t.Fatalf("line %q is not a header field", l)
			}
		}
	})
}

package imapd

import (
	"strings"
	"testing"
)

// An empty literal is no message (RFC 5322 §3.5 needs at least a header);
// APPEND must refuse it with a plain NO, not fail inside the store, and
// the connection must stay in step, also inside a MULTIAPPEND.
func TestAppendZeroLength(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw(t, true)
	r.send("a APPEND INBOX {0+}\r\n\r\n")
	l := r.expect("a ")
	if last := l[len(l)-1]; !strings.HasPrefix(last, "a NO ") || strings.Contains(last, "SERVERBUG") {
		t.Fatalf("APPEND of an empty literal: %q", last)
	}
	r.send("b APPEND INBOX {0}\r\n")
	r.expect("+ ")
	r.send("\r\n")
	if last := r.line(); !strings.HasPrefix(last, "b NO ") || strings.Contains(last, "SERVERBUG") {
		t.Fatalf("APPEND of an empty synchronizing literal: %q", last)
	}
	r.send("c APPEND INBOX {3+}\r\nabc {0+}\r\n {1+}\r\nx\r\n")
	if last := r.line(); !strings.HasPrefix(last, "c NO ") || strings.Contains(last, "SERVERBUG") {
		t.Fatalf("MULTIAPPEND with an empty message: %q", last)
	}
	r.send("d STATUS INBOX (MESSAGES)\r\n")
	l = r.expect("d OK")
	if !strings.Contains(strings.Join(l, "\n"), "MESSAGES 0") {
		t.Fatalf("a refused MULTIAPPEND stored something: %q", l)
	}
}

package imapd

import (
	"strings"
	"testing"
)

// RFC 3501 §7.2.6: FLAGS lists the keywords in use, and a keyword new to the
// session is announced with a new FLAGS before the FETCH that shows it.
func TestKeywordsInFlagsResponse(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("one", "b@example.test", "x"))
	e.deliver(t, "INBOX", testMessage("two", "b@example.test", "x"))
	a := e.raw(t, true)
	a.send("s SELECT INBOX\r\n")
	a.expect("s OK")
	a.send("k STORE 1 +FLAGS ($Work)\r\n")
	lines := a.expect("k OK")
	if len(lines) < 3 || lines[0] != `* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work)` || !strings.HasPrefix(lines[1], "* 1 FETCH (FLAGS ($Work") {
		t.Fatalf("STORE of a new keyword: %q", lines)
	}
	a.send("k2 STORE 2 +FLAGS ($work)\r\n") // same keyword, other case: nothing new
	if lines := a.expect("k2 OK"); strings.HasPrefix(lines[0], "* FLAGS") {
		t.Errorf("keyword announced twice: %q", lines)
	}

	// A second session sees the keyword in SELECT, in FLAGS and PERMANENTFLAGS.
	b := e.raw(t, true)
	b.send("s SELECT INBOX\r\n")
	sel := strings.Join(b.expect("s OK"), "\n")
	if !strings.Contains(sel, `* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work)`) ||
		!strings.Contains(sel, `[PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work \*)]`) {
		t.Errorf("SELECT:\n%s", sel)
	}
	// A keyword set by another session is announced before its FETCH.
	a.send("k3 STORE 2 +FLAGS (Urgent)\r\n")
	a.expect("k3 OK")
	b.send("n NOOP\r\n")
	got := b.expect("n OK")
	if len(got) < 2 || got[0] != `* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work Urgent)` || !strings.Contains(got[1], "Urgent") {
		t.Errorf("update from another session: %q", got)
	}
}

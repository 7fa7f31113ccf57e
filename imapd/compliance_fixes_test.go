package imapd

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// SEARCH HEADER with an empty string matches the messages that have the
// field, whatever its value, and no others (RFC 3501 §6.4.4), also for
// the fields SEARCH keeps in columns.
func TestSearchHeaderEmptyString(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", "From: a@example.test\r\nSubject: has one\r\nX-Tag: t\r\n\r\nbody\r\n")
	e.deliver(t, "INBOX", "From: b@example.test\r\n\r\nno subject\r\n")
	e.deliver(t, "INBOX", "Subject:\r\nCc: c@example.test\r\n\r\nempty subject\r\n")
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")
	for _, tc := range []struct{ key, want string }{
		{`HEADER Subject ""`, "* SEARCH 1 3"},
		{`HEADER From ""`, "* SEARCH 1 2"},
		{`HEADER Cc ""`, "* SEARCH 3"},
		{`HEADER To ""`, "* SEARCH"},
		{`HEADER X-Tag ""`, "* SEARCH 1"},
		{`NOT HEADER Subject ""`, "* SEARCH 2"},
		{`SUBJECT ""`, "* SEARCH 1 3"},
		{`HEADER Subject "one"`, "* SEARCH 1"},
	} {
		r.send("a SEARCH " + tc.key + "\r\n")
		lines := r.expect("a OK")
		if lines[0] != tc.want {
			t.Errorf("SEARCH %s: %q, want %q", tc.key, lines[0], tc.want)
		}
	}
}

// A NO to a change in an EXAMINEd mailbox has no READ-ONLY code: that
// code belongs to SELECT and EXAMINE (RFC 3501 §7.1).
func TestReadOnlyCodeOnlyOnSelect(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("one", "a@example.test", "x"))
	r := e.raw(t, true)
	r.send("e EXAMINE INBOX\r\n")
	if l := r.expect("e OK"); !strings.HasPrefix(l[len(l)-1], "e OK [READ-ONLY]") {
		t.Fatalf("EXAMINE: %q", l)
	}
	for _, cmd := range []string{"STORE 1 +FLAGS (\\Seen)", "UID STORE 1 +FLAGS (\\Seen)", "EXPUNGE", "UID EXPUNGE 1", "MOVE 1 Trash"} {
		r.send("n " + cmd + "\r\n")
		l := r.line()
		for strings.HasPrefix(l, "* ") {
			l = r.line()
		}
		if !strings.HasPrefix(l, "n NO ") || strings.Contains(l, "READ-ONLY") {
			t.Errorf("%s in an EXAMINEd mailbox: %q", cmd, l)
		}
	}

	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed for this test: ", err)
	}
	host, port, _ := strings.Cut(e.addr, ":")
	script := `
import imaplib, sys
M = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]))
M.login("alice@example.test", "` + testPassword + `")
typ, data = M.select("INBOX", readonly=True)
assert typ == "OK", (typ, data)
for op in (lambda: M.store("1", "+FLAGS", "\\Deleted"), lambda: M.expunge(), lambda: M.uid("MOVE", "1", "Trash")):
    try:
        typ, data = op()
        assert typ == "NO", (typ, data)
    except imaplib.IMAP4.readonly as e:
        raise SystemExit("readonly raised: %s" % e)
    except imaplib.IMAP4.error:
        pass
typ, data = M.fetch("1", "(FLAGS)")
assert typ == "OK", (typ, data)
typ, data = M.select("INBOX")
assert typ == "OK", (typ, data)
typ, data = M.store("1", "+FLAGS", "\\Flagged")
assert typ == "OK" and b"\\Flagged" in data[0], (typ, data)
M.logout()
print("readonly ok")
`
	out, err := exec.Command(py, "-c", script, host, port).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "readonly ok") {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
}

// A mailbox name that is not valid modified UTF-7 gets NO, not BAD; a LIST
// pattern with one is matched as it is, as Dovecot does.
func TestInvalidModifiedUTF7(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw(t, true)
	for _, cmd := range []string{`SELECT "&Jjo"`, `EXAMINE "a&-b&"`, `STATUS "&Jjo" (MESSAGES)`, `CREATE "&Jjo"`,
		`DELETE "&Jjo"`, `RENAME INBOX "&Jjo"`, `SUBSCRIBE "&AGE"`, `APPEND "&Jjo" {1+}` + "\r\nx"} {
		r.send("n " + cmd + "\r\n")
		l := r.expect("n ")
		if last := l[len(l)-1]; !strings.HasPrefix(last, "n NO ") {
			t.Errorf("%s: %q", cmd, last)
		}
	}
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")
	r.send("n COPY 1:* \"&Jjo\"\r\n")
	if l := r.expect("n "); !strings.HasPrefix(l[len(l)-1], "n NO ") {
		t.Errorf("COPY: %q", l)
	}
	r.send("l LIST \"\" \"&Jjo*\"\r\n")
	if l := r.expect("l "); !strings.HasPrefix(l[len(l)-1], "l OK") || len(l) != 1 {
		t.Errorf("LIST with a bad pattern: %q", l)
	}
	// The connection goes on.
	r.send("c CAPABILITY\r\n")
	r.expect("c OK")
}

// MOVE into the selected mailbox itself: the source's EXPUNGE comes before
// the EXISTS of the copy.
func TestMoveIntoItself(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("one", "a@example.test", "x"))
	e.deliver(t, "INBOX", testMessage("two", "a@example.test", "y"))
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")
	r.send("m MOVE 1 INBOX\r\n")
	lines := r.expect("m OK")
	exp := slices.Index(lines, "* 1 EXPUNGE")
	exi := slices.Index(lines, "* 2 EXISTS")
	if exp < 0 || exi < 0 || exp > exi || !strings.HasPrefix(lines[0], "* OK [COPYUID ") {
		t.Fatalf("MOVE into itself: %q", lines)
	}
	r.send("f FETCH 1:* (UID)\r\n")
	lines = r.expect("f OK")
	if len(lines) != 3 || lines[0] != "* 1 FETCH (UID 2)" || lines[1] != "* 2 FETCH (UID 3)" {
		t.Fatalf("after MOVE: %q", lines)
	}
}

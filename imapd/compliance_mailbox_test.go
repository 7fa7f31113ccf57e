package imapd

import (
	"strings"
	"testing"
)

// A session that deletes the mailbox it has selected gets a plain OK and
// is left in the authenticated state (as Dovecot does); only a deletion by
// someone else ends the session with BYE.
func TestDeleteOwnSelectedMailbox(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw(t, true)
	r.send("a CREATE Old\r\n")
	r.expect("a OK")
	r.send("b APPEND Old {5+}\r\nhello\r\n")
	r.expect("b OK")
	r.send("c SELECT Old\r\n")
	r.expect("c OK")
	r.send("d DELETE Old\r\n")
	for _, l := range r.expect("d ") {
		if strings.HasPrefix(l, "* BYE") || strings.HasPrefix(l, "d NO") || strings.HasPrefix(l, "d BAD") {
			t.Fatalf("DELETE of the selected mailbox: %q", l)
		}
	}
	r.send("e FETCH 1 FLAGS\r\n")
	if l := r.line(); !strings.HasPrefix(l, "e BAD") {
		t.Fatalf("FETCH after deleting the selected mailbox: %q, want BAD (authenticated state)", l)
	}
	r.send("f SELECT INBOX\r\n")
	r.expect("f OK")
}

// RFC 3501 §5.1: INBOX is case-insensitive, also where a LIST or LSUB
// pattern spells it with wildcards after it. Other names stay
// case-sensitive.
func TestListInboxAnyCaseWithWildcards(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw(t, true)
	r.send("a CREATE INBOX/Sub\r\n")
	r.expect("a OK")
	r.send("a2 CREATE inboxy\r\n")
	r.expect("a2 OK")
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{`"inbox*"`, []string{"INBOX", "INBOX/Sub", "inboxy"}},
		{`InBoX%`, []string{"INBOX"}},
		{`"in%"`, []string{"INBOX", "inboxy"}},
		{`inbox/%`, []string{"INBOX/Sub"}},
		{`Inb`, nil},
		{`inboxy`, []string{"inboxy"}},
		{`INBOXY`, nil},
	} {
		r.send(`b LIST "" ` + tc.pattern + "\r\n")
		lines := r.expect("b OK")
		var got []string
		for _, l := range lines[:len(lines)-1] {
			i := strings.LastIndexByte(l, ' ')
			got = append(got, strings.Trim(l[i+1:], `"`))
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("LIST \"\" %s: got %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

// RFC 3501 §6.3.5: renaming INBOX moves its messages and leaves INBOX in
// place, so "RENAME INBOX INBOX/old" is a valid way to archive it.
func TestRenameInboxToChild(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("one", "a@example.test", "hello"))
	r := e.raw(t, true)
	r.send("a RENAME INBOX INBOX/old\r\n")
	r.expect("a OK")
	r.send("b STATUS INBOX/old (MESSAGES)\r\n")
	if l := r.expect("b OK"); !strings.Contains(l[0], "MESSAGES 1") {
		t.Fatalf("STATUS INBOX/old: %q", l)
	}
	r.send("c STATUS INBOX (MESSAGES)\r\n")
	if l := r.expect("c OK"); !strings.Contains(l[0], "MESSAGES 0") {
		t.Fatalf("STATUS INBOX: %q", l)
	}
}

// A level "." or ".." in a name would make the mailbox look like the
// current or the parent folder to clients that map names to paths; CREATE
// and RENAME refuse it with [CANNOT] (RFC 5530 §3) and create nothing.
func TestDotLevelsRefused(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw(t, true)
	r.send("a CREATE Keep\r\n")
	r.expect("a OK")
	for i, name := range []string{".", "..", "a/../b", "./x", "x/.", "Keep/.."} {
		tag := string(rune('b' + i))
		r.send(tag + ` CREATE "` + name + "\"\r\n")
		if l := r.expect(tag + " "); !strings.HasPrefix(l[len(l)-1], tag+" NO [CANNOT]") {
			t.Errorf("CREATE %q: %q, want NO [CANNOT]", name, l)
		}
		r.send("r" + tag + ` RENAME Keep "` + name + "\"\r\n")
		if l := r.expect("r" + tag + " "); !strings.HasPrefix(l[len(l)-1], "r"+tag+" NO [CANNOT]") {
			t.Errorf("RENAME Keep %q: %q, want NO [CANNOT]", name, l)
		}
	}
	r.send(`z LIST "" *` + "\r\n")
	for _, l := range r.expect("z OK") {
		if strings.Contains(l, `"."`) || strings.Contains(l, "..") || strings.HasSuffix(l, " a") || strings.HasSuffix(l, " x") {
			t.Errorf("LIST shows %q", l)
		}
	}
}

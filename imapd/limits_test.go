package imapd

import (
	"bufio"
	"strconv"
	"strings"
	"sync"
	"testing"

	"postern/imapd/internal/wire"
)

// literalKeys writes "tag SEARCH" followed by n BODY keys, each a
// non-synchronizing literal of size bytes that carries a command, and,
// when finish is set, the CRLF that ends the command.
func literalKeys(w *bufio.Writer, tag string, n, size int, finish bool) error {
	payload := "x1 CREATE Victim\r\n" + strings.Repeat("k", size-len("x1 CREATE Victim\r\n"))
	w.WriteString(tag + " SEARCH")
	for i := 0; i < n; i++ {
		w.WriteString(" BODY {" + strconv.Itoa(size) + "+}\r\n")
		w.WriteString(payload)
	}
	if finish {
		w.WriteString("\r\n")
	}
	return w.Flush()
}

// Arguments sent as literals used to start the line limit afresh: two
// SEARCHes left unfinished after hundreds of 64 KiB literal keys held all
// of them. A command's literals now share one budget; past it the command
// is refused with BAD [LIMIT], the rest of it is read and dropped, and
// the connection goes on.
func TestSearchLiteralsBounded(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("one", "bob@example.test", "hi"))
	other := e.raw(t, true)
	other.send("s SELECT INBOX\r\n")
	other.expect("s OK")

	const perConn, size = 800, 64 << 10 // 2 x 50 MiB before the fix
	conns := []*raw{e.raw(t, true), e.raw(t, true)}
	for _, r := range conns {
		r.send("s SELECT INBOX\r\n")
		r.expect("s OK")
	}
	g := measure(t, func() {
		var wg sync.WaitGroup
		for _, r := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := literalKeys(bufio.NewWriterSize(r.c, 256<<10), "a", perConn, size, false); err != nil {
					t.Errorf("write: %v", err)
				}
			}()
		}
		wg.Wait()
		// Both commands are still unfinished: whatever the server holds
		// for them is held now.
		e.stillServes(t, other)
	})
	checkGrowth(t, "two unfinished SEARCHes of 64 KiB literals", g, 24*mib)
	for _, r := range conns {
		r.send("\r\n")
		if l := r.expect("a "); !strings.HasPrefix(l[len(l)-1], "a BAD [LIMIT]") {
			t.Fatalf("SEARCH over the literal budget: %.300q", l)
		}
		r.send("b NOOP\r\n")
		if l := r.expect("b OK"); len(l) != 1 {
			t.Fatalf("after the refused SEARCH: %.300q", l)
		}
	}
	if _, err := e.st.Mailbox(t.Context(), e.acct.ID, "Victim"); err == nil {
		t.Fatal("bytes of a refused literal were run as a command")
	}

	// Synchronizing literals: the server refuses the one that goes over
	// the budget instead of inviting it, and the command ends there.
	r := conns[0]
	r.send("c SEARCH")
	for i := 0; ; i++ {
		r.send(" BODY {" + strconv.Itoa(size) + "}\r\n")
		l := r.line()
		if strings.HasPrefix(l, "c BAD [LIMIT]") {
			if i == 0 {
				t.Fatal("the first literal was refused")
			}
			break
		}
		if !strings.HasPrefix(l, "+") || i > 100 {
			t.Fatalf("literal %d: %q", i, l)
		}
		r.send(strings.Repeat("s", size))
	}
	r.send("d NOOP\r\n")
	if l := r.expect("d OK"); len(l) != 1 {
		t.Fatalf("after the refused synchronizing literal: %q", l)
	}
}

// HEADER.FIELDS with 1,000 literal names cost the size of all of them for
// each section. Names count against the literal budget, and a FETCH has
// at most wire.MaxHeaderFieldNames of them.
func TestHeaderFieldsBounded(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("one", "bob@example.test", "hi"))
	other := e.raw(t, true)
	other.send("s SELECT INBOX\r\n")
	other.expect("s OK")
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")

	const names, size = 800, 64 << 10 // 2 sections x 50 MiB before the fix
	name := "x1 CREATE Victim\r\n" + strings.Repeat("h", size-len("x1 CREATE Victim\r\n"))
	g := measure(t, func() {
		w := bufio.NewWriterSize(r.c, 256<<10)
		w.WriteString("a FETCH 1 (")
		for sec := 0; sec < 2; sec++ {
			if sec > 0 {
				w.WriteString(" ")
			}
			w.WriteString("BODY.PEEK[HEADER.FIELDS (Subject")
			for i := 0; i < names; i++ {
				w.WriteString(" {" + strconv.Itoa(size) + "+}\r\n")
				w.WriteString(name)
			}
			w.WriteString(")]")
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		e.stillServes(t, other)
	})
	checkGrowth(t, "HEADER.FIELDS with 64 KiB literal names", g, 24*mib)
	r.send(")\r\n")
	if l := r.expect("a "); !strings.HasPrefix(l[len(l)-1], "a BAD [LIMIT]") {
		t.Fatalf("HEADER.FIELDS over the literal budget: %.300q", l)
	}
	r.send("b NOOP\r\n")
	if l := r.expect("b OK"); len(l) != 1 {
		t.Fatalf("after the refused FETCH: %.300q", l)
	}
	if _, err := e.st.Mailbox(t.Context(), e.acct.ID, "Victim"); err == nil {
		t.Fatal("bytes of a refused literal were run as a command")
	}

	// Short names: the count is what is bounded.
	many := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = "X-" + strconv.Itoa(i)
		}
		return strings.Join(s, " ")
	}
	r.send("c FETCH 1 (BODY.PEEK[HEADER.FIELDS (" + many(wire.MaxHeaderFieldNames/2) + ")] BODY.PEEK[HEADER.FIELDS.NOT (" + many(wire.MaxHeaderFieldNames/2) + ")])\r\n")
	r.expect("c OK")
	r.send("d FETCH 1 (BODY.PEEK[HEADER.FIELDS (" + many(wire.MaxHeaderFieldNames/2) + ")] BODY.PEEK[HEADER.FIELDS.NOT (" + many(wire.MaxHeaderFieldNames/2+1) + ")])\r\n")
	r.expect("d BAD [LIMIT]")
	r.send("e NOOP\r\n")
	r.expect("e OK")
}

// The counted limits of one command: SEARCH keys and nesting, FETCH items
// and sections, and the text of a command spread over several lines.
func TestCommandCountLimits(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("one", "bob@example.test", "hi"))
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")
	keys := func(n int) string { return strings.TrimSpace(strings.Repeat("SEEN ", n)) }
	sections := func(n int) string { return strings.TrimSpace(strings.Repeat("BODY.PEEK[1]<0.1> ", n)) }
	nest := func(n int) string { return strings.Repeat("NOT ", n) + "SEEN" }
	for _, c := range []struct {
		cmd string
		ok  bool
	}{
		{"SEARCH " + keys(wire.MaxSearchKeys), true},
		{"SEARCH " + keys(wire.MaxSearchKeys+1), false},
		{"SEARCH " + strings.Repeat("OR SEEN ", wire.MaxSearchKeys/2) + "SEEN", false},
		{"SEARCH " + nest(30), true},
		{"SEARCH " + nest(40), false},
		{"FETCH 1 (" + sections(wire.MaxFetchSections) + ")", true},
		{"FETCH 1 (" + sections(wire.MaxFetchSections+1) + ")", false},
		// A command's text across literals: each line is short, together
		// they are over the limit.
		{"SEARCH" + strings.Repeat(" "+strings.Repeat("1,", 10000)+"1 BODY {1+}\r\nx", 5), false},
	} {
		r.send("a " + c.cmd + "\r\n")
		l := r.expect("a ")
		last := l[len(l)-1]
		switch {
		case c.ok && !strings.HasPrefix(last, "a OK"):
			t.Errorf("%.60q...: %q", c.cmd, last)
		case !c.ok && !strings.HasPrefix(last, "a BAD [LIMIT]"):
			t.Errorf("%.60q...: %q, want BAD [LIMIT]", c.cmd, last)
		}
		r.send("b NOOP\r\n")
		if l := r.expect("b OK"); len(l) != 1 {
			t.Fatalf("after %.60q...: %q", c.cmd, l)
		}
	}
}

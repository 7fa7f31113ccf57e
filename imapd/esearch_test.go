package imapd

import (
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// searchFixture delivers 12 messages; 2, 10 and 11 are flagged, 3 is
// from Smith.
func searchFixture(t *testing.T, e *env) {
	t.Helper()
	for i := 1; i <= 12; i++ {
		from := "a@example.test"
		if i == 3 {
			from = "Smith <smith@example.test>"
		}
		e.deliver(t, "INBOX", testMessage("m"+itoa(int64(i)), from, "text"))
	}
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")
	r.send("f STORE 2,10:11 +FLAGS.SILENT (\\Flagged)\r\n")
	r.expect("f OK")
}

// The examples of RFC 4731 §3.1 and RFC 5182 §2.4, on a mailbox made to
// give the same answers.
func TestESearchTranscripts(t *testing.T) {
	e := newEnv(t, nil)
	searchFixture(t, e)
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")
	for _, tc := range []struct{ cmd, want string }{
		{`A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"`, `* ESEARCH (TAG "A282") MIN 2 COUNT 3`},
		{`A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"`, `* ESEARCH (TAG "A283") ALL 2,10:11`},
		{`A284 SEARCH RETURN (MIN MAX COUNT ALL) FLAGGED`, `* ESEARCH (TAG "A284") MIN 2 MAX 11 COUNT 3 ALL 2,10:11`},
		{`A285 UID SEARCH RETURN (MAX) FLAGGED`, `* ESEARCH (TAG "A285") UID MAX 11`},
		{`A286 SEARCH RETURN (MIN MAX COUNT) KEYWORD nothing`, `* ESEARCH (TAG "A286") COUNT 0`},
		{`A287 SEARCH RETURN (ALL) KEYWORD nothing`, `* ESEARCH (TAG "A287")`},
		{`A288 UID SEARCH RETURN (PARTIAL 2:3) ALL`, `* ESEARCH (TAG "A288") UID PARTIAL (2:3 2:3)`},
		{`A289 SEARCH RETURN (PARTIAL 12:10) ALL`, `* ESEARCH (TAG "A289") PARTIAL (10:12 10:12)`},
		{`A290 SEARCH RETURN (PARTIAL 20:30) ALL`, `* ESEARCH (TAG "A290") PARTIAL (20:30 NIL)`},
		{`A291 SEARCH RETURN (CONTEXT COUNT) UNFLAGGED`, `* ESEARCH (TAG "A291") COUNT 9`},
		{`A292 SEARCH FLAGGED`, `* SEARCH 2 10 11`},
	} {
		tag, _, _ := strings.Cut(tc.cmd, " ")
		r.send(tc.cmd + "\r\n")
		lines := r.expect(tag + " OK")
		if len(lines) != 2 || lines[0] != tc.want {
			t.Errorf("%s: %q, want %q", tc.cmd, lines, tc.want)
		}
	}
	// SAVE alone gives no ESEARCH; "$" is then usable wherever a set is.
	r.send("A301 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n")
	if l := r.expect("A301 OK"); len(l) != 1 {
		t.Fatalf("SEARCH RETURN (SAVE): %q", l)
	}
	r.send("A302 FETCH $ (UID)\r\n")
	if l := r.expect("A302 OK"); !slices.Equal(l[:3], []string{"* 2 FETCH (UID 2)", "* 10 FETCH (UID 10)", "* 11 FETCH (UID 11)"}) {
		t.Fatalf("FETCH $: %q", l)
	}
	r.send("A303 UID SEARCH UID $ NOT 11\r\n")
	if l := r.expect("A303 OK"); l[0] != "* SEARCH 2 10" {
		t.Fatalf("UID SEARCH UID $: %q", l)
	}
	r.send("A304 SEARCH $\r\n")
	if l := r.expect("A304 OK"); l[0] != "* SEARCH 2 10 11" {
		t.Fatalf("SEARCH $: %q", l)
	}
	// With MIN (or MAX) alone only that message is saved (§2.4).
	r.send("A305 SEARCH RETURN (SAVE MIN) FLAGGED\r\n")
	if l := r.expect("A305 OK"); l[0] != `* ESEARCH (TAG "A305") MIN 2` {
		t.Fatalf("SAVE MIN: %q", l)
	}
	r.send("A306 UID STORE $ +FLAGS.SILENT (\\Seen)\r\nA307 UID SEARCH SEEN\r\n")
	r.expect("A306 OK")
	if l := r.expect("A307 OK"); l[0] != "* SEARCH 2" {
		t.Fatalf("after UID STORE $: %q", l)
	}
	r.send("A308 SEARCH RETURN (SAVE MIN MAX) FLAGGED\r\nA309 SEARCH $\r\n")
	r.expect("A308 OK")
	if l := r.expect("A309 OK"); l[0] != "* SEARCH 2 11" {
		t.Fatalf("SAVE MIN MAX: %q", l)
	}
	// A SEARCH with SAVE that fails empties "$" (RFC 5182 §2.1).
	r.send("A310 SEARCH RETURN (SAVE) BEFORE 32-Jan-2020\r\nA311 SEARCH $\r\n")
	r.expect("A310 BAD")
	if l := r.expect("A311 OK"); l[0] != "* SEARCH" {
		t.Fatalf("$ after a failed SAVE: %q", l)
	}
	// "$" is reset by SELECT.
	r.send("A312 SEARCH RETURN (SAVE) ALL\r\nA313 SELECT INBOX\r\nA314 FETCH $ (UID)\r\n")
	r.expect("A313 OK")
	if l := r.expect("A314 OK"); len(l) != 1 {
		t.Fatalf("$ after SELECT: %q", l)
	}
	// COPY, MOVE and UID EXPUNGE take it too.
	r.send("A315 SEARCH RETURN (SAVE) 12\r\nA316 COPY $ Archive\r\nA317 STORE $ +FLAGS.SILENT (\\Deleted)\r\nA318 UID EXPUNGE $\r\n")
	r.expect("A316 OK")
	if l := r.expect("A318 OK"); l[0] != "* 12 EXPUNGE" && l[1] != "* 12 EXPUNGE" {
		t.Fatalf("UID EXPUNGE $: %q", l)
	}
	// Bad RETURN options are BAD.
	for _, bad := range []string{"RETURN (FOO) ALL", "RETURN (ALL ALL) ALL", "RETURN (ALL PARTIAL 1:2) ALL", "RETURN (PARTIAL 0:2) ALL",
		"RETURN (PARTIAL 1:*) ALL", "RETURN MIN ALL", "RETURN (MIN", "RETURN () "} {
		r.send("b SEARCH " + bad + "\r\n")
		r.expect("b BAD")
	}
}

// The ESEARCH results seen through go-imap's client.
func TestESearchImapclient(t *testing.T) {
	e := newEnv(t, nil)
	searchFixture(t, e)
	c := e.client(t, nil)
	if !c.Caps().Has(imap.CapESearch) || !c.Caps().Has(imap.CapSearchRes) {
		t.Fatalf("caps: %v", c.Caps())
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	crit := &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}
	d, err := c.UIDSearch(crit, &imap.SearchOptions{ReturnMin: true, ReturnMax: true, ReturnCount: true, ReturnAll: true, ReturnSave: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if d.Min != 2 || d.Max != 11 || d.Count != 3 || d.All.String() != "2,10:11" {
		t.Fatalf("ESEARCH: %+v", d)
	}
	// imapclient sends no SAVE (it drops ReturnSave); "$" is tested with
	// raw transcripts above.
	d, err = c.Search(&imap.SearchCriteria{Not: []imap.SearchCriteria{*crit}}, &imap.SearchOptions{ReturnCount: true}).Wait()
	if err != nil || d.Count != 9 {
		t.Fatalf("SEARCH RETURN (COUNT): %+v %v", d, err)
	}
}

// RETURN (UPDATE): another session's changes reach the result as ADDTO
// and REMOVEFROM, in the order RFC 5267 §4.3.3 and §4.3.4 set: ADDTO after
// the EXISTS or FETCH, REMOVEFROM before the EXPUNGE.
func TestSearchContextUpdate(t *testing.T) {
	e := newEnv(t, nil)
	searchFixture(t, e)
	a := e.raw(t, true)
	a.send("s SELECT INBOX\r\n")
	a.expect("s OK")
	a.send("B01 UID SEARCH RETURN (UPDATE COUNT) FLAGGED\r\n")
	if l := a.expect("B01 OK"); l[0] != `* ESEARCH (TAG "B01") UID COUNT 3` {
		t.Fatalf("UPDATE COUNT: %q", l)
	}
	a.send("B02 SEARCH RETURN (UPDATE) UNSEEN\r\n")
	a.expect("B02 OK")
	a.send("B01 SEARCH RETURN (UPDATE) ALL\r\n")
	a.expect("B01 BAD")

	b := e.raw(t, true)
	b.send("s SELECT INBOX\r\n")
	b.expect("s OK")
	b.send("x STORE 4 +FLAGS.SILENT (\\Flagged \\Seen)\r\n")
	b.expect("x OK")
	a.send("n NOOP\r\n")
	l := a.expect("n OK")
	fetch := slices.Index(l, `* 4 FETCH (UID 4 FLAGS (\Seen \Flagged))`)
	add := slices.Index(l, `* ESEARCH (TAG "B01") UID ADDTO (0 4)`)
	rm := slices.Index(l, `* ESEARCH (TAG "B02") REMOVEFROM (0 4)`)
	if fetch < 0 || add < fetch || rm < fetch {
		t.Fatalf("after a flag change: %q", l)
	}
	// A new message joins B02 after its EXISTS.
	e.deliver(t, "INBOX", testMessage("new", "a@example.test", "x"))
	a.send("n NOOP\r\n")
	l = a.expect("n OK")
	if ex, ad := slices.Index(l, "* 13 EXISTS"), slices.Index(l, `* ESEARCH (TAG "B02") ADDTO (0 13)`); ex < 0 || ad < ex {
		t.Fatalf("after a delivery: %q", l)
	}
	// An expunged flagged message leaves B01 before its EXPUNGE.
	b.send("x STORE 2 +FLAGS.SILENT (\\Deleted)\r\ny EXPUNGE\r\n")
	b.expect("y OK")
	a.send("n NOOP\r\n")
	l = a.expect("n OK")
	if rmi, ex := slices.Index(l, `* ESEARCH (TAG "B01") UID REMOVEFROM (0 2)`), slices.Index(l, "* 2 EXPUNGE"); rmi < 0 || ex < rmi {
		t.Fatalf("after an expunge: %q", l)
	}
	// Our own STORE counts as well.
	a.send("m STORE 1 +FLAGS (\\Flagged)\r\n")
	if l = a.expect("m OK"); !slices.Contains(l, `* ESEARCH (TAG "B01") UID ADDTO (0 1)`) {
		t.Fatalf("after our STORE: %q", l)
	}
	a.send("c CANCELUPDATE \"B01\" \"B02\"\r\n")
	a.expect("c OK")
	b.send("x STORE 5 +FLAGS.SILENT (\\Flagged)\r\n")
	b.expect("x OK")
	a.send("n NOOP\r\n")
	for _, line := range a.expect("n OK") {
		if strings.Contains(line, "ESEARCH") {
			t.Fatalf("update after CANCELUPDATE: %q", line)
		}
	}
	// Past the limit: NOUPDATE, and the search still answers.
	for i := 0; i < maxContexts; i++ {
		a.send("u" + itoa(int64(i)) + " SEARCH RETURN (UPDATE) DELETED\r\n")
		a.expect("u" + itoa(int64(i)) + " OK")
	}
	a.send("v SEARCH RETURN (UPDATE COUNT) ALL\r\n")
	if l := a.expect("v OK"); !slices.Contains(l, `* NO [NOUPDATE "v"] Too many searches kept up to date; cancel one with CANCELUPDATE`) {
		t.Fatalf("NOUPDATE: %q", l)
	}
}

// After ENABLE IMAP4rev2: SEARCH answers with ESEARCH, SELECT has a LIST
// and no RECENT, and a second SELECT reports CLOSED (RFC 9051).
func TestIMAP4rev2Session(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("one", "a@example.test", "x"))
	r := e.raw(t, true)
	r.send("c CAPABILITY\r\n")
	if l := r.expect("c OK"); !strings.Contains(l[0], " IMAP4rev1 IMAP4rev2 ") {
		t.Fatalf("CAPABILITY: %q", l)
	}
	r.send("e ENABLE IMAP4rev2 FOO\r\n")
	if l := r.expect("e OK"); l[0] != "* ENABLED IMAP4rev2" {
		t.Fatalf("ENABLE: %q", l)
	}
	r.send("s SELECT inbox\r\n")
	l := r.expect("s OK")
	for _, line := range l {
		if strings.Contains(line, "RECENT") || strings.Contains(line, "UNSEEN") {
			t.Fatalf("SELECT in IMAP4rev2: %q", l)
		}
	}
	if !slices.Contains(l, `* LIST () "/" INBOX`) {
		t.Fatalf("SELECT without LIST: %q", l)
	}
	r.send("f SEARCH ALL\r\nu UID SEARCH NOT ALL\r\n")
	if l := r.expect("f OK"); l[0] != `* ESEARCH (TAG "f") ALL 1` {
		t.Fatalf("SEARCH: %q", l)
	}
	if l := r.expect("u OK"); l[0] != `* ESEARCH (TAG "u") UID` {
		t.Fatalf("UID SEARCH: %q", l)
	}
	r.send("x FETCH 1 (FLAGS)\r\n")
	if l := r.expect("x OK"); l[0] != "* 1 FETCH (FLAGS ())" {
		t.Fatalf("FETCH FLAGS: %q", l)
	}
	r.send("s EXAMINE INBOX\r\n")
	if l := r.expect("s OK"); l[0] != "* OK [CLOSED] Previous mailbox is now closed" {
		t.Fatalf("re-SELECT: %q", l)
	}
	e.deliver(t, "INBOX", testMessage("two", "a@example.test", "x"))
	r.send("n NOOP\r\n")
	for _, line := range r.expect("n OK") {
		if strings.Contains(line, "RECENT") {
			t.Fatalf("RECENT in IMAP4rev2: %q", line)
		}
	}
}

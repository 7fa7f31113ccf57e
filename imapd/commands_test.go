package imapd

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func TestMailboxCommands(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(t, nil)

	if err := c.Create("Projects/2024/Q1", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Entwürfe", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Projects", nil).Wait(); err == nil {
		t.Fatal("CREATE of an existing mailbox succeeded")
	}
	if err := c.Create("INBOX", nil).Wait(); err == nil {
		t.Fatal("CREATE INBOX succeeded")
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*imap.ListData{}
	for _, l := range list {
		got[l.Mailbox] = l
	}
	for _, want := range []string{"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive", "Projects", "Projects/2024", "Projects/2024/Q1", "Entwürfe"} {
		if got[want] == nil {
			t.Fatalf("LIST * lacks %q: %v", want, list)
		}
		if got[want].Delim != '/' {
			t.Fatalf("delimiter %q", got[want].Delim)
		}
	}
	if !hasAttr(got["Projects"].Attrs, imap.MailboxAttrHasChildren) || !hasAttr(got["Projects/2024/Q1"].Attrs, imap.MailboxAttrHasNoChildren) {
		t.Fatalf("CHILDREN attrs: %v %v", got["Projects"].Attrs, got["Projects/2024/Q1"].Attrs)
	}
	if !hasAttr(got["Sent"].Attrs, imap.MailboxAttrSent) || !hasAttr(got["Trash"].Attrs, imap.MailboxAttrTrash) {
		t.Fatalf("SPECIAL-USE attrs: %v %v", got["Sent"].Attrs, got["Trash"].Attrs)
	}
	// % stops at the delimiter.
	list, err = c.List("", "Projects/%", nil).Collect()
	if err != nil || len(list) != 1 || list[0].Mailbox != "Projects/2024" {
		t.Fatalf("LIST Projects/%%: %v %v", list, err)
	}
	// The reference is joined to the pattern; "inbox" matches INBOX.
	list, err = c.List("Projects", "%", nil).Collect()
	if err != nil || len(list) != 1 || list[0].Mailbox != "Projects/2024" {
		t.Fatalf("LIST Projects %%: %v %v", list, err)
	}
	list, err = c.List("", "inbox", nil).Collect()
	if err != nil || len(list) != 1 || list[0].Mailbox != "INBOX" {
		t.Fatalf("LIST inbox: %v %v", list, err)
	}

	// RENAME moves children along.
	if err := c.Rename("Projects", "Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status("Work/2024/Q1", &imap.StatusOptions{NumMessages: true}).Wait(); err != nil {
		t.Fatalf("renamed child: %v", err)
	}
	if err := c.Rename("Nope", "Other", nil).Wait(); err == nil {
		t.Fatal("RENAME of a missing mailbox succeeded")
	}
	// DELETE leaves children; the parent turns \Noselect.
	if err := c.Delete("Work/2024").Wait(); err != nil {
		t.Fatal(err)
	}
	list, _ = c.List("", "Work/*", nil).Collect()
	var noselect bool
	for _, l := range list {
		if l.Mailbox == "Work/2024" && hasAttr(l.Attrs, imap.MailboxAttrNoSelect) {
			noselect = true
		}
	}
	if !noselect {
		t.Fatalf("deleted parent not \\Noselect: %v", list)
	}
	if err := c.Delete("INBOX").Wait(); err == nil {
		t.Fatal("DELETE INBOX succeeded")
	}

	// SUBSCRIBE / LSUB / UNSUBSCRIBE
	if err := c.Subscribe("Work/2024/Q1").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe("Sent").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Unsubscribe("Sent").Wait(); err != nil {
		t.Fatal(err)
	}
	r := e.raw(t, true)
	r.send("a LSUB \"\" *\r\n")
	lines := r.expect("a OK")
	if !contains(lines, `* LSUB () "/" Work/2024/Q1`) || contains(lines, "Sent") {
		t.Fatalf("LSUB: %q", lines)
	}
	r.send("b LSUB \"\" Work/%\r\n")
	lines = r.expect("b OK")
	if len(lines) != 2 || !strings.Contains(lines[0], `(\Noselect) "/" Work/2024`) {
		t.Fatalf("LSUB %%: %q", lines)
	}
	// Modified UTF-7 on the wire.
	r.send("c LIST \"\" Entw*\r\n")
	lines = r.expect("c OK")
	if !strings.Contains(lines[0], "Entw&APw-rfe") {
		t.Fatalf("LIST utf7: %q", lines)
	}
	r.send("d LIST \"\" \"\"\r\n")
	lines = r.expect("d OK")
	if lines[0] != `* LIST (\Noselect) "/" ""` {
		t.Fatalf("LIST \"\" \"\": %q", lines)
	}
	// NAMESPACE, ID, ENABLE, CHECK outside selected state.
	r.send("e NAMESPACE\r\n")
	if l := r.expect("e OK"); l[0] != `* NAMESPACE (("" "/")) NIL NIL` {
		t.Fatalf("NAMESPACE: %q", l)
	}
	r.send("f ID (\"name\" \"test\" \"version\" NIL)\r\n")
	if l := r.expect("f OK"); l[0] != `* ID ("name" "Postern")` {
		t.Fatalf("ID: %q", l)
	}
	r.send("g ENABLE CONDSTORE\r\n")
	if l := r.expect("g OK"); l[0] != "* ENABLED" {
		t.Fatalf("ENABLE: %q", l)
	}
	r.send("h CHECK\r\n")
	r.expect("h BAD")
}

func hasAttr(attrs []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, x := range attrs {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}

func TestAppendStatusStoreExpunge(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(t, nil)
	msg := testMessage("appended", "bob@example.test", "text")
	date := time.Date(2023, 5, 6, 7, 8, 9, 0, time.FixedZone("", 2*3600))
	ac := c.Append("INBOX", int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagFlagged, "$Work"}, Time: date})
	ac.Write([]byte(msg))
	ac.Close()
	ad, err := ac.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if ad.UID != 1 || ad.UIDValidity == 0 {
		t.Fatalf("APPENDUID: %+v", ad)
	}
	bad := c.Append("Nope", 1, nil)
	bad.Write([]byte("x"))
	bad.Close()
	if _, err := bad.Wait(); err == nil || !strings.Contains(err.Error(), "TRYCREATE") {
		t.Fatal("APPEND to a missing mailbox succeeded")
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, NumUnseen: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != 1 || st.UIDNext != 2 || *st.NumUnseen != 1 || st.UIDValidity != ad.UIDValidity {
		t.Fatalf("STATUS: %+v", st)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	m, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, InternalDate: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if !m[0].InternalDate.Equal(date) || !hasFlag(m[0].Flags, imap.FlagFlagged) || !hasFlag(m[0].Flags, "$Work") {
		t.Fatalf("appended message: %+v", m[0])
	}
	e.deliver(t, "INBOX", testMessage("two", "x@example.test", "2"))
	e.deliver(t, "INBOX", testMessage("three", "x@example.test", "3"))
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if n := c.Mailbox().NumMessages; n != 3 {
		t.Fatalf("after NOOP NumMessages = %d", n)
	}
	// STORE forms.
	res, err := c.Store(imap.SeqSetNum(1, 2, 3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect()
	if err != nil || len(res) != 3 || !hasFlag(res[2].Flags, imap.FlagDeleted) {
		t.Fatalf("STORE +FLAGS: %v %v", res, err)
	}
	res, err = c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsDel, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect()
	if err != nil || len(res) != 1 || hasFlag(res[0].Flags, imap.FlagDeleted) {
		t.Fatalf("STORE -FLAGS: %v %v", res, err)
	}
	res, err = c.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: []imap.Flag{imap.FlagAnswered}}, nil).Collect()
	if err != nil || len(res) != 0 {
		t.Fatalf("UID STORE FLAGS.SILENT: %v %v", res, err)
	}
	// UID EXPUNGE removes only the named \Deleted message.
	exp, err := c.UIDExpunge(imap.UIDSetNum(1, 3)).Collect()
	if err != nil || len(exp) != 1 || exp[0] != 3 {
		t.Fatalf("UID EXPUNGE: %v %v", exp, err)
	}
	exp, err = c.Expunge().Collect()
	if err != nil || len(exp) != 1 || exp[0] != 2 {
		t.Fatalf("EXPUNGE: %v %v", exp, err)
	}
	m, err = c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, UID: true}).Collect()
	if err != nil || len(m) != 1 || m[0].UID != 1 || !hasFlag(m[0].Flags, imap.FlagAnswered) || hasFlag(m[0].Flags, imap.FlagFlagged) {
		t.Fatalf("left: %+v %v", m, err)
	}
	// CLOSE expunges silently.
	c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.UnselectAndExpunge().Wait(); err != nil {
		t.Fatal(err)
	}
	st, _ = c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if *st.NumMessages != 0 {
		t.Fatalf("after CLOSE: %d messages", *st.NumMessages)
	}
}

func TestExamineIsReadOnly(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("one", "b@example.test", "body"))
	c := e.client(t, nil)
	sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil || sel.NumMessages != 1 {
		t.Fatal(sel, err)
	}
	m, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if hasFlag(m[0].Flags, imap.FlagSeen) {
		t.Fatal("BODY[] in EXAMINE set \\Seen")
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err == nil {
		t.Fatal("STORE in EXAMINE succeeded")
	}
	if _, err := c.Expunge().Collect(); err == nil {
		t.Fatal("EXPUNGE in EXAMINE succeeded")
	}
	if _, err := c.Move(imap.SeqSetNum(1), "Trash").Wait(); err == nil {
		t.Fatal("MOVE in EXAMINE succeeded")
	}
	// The message stays \Recent for a read-write SELECT after EXAMINE.
	r := e.raw(t, true)
	r.send("a SELECT INBOX\r\n")
	lines := r.expect("a OK [READ-WRITE]")
	if !contains(lines, "* 1 RECENT") {
		t.Fatalf("SELECT after EXAMINE: %q", lines)
	}
	st, _ := c.Status("INBOX", &imap.StatusOptions{NumUnseen: true}).Wait()
	if *st.NumUnseen != 1 {
		t.Fatal("message became seen")
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func TestCopyMove(t *testing.T) {
	e := newEnv(t, nil)
	for i := 0; i < 4; i++ {
		e.deliver(t, "INBOX", testMessage("m"+string(rune('a'+i)), "b@example.test", "body"))
	}
	var expunged []uint32
	c := e.client(t, &imapclient.UnilateralDataHandler{Expunge: func(seq uint32) { expunged = append(expunged, seq) }})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	cd, err := c.Copy(imap.SeqSetNum(1, 2), "Archive").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if cd.SourceUIDs.String() != "1:2" || cd.DestUIDs.String() != "1:2" || cd.UIDValidity == 0 {
		t.Fatalf("COPYUID: %+v", cd)
	}
	if _, err := c.Copy(imap.SeqSetNum(1), "Nope").Wait(); err == nil || !strings.Contains(err.Error(), "TRYCREATE") {
		t.Fatalf("COPY to missing mailbox: %v", err)
	}
	md, err := c.Move(imap.UIDSetNum(2, 4), "Trash").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if md.SourceUIDs.String() != "2,4" || md.DestUIDs.String() != "1:2" {
		t.Fatalf("MOVE COPYUID: %+v", md)
	}
	if c.Mailbox().NumMessages != 2 {
		t.Fatalf("after MOVE: %d messages", c.Mailbox().NumMessages)
	}
	st, _ := c.Status("Trash", &imap.StatusOptions{NumMessages: true}).Wait()
	if *st.NumMessages != 2 {
		t.Fatalf("Trash has %d", *st.NumMessages)
	}
	st, _ = c.Status("Archive", &imap.StatusOptions{NumMessages: true}).Wait()
	if *st.NumMessages != 2 {
		t.Fatalf("Archive has %d", *st.NumMessages)
	}
}

// MOVE reports each expunge exactly once, with sequence numbers that fit
// the client's view as it shrinks.
func TestMoveExpungesOnce(t *testing.T) {
	e := newEnv(t, nil)
	for i := 0; i < 3; i++ {
		e.deliver(t, "INBOX", testMessage("m", "b@example.test", "body"))
	}
	r := e.raw(t, true)
	r.send("a SELECT INBOX\r\n")
	r.expect("a OK")
	r.send("b MOVE 1:3 Trash\r\n")
	lines := r.expect("b OK")
	want := []string{"* OK [COPYUID", "* 1 EXPUNGE", "* 1 EXPUNGE", "* 1 EXPUNGE", "b OK"}
	if len(lines) != len(want) {
		t.Fatalf("MOVE: %q", lines)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Fatalf("MOVE line %d = %q, want %q (%q)", i, lines[i], w, lines)
		}
	}
	r.send("c NOOP\r\n")
	if l := r.expect("c OK"); len(l) != 1 {
		t.Fatalf("NOOP after MOVE repeats: %q", l)
	}
}

func TestMultiAppend(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw(t, true)
	m1 := "Subject: one\r\n\r\nx\r\n"
	m2 := "Subject: two\r\n\r\ny\r\n"
	r.send("a APPEND Drafts (\\Draft) {" + itoa(int64(len(m1))) + "+}\r\n" + m1 + " \"01-Jan-2024 10:00:00 +0000\" {" + itoa(int64(len(m2))) + "}\r\n")
	r.expect("+ ")
	r.send(m2 + "\r\n")
	l := r.expect("a OK")
	if !strings.Contains(l[len(l)-1], "[APPENDUID ") || !strings.Contains(l[len(l)-1], " 1:2]") {
		t.Fatalf("MULTIAPPEND: %q", l)
	}
	r.send("b STATUS Drafts (MESSAGES)\r\n")
	if l := r.expect("b OK"); !strings.Contains(l[0], "MESSAGES 2") {
		t.Fatalf("%q", l)
	}
	// All or nothing: a second message that is too big leaves none.
	big := e.srv.cfg.MaxMessageBytes + 1
	r.send("c APPEND Drafts {" + itoa(int64(len(m1))) + "+}\r\n" + m1 + " {" + itoa(big) + "}\r\n")
	r.expect("c NO [TOOBIG]")
	r.send("d STATUS Drafts (MESSAGES)\r\n")
	if l := r.expect("d OK"); !strings.Contains(l[0], "MESSAGES 2") {
		t.Fatalf("%q", l)
	}
}

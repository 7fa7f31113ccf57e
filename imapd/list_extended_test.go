package imapd

import (
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// listFixture builds the mailboxes of the examples of RFC 5258 §5:
// Fruit/Peach is subscribed but no longer exists.
func listFixture(t *testing.T, e *env) {
	t.Helper()
	r := e.raw(t, true)
	for _, n := range []string{"Fruit/Apple", "Fruit/Banana", "Fruit/Peach", "Tofu", "Vegetable/Broccoli", "Vegetable/Corn"} {
		r.send("c CREATE " + n + "\r\n")
		r.expect("c OK")
	}
	for _, n := range []string{"Fruit/Banana", "Fruit/Peach", "Vegetable", "Vegetable/Broccoli"} {
		r.send("s SUBSCRIBE " + n + "\r\n")
		r.expect("s OK")
	}
	r.send("d DELETE Fruit/Peach\r\n")
	r.expect("d OK")
}

func listMap(t *testing.T, list []*imap.ListData) map[string]*imap.ListData {
	t.Helper()
	m := map[string]*imap.ListData{}
	for _, l := range list {
		if m[l.Mailbox] != nil {
			t.Fatalf("%q listed twice", l.Mailbox)
		}
		m[l.Mailbox] = l
	}
	return m
}

func TestListExtended(t *testing.T) {
	e := newEnv(t, nil)
	listFixture(t, e)
	c := e.client(t, nil)
	for _, cp := range []imap.Cap{imap.CapListExtended, imap.CapListStatus, imap.CapStatusSize, imap.CapCreateSpecialUse, imap.CapSpecialUse} {
		if !c.Caps().Has(cp) {
			t.Fatalf("no %s in %v", cp, c.Caps())
		}
	}
	// RFC 5258 §5 example 3: LIST (SUBSCRIBED) "" "*".
	list, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	m := listMap(t, list)
	// The default mailboxes are subscribed when the account is made.
	if len(m) != 10 || m["Fruit/Banana"] == nil || m["Vegetable"] == nil || m["Vegetable/Broccoli"] == nil || m["Tofu"] != nil || m["Fruit"] != nil {
		t.Fatalf("LIST (SUBSCRIBED): %v", m)
	}
	if a := m["Fruit/Peach"].Attrs; !hasAttr(a, imap.MailboxAttrSubscribed) || !hasAttr(a, imap.MailboxAttrNonExistent) {
		t.Fatalf("Fruit/Peach: %v", a)
	}
	// Example 8: RECURSIVEMATCH with "%" reports the parents of
	// subscribed names below the pattern's level with CHILDINFO.
	list, err = c.List("", "%", &imap.ListOptions{SelectSubscribed: true, SelectRecursiveMatch: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	m = listMap(t, list)
	if len(m) != 8 || m["Fruit"] == nil || m["Fruit"].ChildInfo == nil || !m["Fruit"].ChildInfo.Subscribed ||
		hasAttr(m["Fruit"].Attrs, imap.MailboxAttrSubscribed) {
		t.Fatalf("LIST (SUBSCRIBED RECURSIVEMATCH) %%: %+v", list)
	}
	if v := m["Vegetable"]; v == nil || !hasAttr(v.Attrs, imap.MailboxAttrSubscribed) || v.ChildInfo == nil {
		t.Fatalf("Vegetable: %+v", v)
	}
	// Return options: SUBSCRIBED and STATUS (RFC 5819), several patterns.
	e.deliver(t, "INBOX", testMessage("one", "a@example.test", "x"))
	list, err = c.List("", "", &imap.ListOptions{ReturnSubscribed: true}).Collect()
	if err != nil || len(list) != 1 {
		t.Fatalf("LIST \"\" \"\": %v %v", list, err)
	}
	cmd := c.List("", "INBOX", &imap.ListOptions{ReturnSubscribed: true, ReturnChildren: true,
		ReturnStatus: &imap.StatusOptions{NumMessages: true, Size: true, NumDeleted: true, UIDNext: true}})
	list, err = cmd.Collect()
	if err != nil || len(list) != 1 || list[0].Status == nil || *list[0].Status.NumMessages != 1 || *list[0].Status.Size == 0 ||
		*list[0].Status.NumDeleted != 0 || list[0].Status.UIDNext != 2 {
		t.Fatalf("LIST RETURN (STATUS): %+v %v", list, err)
	}
	// SPECIAL-USE selection and CREATE with USE.
	if err := c.Create("Old mail", &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttrArchive}}).Wait(); err != nil {
		t.Fatal(err)
	}
	list, err = c.List("", "*", &imap.ListOptions{SelectSpecialUse: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	m = listMap(t, list)
	for _, n := range []string{"Sent", "Drafts", "Trash", "Junk", "Archive", "Old mail"} {
		if m[n] == nil {
			t.Fatalf("LIST (SPECIAL-USE) lacks %q: %v", n, m)
		}
	}
	if len(m) != 6 || !hasAttr(m["Old mail"].Attrs, imap.MailboxAttrArchive) {
		t.Fatalf("LIST (SPECIAL-USE): %v", m)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true, Size: true, NumDeleted: true, AppendLimit: true}).Wait()
	if err != nil || *st.NumMessages != 1 || *st.Size != int64(len(testMessage("one", "a@example.test", "x"))) || *st.NumDeleted != 0 ||
		st.AppendLimit == nil || *st.AppendLimit != 1<<20 {
		t.Fatalf("STATUS: %+v %v", st, err)
	}
}

// Raw transcripts: several patterns, CHILDINFO's wire form, the rules on
// options, and USEATTR.
func TestListExtendedRaw(t *testing.T) {
	e := newEnv(t, nil)
	listFixture(t, e)
	r := e.raw(t, true)
	r.send(`a LIST (SUBSCRIBED RECURSIVEMATCH) "" ("Fruit" "Tofu" "Veg%")` + "\r\n")
	l := r.expect("a OK")
	if len(l) != 3 || !strings.HasPrefix(l[0], `* LIST (\HasChildren) "/" Fruit ("CHILDINFO" ("SUBSCRIBED"))`) ||
		!strings.HasPrefix(l[1], `* LIST (\HasChildren \Subscribed) "/" Vegetable ("CHILDINFO" ("SUBSCRIBED"))`) {
		t.Fatalf("multiple patterns: %q", l)
	}
	r.send(`b LIST "" (INBOX Tofu) RETURN (STATUS (MESSAGES UIDVALIDITY))` + "\r\n")
	l = r.expect("b OK")
	if len(l) != 5 || !strings.HasPrefix(l[1], "* STATUS INBOX (MESSAGES 0 UIDVALIDITY ") || !strings.HasPrefix(l[3], "* STATUS Tofu (MESSAGES 0 ") {
		t.Fatalf("LIST-STATUS: %q", l)
	}
	r.send("c STATUS INBOX (SIZE DELETED MESSAGES SIZE)\r\n")
	if l = r.expect("c OK"); l[0] != "* STATUS INBOX (SIZE 0 DELETED 0 MESSAGES 0)" {
		t.Fatalf("STATUS SIZE DELETED: %q", l)
	}
	for _, bad := range []string{`LIST (RECURSIVEMATCH) "" *`, `LIST (REMOTE RECURSIVEMATCH) "" *`, `LIST (FOO) "" *`,
		`LIST "" * RETURN (FOO)`, `LIST "" * RETURN (STATUS (FOO))`, `LIST "" * RETURN STATUS`, `LIST "" () RETURN ()`,
		`LIST "" * FOO`, `CREATE x (USE)`, `CREATE x (FOO (\Sent))`, `CREATE x (USE (Sent))`, `CREATE x (USE (\Sent) USE (\Sent))`} {
		r.send("x " + bad + "\r\n")
		r.expect("x BAD")
	}
	r.send(`y LIST (REMOTE) "" % RETURN ()` + "\r\n")
	if l = r.expect("y OK"); len(l) < 5 {
		t.Fatalf("LIST (REMOTE): %q", l)
	}
	for _, cmd := range []string{`CREATE Everything (USE (\All))`, `CREATE Flagged (USE (\Flagged))`, `CREATE Two (USE (\Sent \Trash))`, `CREATE X (USE (\Bogus))`} {
		r.send("u " + cmd + "\r\n")
		if l := r.expect("u "); !strings.HasPrefix(l[len(l)-1], "u NO [USEATTR] ") {
			t.Fatalf("%s: %q", cmd, l)
		}
	}
	r.send(`v CREATE Outbox (USE (\sent))` + "\r\nw LIST \"\" Outbox\r\n")
	r.expect("v OK")
	if l = r.expect("w OK"); !slices.Contains(l, `* LIST (\HasNoChildren \Sent) "/" Outbox`) {
		t.Fatalf("special use of a created mailbox: %q", l)
	}
}

package imapd

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// CATENATE (RFC 4469): a message made of text and parts of stored
// messages, with the examples of §5, and BADURL and TOOBIG.
func TestCatenate(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "Drafts", "From: Fred Foobar <foobar@example.test>\r\nSubject: afternoon meeting\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n--x\r\nContent-Type: application/pdf\r\n\r\nPDF\r\n--x--\r\n")
	mb, err := e.st.Mailbox(t.Context(), e.acct.ID, "Drafts")
	if err != nil {
		t.Fatal(err)
	}
	uv := itoa(int64(mb.UIDValidity))
	r := e.raw(t, true)
	text := "Content-Type: multipart/mixed; boundary=y\r\n\r\n--y\r\n"
	r.send("A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL \"/Drafts;UIDVALIDITY=" + uv + "/;UID=1/;section=HEADER.FIELDS%20(FROM)\" TEXT {" + itoa(int64(len(text))) + "+}\r\n" + text +
		" URL \"/Drafts;UIDVALIDITY=" + uv + "/;UID=1/;section=1.MIME\" URL \"/Drafts;UIDVALIDITY=" + uv + "/;UID=1/;section=1\" TEXT {9+}\r\n\r\n--y--\r\n)\r\n")
	if l := r.expect("A003 "); !strings.HasPrefix(l[len(l)-1], "A003 OK [APPENDUID ") {
		t.Fatalf("CATENATE: %q", l)
	}
	r.send("s SELECT Drafts\r\nf FETCH 2 (BODY.PEEK[])\r\n")
	r.expect("s OK")
	got := strings.Join(r.expect("f OK"), "\n")
	want := "From: Fred Foobar <foobar@example.test>\n\nContent-Type: multipart/mixed; boundary=y\n\n--y\n\nHello Joe, do you think we can meet at 3:30 tomorrow?\n--y--\n"
	if !strings.Contains(got, want) {
		t.Fatalf("catenated message:\n%s", got)
	}
	// An absolute URL of this user's works too; one of another user's,
	// an unknown UID or UIDVALIDITY, or a section that is not there, is
	// BADURL; the command ends there.
	r.send("b APPEND Drafts CATENATE (URL \"imap://alice@example.test@mail.example.test/Drafts/;UID=1\")\r\n")
	r.expect("b OK [APPENDUID")
	for _, url := range []string{"/Drafts/;UID=9", "/Drafts;UIDVALIDITY=1/;UID=1", "/Drafts/;UID=1/;SECTION=7", "imap://bob@example.test@x/Drafts/;UID=1",
		"/Nowhere/;UID=1", "not a url"} {
		r.send("c APPEND Drafts CATENATE (URL \"" + url + "\" TEXT {5}\r\n")
		if l := r.expect("c "); !strings.HasPrefix(l[len(l)-1], "c NO [BADURL \""+url+"\"] ") {
			t.Fatalf("%s: %q", url, l)
		}
	}
	big := strings.Repeat("x", 700<<10)
	r.send("d APPEND Drafts CATENATE (TEXT {" + itoa(int64(len(big))) + "+}\r\n" + big + " TEXT {" + itoa(int64(len(big))) + "+}\r\n" + big + ")\r\n")
	if l := r.expect("d "); !strings.HasPrefix(l[len(l)-1], "d NO [TOOBIG]") {
		t.Fatalf("TOOBIG: %q", l)
	}
	r.send("n NOOP\r\n")
	r.expect("n OK")
	for _, bad := range []string{"CATENATE ()", "CATENATE (FOO x)", "CATENATE (URL)", "CATENATE TEXT {1+}\r\nx"} {
		r.send("x APPEND Drafts " + bad + "\r\n")
		r.expect("x BAD")
	}
}

// URLAUTH (RFC 4467) and URLAUTH=BINARY (RFC 5524): GENURLAUTH makes a
// URL, URLFETCH reads it as the access identifier allows, RESETKEY ends it.
func TestURLAuth(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", "Subject: report\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nSi vis pacem, para bellum.\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n")
	e.addUser(t, "bob@example.test")
	a := e.raw(t, true)
	rump := "imap://alice@example.test@mail.example.test/INBOX/;uid=1/;section=1;urlauth=user+bob@example.test"
	a.send("g GENURLAUTH \"" + rump + "\" INTERNAL \"imap://alice@example.test@h/INBOX/;UID=1/;SECTION=2;URLAUTH=authuser\" INTERNAL\r\n")
	l := a.expect("g OK")
	m := regexp.MustCompile(`^\* GENURLAUTH "([^"]+)" "([^"]+)"$`).FindStringSubmatch(l[0])
	if m == nil || !strings.HasPrefix(m[1], rump+":INTERNAL:") || len(m[1]) != len(rump)+len(":INTERNAL:")+64 {
		t.Fatalf("GENURLAUTH: %q", l)
	}
	url, binURL := m[1], m[2]
	for _, bad := range []string{"imap://bob@example.test@h/INBOX/;UID=1;URLAUTH=anonymous", "imap://alice@example.test@h/INBOX/;UID=1",
		"/INBOX/;UID=1;URLAUTH=anonymous", url} {
		a.send("b GENURLAUTH \"" + bad + "\" INTERNAL\r\n")
		if l := a.expect("b "); !strings.HasPrefix(l[len(l)-1], "b NO [BADURL") {
			t.Fatalf("GENURLAUTH %s: %q", bad, l)
		}
	}
	a.send("b GENURLAUTH \"" + rump + "\" XYZ\r\n")
	a.expect("b NO")

	b := e.raw(t, false)
	b.send("l LOGIN bob@example.test \"" + testPassword + "\"\r\n")
	b.expect("l OK")
	forged := url[:len(url)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(url, "0")]
	b.send("f URLFETCH \"" + url + "\" \"" + forged + "\"\r\n")
	l = b.expect("f OK")
	if l[0] != `* URLFETCH "`+url+`" {26}` || l[1] != "Si vis pacem, para bellum." || l[2] != `* URLFETCH "`+forged+`" NIL` {
		t.Fatalf("URLFETCH as bob: %q", l)
	}
	// Alice is not bob: user+bob is bob's alone.
	a.send("f URLFETCH \"" + url + "\"\r\n")
	if l = a.expect("f OK"); l[0] != `* URLFETCH "`+url+`" NIL` {
		t.Fatalf("URLFETCH as alice: %q", l)
	}
	// URLAUTH=BINARY: the decoded part, its structure.
	b.send("x URLFETCH (\"" + binURL + "\" BODYPARTSTRUCTURE BINARY)\r\n")
	l = b.expect("x OK")
	if !strings.HasPrefix(l[0], `* URLFETCH "`+binURL+`" (BODYPARTSTRUCTURE ("APPLICATION" "OCTET-STREAM"`) || !strings.HasSuffix(l[0], "(BINARY ~{3}") ||
		l[1] != "\x00\x01\x02)" {
		t.Fatalf("URLFETCH BINARY: %q", l)
	}
	b.send("y URLFETCH (\"" + binURL + "\" BINARY BODY)\r\n")
	b.expect("y BAD")
	// RESETKEY: every URL of the mailbox stops working.
	a.send("r RESETKEY INBOX INTERNAL\r\n")
	a.expect("r OK")
	b.send("f URLFETCH \"" + url + "\"\r\n")
	if l = b.expect("f OK"); l[0] != `* URLFETCH "`+url+`" NIL` {
		t.Fatalf("URLFETCH after RESETKEY: %q", l)
	}
	a.send("r RESETKEY\r\nr2 RESETKEY Nowhere\r\n")
	a.expect("r OK")
	a.expect("r2 NO")
}

// FuzzAppendData sends arbitrary APPEND message data (CATENATE parts,
// UTF8, literal8) to a live server: whatever it is, the server answers or
// closes that connection, and goes on serving others.
func FuzzAppendData(f *testing.F) {
	for _, s := range []string{"CATENATE (TEXT {3+}\r\nabc URL \"/INBOX/;UID=1\")", "CATENATE (URL \"/INBOX;UIDVALIDITY=1/;UID=1/;SECTION=1.MIME\")",
		"UTF8 (~{4+}\r\nab\xc3\xa9)", "~{3+}\r\na\x00b", "CATENATE (UTF8 (~{1+}\r\nx) TEXT ~{1+}\r\ny)", "CATENATE ((("} {
		f.Add(s)
	}
	e := newEnv(f, nil)
	e.deliver(f, "INBOX", testMessage("one", "a@example.test", "x"))
	f.Fuzz(func(t *testing.T, data string) {
		data = strings.ReplaceAll(data, "}", "+}") // no waiting for continuations
		r := e.raw(t, true)
		r.send("e ENABLE UTF8=ACCEPT\r\nx APPEND INBOX " + data + "\r\ny NOOP\r\n")
		r.c.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			l, err := r.br.ReadString('\n')
			if err != nil || strings.HasPrefix(l, "y ") {
				break
			}
		}
		r.c.Close()
		h := e.raw(t, true)
		h.send("n NOOP\r\n")
		h.expect("n OK")
		h.c.Close()
	})
}

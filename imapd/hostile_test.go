package imapd

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"

	"postern/tlsutil"
)

// Bad syntax in every command gets BAD, and the connection lives on.
func TestBadSyntaxEveryCommand(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")
	bad := []string{
		"CAPABILITY x", "NOOP x", "SELECT", "SELECT \"unterminated", "EXAMINE (", "CREATE", "DELETE",
		"RENAME a", "SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LIST \"\"", "LSUB x", "STATUS INBOX", "STATUS INBOX (FOO)",
		"STATUS INBOX MESSAGES", "APPEND", "APPEND INBOX", "APPEND INBOX (\\Seen", "APPEND INBOX \"bad date\" {1+}\r\nx",
		"CHECK x", "CLOSE x", "EXPUNGE 1", "SEARCH", "SEARCH FOO", "SEARCH (ALL", "SEARCH OR ALL", "SEARCH BEFORE 32-Jan-2020",
		"FETCH", "FETCH 1", "FETCH 0 FLAGS", "FETCH x FLAGS", "FETCH 1 (FLAGS", "FETCH 1 BODY[HEADER.FIELDS]", "FETCH 1 BODY[1.MIME.2]",
		"FETCH 1 FOO", "STORE 1", "STORE 1 FLAGS", "STORE 1 XFLAGS (\\Seen)", "STORE 1 +FLAGS (\\*)", "COPY 1", "COPY", "MOVE 1",
		"UID", "UID FOO 1", "UID FETCH", "UID STORE 1", "UID SEARCH", "UID EXPUNGE", "UID COPY 1", "UID MOVE x INBOX",
		"IDLE x", "NAMESPACE x", "ID", "ID (\"a\")", "UNSELECT x", "LOGOUT x", "ENABLE", "FOO", "\"quoted\"",
		"FETCH 1:4294967296 FLAGS", "SEARCH UID 1:x",
	}
	for i, cmd := range bad {
		tag := "t" + itoa(int64(i))
		r.send(tag + " " + cmd + "\r\n")
		l := r.expect(tag + " ")
		last := l[len(l)-1]
		if !strings.HasPrefix(last, tag+" BAD") && !strings.HasPrefix(last, tag+" NO") {
			t.Errorf("%q: %q", cmd, l)
		}
		if strings.Contains(strings.Join(l, "\n"), "SERVERBUG") {
			t.Errorf("%q: %q", cmd, l)
		}
	}
	r.send("z NOOP\r\n")
	r.expect("z OK")
	// Missing tag, empty lines.
	r.send("\r\n\r\n")
	r.send("+\r\n")
	r.expect("* BAD")
	r.send("y NOOP\r\n")
	r.expect("y OK")
}

// Commands in the wrong state are refused.
func TestWrongState(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw(t, false)
	for _, cmd := range []string{"SELECT INBOX", "LIST \"\" *", "FETCH 1 FLAGS", "IDLE", "CREATE x", "STATUS INBOX (MESSAGES)", "NAMESPACE", "ENABLE X"} {
		r.send("a " + cmd + "\r\n")
		r.expect("a BAD")
	}
	r.send("b LOGIN alice@example.test \"" + testPassword + "\"\r\n")
	r.expect("b OK")
	for _, cmd := range []string{"LOGIN a b", "AUTHENTICATE PLAIN", "STARTTLS", "FETCH 1 FLAGS", "STORE 1 FLAGS ()", "CLOSE", "EXPUNGE", "CHECK", "UID FETCH 1 FLAGS", "SEARCH ALL", "COPY 1 INBOX"} {
		r.send("c " + cmd + "\r\n")
		r.expect("c BAD")
	}
	// A refused APPEND with a non-synchronizing literal does not run
	// the literal's bytes as commands.
	r2 := e.raw(t, false)
	payload := "x1 CREATE Victim\r\n"
	r2.send("d APPEND INBOX {" + itoa(int64(len(payload))) + "+}\r\n" + payload + "\r\n")
	r2.expect("d BAD")
	r2.send("e NOOP\r\n")
	if l := r2.expect("e OK"); len(l) != 1 {
		t.Fatalf("after refused APPEND: %q", l)
	}
	if _, err := e.st.Mailbox(t.Context(), e.acct.ID, "Victim"); err == nil {
		t.Fatal("the literal of a refused APPEND was run as a command")
	}
}

// Oversized lines and literals: BAD or NO, the connection stays sane,
// and a rejected literal is always read and dropped.
func TestOversizedInput(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxMessageBytes = 1000 })
	r := e.raw(t, true)
	// A line over the limit.
	r.send("a NOOP " + strings.Repeat("x", maxLine+10) + "\r\n")
	r.expect("a BAD")
	r.send("b NOOP\r\n")
	r.expect("b OK")
	// A non-synchronizing literal over APPENDLIMIT carrying a command.
	payload := "x1 CREATE Victim\r\n" + strings.Repeat("y", 2000)
	r.send("c APPEND INBOX {" + itoa(int64(len(payload))) + "+}\r\n" + payload + "\r\n")
	r.expect("c NO [TOOBIG]")
	r.send("d NOOP\r\n")
	if l := r.expect("d OK"); len(l) != 1 {
		t.Fatalf("after TOOBIG: %q", l)
	}
	// A synchronizing one is refused before the client sends it.
	r.send("e APPEND INBOX {2000}\r\n")
	r.expect("e NO [TOOBIG]")
	r.send("f NOOP\r\n")
	r.expect("f OK")
	// A string literal over its limit, chained with a further literal.
	r.send("g LOGIN {" + itoa(maxStringLiteral+1) + "+}\r\n" + strings.Repeat("z", maxStringLiteral+1) + " {19+}\r\nx2 CREATE Victim2\r\n\r\n")
	r.expect("g BAD")
	r.send("h NOOP\r\n")
	if l := r.expect("h OK"); len(l) != 1 {
		t.Fatalf("after big string literal: %q", l)
	}
	for _, name := range []string{"Victim", "Victim2"} {
		if _, err := e.st.Mailbox(t.Context(), e.acct.ID, name); err == nil {
			t.Fatalf("literal bytes were run as a command (%s exists)", name)
		}
	}
	// A huge literal size is refused without allocation.
	r.send("i APPEND INBOX {999999999999999999}\r\n")
	r.expect("i NO [TOOBIG]")
	// An endless line: BYE and close.
	r2 := e.raw(t, true)
	go r2.c.Write([]byte("j NOOP " + strings.Repeat("x", 2<<20)))
	if l := r2.expect("* BYE"); len(l) == 0 {
		t.Fatal("no BYE")
	}
}

func TestBrokenMIME(t *testing.T) {
	e := newEnv(t, nil)
	msgs := []string{
		"Subject: empty multipart\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n",
		"Subject: no boundary\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\nfoo\r\n",
		"Subject: deep\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" + strings.Repeat("--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n", 200),
		"Subject: junk type\r\nContent-Type: ;;;===\r\n\r\nbody\r\n",
		"no header at all",
	}
	for _, m := range msgs {
		e.deliver(t, "INBOX", m)
	}
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")
	r.send("a FETCH 1:* (BODYSTRUCTURE BODY ENVELOPE BODY.PEEK[1] BODY.PEEK[1.1.1.MIME] BODY.PEEK[TEXT])\r\n")
	l := r.expect("a OK")
	if len(l) < len(msgs) {
		t.Fatalf("FETCH of broken messages: %q", l)
	}
	r.send("b SEARCH TEXT foo\r\n")
	r.expect("b OK")
}

func TestListHostile(t *testing.T) {
	e := newEnv(t, nil)
	bob := e.addUser(t, "bob@example.test")
	if _, err := e.st.CreateMailbox(t.Context(), bob.ID, "BobSecret", ""); err != nil {
		t.Fatal(err)
	}
	r := e.raw(t, true)
	r.send("a LIST \"\" \"" + strings.Repeat("*a", 16) + "b\"\r\n")
	r.expect("a OK")
	r.send("b LIST \"\" \"" + strings.Repeat("%", 100) + "\"\r\n")
	r.expect("b BAD")
	// Another user's names are never visible or reachable.
	r.send("c LIST \"\" *\r\n")
	if l := r.expect("c OK"); contains(l, "BobSecret") {
		t.Fatalf("LIST shows another user's mailbox: %q", l)
	}
	for _, cmd := range []string{"SELECT BobSecret", "STATUS BobSecret (MESSAGES)", "DELETE BobSecret", "RENAME BobSecret Mine", "APPEND BobSecret {1+}\r\nx", "SUBSCRIBE BobSecret"} {
		r.send("d " + cmd + "\r\n")
		r.expect("d NO")
	}
	if _, err := e.st.Mailbox(t.Context(), bob.ID, "BobSecret"); err != nil {
		t.Fatal("another user's mailbox was touched")
	}
}

// STARTTLS: bytes pipelined after it are dropped, never run.
func TestStartTLS(t *testing.T) {
	cfg, err := tlsutil.Load("", "", t.TempDir(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) { c.TLS = cfg; c.Auth = testAuth(c.Store, false) })
	r := e.raw(t, false)
	r.send("a CAPABILITY\r\n")
	if l := r.expect("a OK"); !strings.Contains(l[0], "STARTTLS") || !strings.Contains(l[0], "LOGINDISABLED") {
		t.Fatalf("CAPABILITY: %q", l)
	}
	r.send("b STARTTLS\r\nc LOGIN alice@example.test x\r\n")
	r.expect("b OK")
	if _, err := r.br.Peek(1); err == nil && r.br.Buffered() > 0 {
		t.Fatal("response to a pipelined command")
	}
	// The pipelined bytes hit the handshake, which fails; a proper
	// client gets TLS.
	r2 := e.raw(t, false)
	r2.send("b STARTTLS\r\n")
	r2.expect("b OK")
	tc := tls.Client(r2.c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	r2.c = tc
	r2.br.Reset(tc)
	r2.send("c CAPABILITY\r\n")
	if l := r2.expect("c OK"); strings.Contains(l[0], "STARTTLS") || strings.Contains(l[0], "LOGINDISABLED") || !strings.Contains(l[0], "AUTH=PLAIN") {
		t.Fatalf("CAPABILITY after TLS: %q", l)
	}
	r2.send("d LOGIN alice@example.test \"" + testPassword + "\"\r\n")
	r2.expect("d OK")
}

// Implicit TLS (port 993) with go-imap's client.
func TestServeTLS(t *testing.T) {
	cfg, err := tlsutil.Load("", "", t.TempDir(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) { c.TLS = cfg; c.Auth = testAuth(c.Store, false) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.ServeTLS(l)
	c, err := imapclient.DialTLS(l.Addr().String(), &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.test", testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
}

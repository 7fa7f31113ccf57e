package smtpd

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestSmuggling sends bodies with "\n.\r\n" and "\r\n.\n" followed by a
// second transaction. A server that took either as the end of data would
// deliver the smuggled message to bob.
func TestSmuggling(t *testing.T) {
	for name, sep := range map[string]string{
		"LF.CRLF": "\n.\r\n",
		"CRLF.LF": "\r\n.\n",
		"LF.LF":   "\n.\n",
		"CR.CR":   "\r.\r",
	} {
		t.Run(name, func(t *testing.T) {
			e := startEnv(t, nil)
			alice := e.addUser(t, "alice@example.test", "pw")
			bob := e.addUser(t, "bob@example.test", "pw")
			rc := dialRaw(t, e.mxAddr)
			rc.send("EHLO raw.test\r\n")
			rc.expect("250 ")
			rc.send("MAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
			rc.expect("250 ")
			rc.expect("250 ")
			rc.expect("354 ")
			rc.send("Subject: outer\r\n\r\nhello" + sep +
				"MAIL FROM:<ceo@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n" +
				"Subject: smuggled\r\n\r\nwire the money\r\n.\r\n")
			// One reply for the one message there is: refused for its bare
			// line ending. No 250 for a MAIL, RCPT or second DATA.
			rc.expect("550 5.6.0")
			rc.send("NOOP\r\n")
			rc.expect("250 ")
			if n := len(inbox(t, e.st, bob)); n != 0 {
				t.Fatalf("smuggled message delivered to bob (%d messages)", n)
			}
			if n := len(inbox(t, e.st, alice)); n != 0 {
				t.Fatalf("message with a bare line ending stored for alice")
			}
			// The same session can still deliver a clean message.
			rc.send("MAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
			rc.expect("250 ")
			rc.expect("250 ")
			rc.expect("354 ")
			rc.send("Subject: clean\r\n\r\nok\r\n.\r\n")
			rc.expect("250 ")
			if n := len(inbox(t, e.st, alice)); n != 1 {
				t.Fatalf("alice has %d messages, want 1", n)
			}
		})
	}
}

func TestBareLineEndingInBDAT(t *testing.T) {
	e := startEnv(t, nil)
	alice := e.addUser(t, "alice@example.test", "pw")
	rc := dialRaw(t, e.mxAddr)
	rc.send("EHLO raw.test\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\n")
	rc.expect("250 ")
	rc.expect("250 ")
	rc.expect("250 ")
	body := "Subject: x\r\n\r\nbare\nline\r\n"
	rc.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(body), body))
	rc.expect("550 5.6.0")
	rc.send("NOOP\r\n")
	rc.expect("250 ")
	if n := len(inbox(t, e.st, alice)); n != 0 {
		t.Fatal("message with a bare LF stored")
	}
}

func TestBDAT(t *testing.T) {
	e := startEnv(t, nil)
	alice := e.addUser(t, "alice@example.test", "pw")
	rc := dialRaw(t, e.mxAddr)
	rc.send("EHLO raw.test\r\n")
	if r := rc.expect("250 "); !strings.Contains(r, "CHUNKING") {
		t.Fatalf("CHUNKING not offered: %q", r)
	}
	// Chunks may split anywhere, even inside CRLF; a chunk may hold what
	// would end DATA, and lines that start with a dot are not stuffed.
	parts := []string{"From: x@remote.test\r\nSubject: chunked\r", "\n\r\n.\r\n.leading dot\r\n", "", "last line\r\n"}
	rc.send("MAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\n")
	rc.expect("250 ")
	rc.expect("250 ")
	for i, p := range parts {
		last := ""
		if i == len(parts)-1 {
			last = " LAST"
		}
		rc.send(fmt.Sprintf("BDAT %d%s\r\n%s", len(p), last, p))
		rc.expect("250 ")
	}
	msgs := inbox(t, e.st, alice)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	splitTrace(t, msgs[0].Raw, "x@remote.test", strings.Join(parts, ""))

	// BDAT over the size limit is refused and the session goes on.
	rc.send("MAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\n")
	rc.expect("250 ")
	rc.expect("250 ")
	big := strings.Repeat(strings.Repeat("a", 78)+"\r\n", (1<<20)/80+1)
	rc.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(big), big))
	rc.expect("552 5.3.4")
	rc.send("NOOP\r\n")
	rc.expect("250 ")

	// RSET in the middle of a BDAT transfer abandons it.
	rc.send("MAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nBDAT 5\r\nabcde")
	rc.expect("250 ")
	rc.expect("250 ")
	rc.expect("250 ")
	rc.send("RSET\r\n")
	rc.expect("250 ")
	if n := len(inbox(t, e.st, alice)); n != 1 {
		t.Fatalf("%d messages after the refused and abandoned ones, want 1", n)
	}
}

// TestSTARTTLSInjection: a command pipelined after STARTTLS in the same
// packet (CVE-2011-0411) must not run inside the TLS session.
func TestSTARTTLSInjection(t *testing.T) {
	e := startEnv(t, nil)
	e.addUser(t, "alice@example.test", "pw")
	rc := dialRaw(t, e.mxAddr)
	rc.send("EHLO raw.test\r\n")
	rc.expect("250 ")
	rc.send("STARTTLS\r\nMAIL FROM:<injected@remote.test>\r\n")
	rc.expect("220 ")
	tc := tls.Client(rc.Conn, e.clientTLS)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	in := &rawConn{t: t, Conn: tc}
	in.r = newReader(tc)
	in.send("EHLO raw.test\r\n")
	if r := in.expect("250 "); strings.Contains(r, "STARTTLS") {
		t.Errorf("STARTTLS offered again inside TLS: %q", r)
	}
	// Had the injected MAIL run, this RCPT would be accepted.
	in.send("RCPT TO:<alice@example.test>\r\n")
	in.expect("502 5.5.1")
}

func TestGarbageCommands(t *testing.T) {
	e := startEnv(t, nil)
	rc := dialRaw(t, e.mxAddr)
	rc.send("EHLO raw.test\r\n")
	rc.expect("250 ")
	rc.send("XYZZY\r\n")
	rc.expect("50")
	rc.send("MAIL FROM:no-brackets\r\n")
	rc.expect("501 5.5.2")
	rc.send("RCPT TO:<a@example.test>\r\n")
	rc.expect("502 5.5.1")
	rc.send("\x00\xff\xfe\r\n")
	rc.expect("50")
	rc.send("NOOP\r\n")
	rc.expect("250 ")
	// Past the error cap the server closes the connection.
	// One write: the server may close before it has read them all.
	rc.send(strings.Repeat("GARBAGE\r\n", 5))
	sawClose := false
	for i := 0; i < 8; i++ {
		line, err := rc.r.ReadString('\n')
		if err == io.EOF {
			sawClose = true
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "500 5.5.1 Too many errors") {
			sawClose = rc.closed()
			break
		}
	}
	if !sawClose {
		t.Fatal("connection not closed after repeated garbage")
	}
}

func TestTooManyRefusedRecipients(t *testing.T) {
	e := startEnv(t, func(c *Config) { c.MaxErrors = 5 })
	rc := dialRaw(t, e.mxAddr)
	rc.send("EHLO raw.test\r\nMAIL FROM:<x@remote.test>\r\n")
	rc.expect("250 ")
	rc.expect("250 ")
	for i := 0; i < 4; i++ {
		rc.send(fmt.Sprintf("RCPT TO:<guess%d@example.test>\r\n", i))
		rc.expect("550 5.1.1")
	}
	rc.send("RCPT TO:<guess9@example.test>\r\n")
	rc.expect("421 4.7.0")
	if !rc.closed() {
		t.Fatal("connection open after the error cap")
	}
}

func TestOverlongLines(t *testing.T) {
	e := startEnv(t, nil)
	e.addUser(t, "alice@example.test", "pw")
	rc := dialRaw(t, e.mxAddr)
	rc.send("EHLO " + strings.Repeat("a", 3000) + "\r\n")
	rc.expect("500 5.4.0")
	if !rc.closed() {
		t.Fatal("connection open after an over-long command line")
	}
	rc = dialRaw(t, e.mxAddr)
	rc.send("EHLO raw.test\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
	rc.expect("250 ")
	rc.expect("250 ")
	rc.expect("250 ")
	rc.expect("354 ")
	rc.send("Subject: x\r\n\r\n" + strings.Repeat("b", 3000) + "\r\nMAIL FROM:<a@b.test>\r\n.\r\n")
	rc.expect("554 5.6.0")
	if !rc.closed() {
		t.Fatal("connection open after an over-long DATA line")
	}
}

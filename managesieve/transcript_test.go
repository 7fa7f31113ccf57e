package managesieve

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"postern/sieve"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// The transcripts of RFC 5804, against the server.

func TestGreetingAndCapability(t *testing.T) {
	e := newEnv(t)
	conn := e.dial()
	resp := conn.expect("Capability", "OK", `"IMPLEMENTATION" "Postern"`, `"SASL" "PLAIN LOGIN"`,
		`"SIEVE" "fileinto reject ereject envelope`, `"STARTTLS"`, `"VERSION" "1.0"`, `"MAXREDIRECTS" "4"`, `"UNAUTHENTICATE"`)
	if strings.Contains(resp, "OWNER") {
		t.Errorf("OWNER before login:\n%s", resp)
	}
	for _, ext := range []string{"vacation-seconds", "imap4flags", "include", "duplicate", "comparator-i;ascii-numeric"} {
		if !strings.Contains(resp, ext) {
			t.Errorf("SIEVE lacks %s", ext)
		}
	}
	conn.login("alice@example.test", "secret one")
	resp = conn.expect("CAPABILITY", "OK", `"OWNER" "alice@example.test"`)
	if strings.Contains(resp, "STARTTLS") {
		t.Errorf("STARTTLS after login:\n%s", resp)
	}
}

// RFC 5804 §2.1: PLAIN with an initial response; three failures end the
// session with BYE.
func TestAuthenticateFailures(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.expect(`Authenticate "PLAIN" "`+plain("alice@example.test", "wrong")+`"`, "NO")
	c.expect(`Authenticate "PLAIN" "`+plain("alice@example.test", "wrong again")+`"`, "NO")
	c.expect(`Authenticate "PLAIN" "`+plain("alice@example.test", "still wrong")+`"`, `BYE "Too many failed authentication attempts"`)
	if _, err := c.r.ReadByte(); err != io.EOF {
		t.Fatalf("connection still open after BYE: %v", err)
	}
}

func TestAuthenticateExchanges(t *testing.T) {
	e := newEnv(t)
	// PLAIN without an initial response: an empty challenge first.
	c := e.dial()
	c.send("AUTHENTICATE \"PLAIN\"\r\n")
	if line, _ := c.r.ReadString('\n'); line != "\"\"\r\n" {
		t.Fatalf("challenge %q", line)
	}
	c.send(literal(plain("bob@example.test", "secret two")) + "\r\n")
	if resp := c.response(); !strings.HasPrefix(resp, "OK") {
		t.Fatalf("PLAIN: %s", resp)
	}
	c.expect("AUTHENTICATE \"PLAIN\" \""+plain("bob@example.test", "secret two")+"\"", "NO", "reauthentication")

	// LOGIN: "Username:", then "Password:".
	c = e.dial()
	c.send("AUTHENTICATE \"LOGIN\"\r\n")
	if line, _ := c.r.ReadString('\n'); line != "\""+b64("Username:")+"\"\r\n" {
		t.Fatalf("LOGIN challenge %q", line)
	}
	c.send("\"" + b64("alice@example.test") + "\"\r\n")
	if line, _ := c.r.ReadString('\n'); line != "\""+b64("Password:")+"\"\r\n" {
		t.Fatalf("LOGIN challenge %q", line)
	}
	c.send("\"" + b64("secret one") + "\"\r\n")
	if resp := c.response(); !strings.HasPrefix(resp, "OK") {
		t.Fatalf("LOGIN: %s", resp)
	}

	// "*" cancels.
	c = e.dial()
	c.send("AUTHENTICATE \"PLAIN\"\r\n")
	c.r.ReadString('\n')
	c.send("\"*\"\r\n")
	if resp := c.response(); !strings.HasPrefix(resp, "NO") {
		t.Fatalf("cancel: %s", resp)
	}
	c.expect(`AUTHENTICATE "DIGEST-MD5"`, "NO", "unsupported SASL mechanism")
	c.expect(`AUTHENTICATE "PLAIN" "not base64!"`, "NO")
	c.expect(`AUTHENTICATE "PLAIN" "`+b64("no nuls")+`"`, "NO", "malformed")
	c.expect(`AUTHENTICATE "PLAIN" "`+b64("other\x00alice@example.test\x00secret one")+`"`, "NO", "authorization identity")
	c.expect(`AUTHENTICATE "PLAIN" "`+plain("alice@example.test", "wrong")+`"`, "BYE")
}

// RFC 5804 §2.2: STARTTLS, then the capabilities again without STARTTLS.
func TestStarttls(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PlaintextOnLoopback = false })
	c := e.dial()
	c.expect("CAPABILITY", "OK", `"SASL" ""`, `"STARTTLS"`)
	c.expect(`AUTHENTICATE "PLAIN" "`+plain("alice@example.test", "secret one")+`"`, "NO (ENCRYPT-NEEDED)")
	c.expect("StartTls", "OK")
	tc := tls.Client(c.conn, e.clientTLS)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	resp := c.response()
	if !strings.Contains(resp, `"SASL" "PLAIN LOGIN"`) || strings.Contains(resp, "STARTTLS") || !strings.HasPrefix(resp[strings.LastIndex(resp, "\n")+1:], "OK") {
		t.Fatalf("capabilities after STARTTLS:\n%s", resp)
	}
	c.expect("STARTTLS", "NO")
	c.login("alice@example.test", "secret one")
	c.expect("LISTSCRIPTS", "OK")
}

// Implicit TLS.
func TestServeTLS(t *testing.T) {
	e := newEnv(t)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := raw.Addr().String()
	go e.srv.ServeTLS(raw)
	conn, err := tls.Dial("tcp", addr, e.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	if resp := c.response(); strings.Contains(resp, "STARTTLS") || !strings.Contains(resp, "PLAIN") {
		t.Fatalf("greeting over TLS:\n%s", resp)
	}
	c.login("alice@example.test", "secret one")
}

// RFC 5804 §2.5-2.13, with the RFC's scripts.
func TestScriptCommands(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxScripts = 4 })
	c := e.dial()
	c.expect("LISTSCRIPTS", "NO", "needs AUTHENTICATE")
	c.login("alice@example.test", "secret one")

	c.expect(`HAVESPACE "myscript" 999999999`, "NO (QUOTA/MAXSIZE)")
	c.expect(`HAVESPACE "foobar" 435`, "OK")

	resp := c.expect(`Putscript "foo" `+literal("#comment\r\nInvalidSieveCommand\r\n"), "NO")
	if !strings.Contains(resp, "line 2, column 1") {
		t.Errorf("no line number: %s", resp)
	}
	if _, ok := e.store.get("alice@example.test", "foo"); ok {
		t.Fatal("an invalid script was stored")
	}
	// The RFC's own example uses envelope without require "envelope",
	// which RFC 5228 §5.4 requires: refused, with the reason.
	rfcScript := "require [\"fileinto\"];\r\n\r\nif envelope :contains \"to\" \"tmartin+sent\" {\r\n  fileinto \"INBOX.sent\";\r\n}"
	c.expect(`Putscript "mysievescript" `+literal(rfcScript), "NO", `needs require \"envelope\"`)
	good := strings.Replace(rfcScript, `["fileinto"]`, `["fileinto", "envelope"]`, 1)
	c.expect(`Putscript "mysievescript" `+literal(good), "OK")
	if got, _ := e.store.get("alice@example.test", "mysievescript"); got != good {
		t.Fatalf("stored %q", got)
	}
	forwards := "redirect \"111@example.net\";\r\n\r\nif size :under 10k {\r\n    redirect \"mobile@cell.example.com\";\r\n}\r\n"
	c.expect(`Putscript "myforwards" `+literal(forwards), "OK")
	c.expect(`PUTSCRIPT "empty" ""`, "NO", "empty")
	c.expect(`CheckScript `+literal("#comment\r\nInvalidSieveCommand\r\n"), "NO", "line 2")
	c.expect(`CHECKSCRIPT "keep;"`, "OK")

	c.expect(`Setactive "vacationscript"`, "NO (NONEXISTENT)")
	c.expect(`Setactive "mysievescript"`, "OK")
	if e.store.activeOf("alice@example.test") != "mysievescript" {
		t.Fatal("not active")
	}
	resp = c.expect("Listscripts", "OK", "\"myforwards\"\n", `"mysievescript" ACTIVE`)
	if strings.Count(resp, "ACTIVE") != 1 {
		t.Errorf("ACTIVE more than once:\n%s", resp)
	}
	c.expect(`Getscript "mysievescript"`, "OK", "{"+good+"}")
	c.expect(`Getscript "nothere"`, "NO (NONEXISTENT)")
	c.expect(`Deletescript "mysievescript"`, "NO (ACTIVE)")
	c.expect(`Renamescript "mysievescript" "main"`, "OK")
	if e.store.activeOf("alice@example.test") != "main" {
		t.Fatal("rename lost the active script")
	}
	c.expect(`Renamescript "main" "myforwards"`, "NO (ALREADYEXISTS)")
	c.expect(`Renamescript "baz" "bar"`, "NO (NONEXISTENT)")
	c.expect(`Setactive ""`, "OK")
	c.expect(`Setactive ""`, "OK")
	c.expect(`Deletescript "main"`, "OK")
	c.expect(`Deletescript "main"`, "NO (NONEXISTENT)")

	// Quota on the number of scripts.
	for _, n := range []string{"a", "b", "c"} {
		c.expect(`PUTSCRIPT "`+n+`" "keep;"`, "OK")
	}
	c.expect(`PUTSCRIPT "d" "keep;"`, "NO (QUOTA/MAXSCRIPTS)")
	c.expect(`HAVESPACE "d" 10`, "NO (QUOTA/MAXSCRIPTS)")
	c.expect(`PUTSCRIPT "a" "discard;"`, "OK") // replacing is no new script
	c.expect(`HAVESPACE "a" 10`, "OK")

	c.expect("NOOP", `OK "NOOP completed"`)
	c.expect(`NOOP "STARTTLS-SYNC-42"`, `OK (TAG "STARTTLS-SYNC-42") "Done"`)
	c.expect("UNAUTHENTICATE", "OK")
	c.expect("LISTSCRIPTS", "NO")
	c.expect("UNAUTHENTICATE", "NO")
	c.login("bob@example.test", "secret two")
	if resp := c.expect("LISTSCRIPTS", "OK"); strings.Contains(resp, "myforwards") {
		t.Fatalf("bob sees alice's scripts:\n%s", resp)
	}
	c.expect("Logout", "OK")
	if _, err := c.r.ReadByte(); err != io.EOF {
		t.Fatalf("connection open after LOGOUT: %v", err)
	}
}

// Script names (RFC 5804 §1.6).
func TestScriptNames(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxNameLength = 10 })
	c := e.dial()
	c.login("alice@example.test", "secret one")
	c.expect(`PUTSCRIPT "éàü" "keep;"`, "OK")
	c.expect(`LISTSCRIPTS`, "OK", `"éàü"`)
	c.expect(`PUTSCRIPT "tencharsok" "keep;"`, "OK")
	c.expect(`PUTSCRIPT "elevenchars" "keep;"`, "NO", "longer than 10")
	for _, bad := range []string{`""`, "{3+}\r\na\x01b", "{2+}\r\n\xff\xfe", "\"a/b\"", "{4+}\r\na\u2028", "{3+}\r\na\r\n"} {
		c.expect("PUTSCRIPT "+bad+` "keep;"`, "NO", "invalid script name")
	}
	c.expect(`GETSCRIPT ""`, "NO")
	c.expect(`SETACTIVE "a/b"`, "NO", "invalid script name")
}

// A failing store answers TRYLATER.
func TestStoreFailure(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.login("alice@example.test", "secret one")
	e.store.mu.Lock()
	e.store.fail = io.ErrUnexpectedEOF
	e.store.mu.Unlock()
	c.expect(`PUTSCRIPT "x" "keep;"`, "NO (TRYLATER)")
	c.expect(`LISTSCRIPTS`, "NO (TRYLATER)")
}

// The SIEVE capability follows the extensions the checker allows.
func TestSieveCapabilityFollowsOptions(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Sieve = &sieve.Options{Extensions: []string{"fileinto"}, MaxRedirects: 2} })
	c := e.dial()
	c.expect("CAPABILITY", "OK", `"SIEVE" "fileinto"`, `"MAXREDIRECTS" "2"`)
	c.login("alice@example.test", "secret one")
	c.expect(`CHECKSCRIPT "require \"vacation\";"`, "NO", "unsupported extension")
}

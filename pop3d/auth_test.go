package pop3d

import (
	"crypto/tls"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"postern/auth"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestUserPassWrongPassword(t *testing.T) {
	e := newEnv(t)
	e.addUser("user@example.test", "secret")
	c := e.dial()
	c.do("USER user@example.test")
	if got := c.doErr("PASS wrong"); !strings.HasPrefix(got, "[AUTH]") {
		t.Errorf("wrong password: %q, want [AUTH]", got)
	}
	// RFC 1939 §7: after a failed PASS the client starts again with USER.
	c.doErr("PASS secret")
	c.do("USER nobody@example.test")
	if got := c.doErr("PASS secret"); !strings.HasPrefix(got, "[AUTH]") {
		t.Errorf("unknown user: %q", got)
	}
	c.login("user@example.test", "secret")
	c.do("STAT")
}

func TestPasswordWithSpaces(t *testing.T) {
	e := newEnv(t)
	e.addUser("user@example.test", "correct horse battery")
	c := e.dial()
	c.login("user@example.test", "correct horse battery")
}

func TestAuthPlain(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	e.deliver(acct, testMessage(1))

	// With an initial response (RFC 5034 §4).
	c := e.dial()
	if got := c.do("AUTH PLAIN %s", b64("\x00user@example.test\x00secret")); !strings.Contains(got, "1 messages") {
		t.Errorf("AUTH PLAIN reply %q", got)
	}
	c.do("QUIT")

	// Without: the server sends an empty challenge "+ ".
	c = e.dial()
	c.send("AUTH PLAIN")
	if l, _ := c.tp.ReadLine(); l != "+ " {
		t.Fatalf("challenge %q, want \"+ \"", l)
	}
	c.send("%s", b64("user@example.test\x00user@example.test\x00secret"))
	c.ok()
	c.do("QUIT")

	// Wrong password, authzid of another user, cancel, garbage.
	c = e.dial()
	if got := c.doErr("AUTH PLAIN %s", b64("\x00user@example.test\x00nope")); !strings.HasPrefix(got, "[AUTH]") {
		t.Errorf("bad password: %q", got)
	}
	if got := c.doErr("AUTH PLAIN %s", b64("other@example.test\x00user@example.test\x00secret")); !strings.HasPrefix(got, "[AUTH]") {
		t.Errorf("authzid: %q", got)
	}
	c.doErr("AUTH PLAIN %s", b64("no separators"))
	c.doErr("AUTH PLAIN !!!notbase64!!!")
	c.send("AUTH PLAIN")
	c.tp.ReadLine()
	c.send("*")
	if got := c.fail(); !strings.Contains(got, "cancelled") {
		t.Errorf("cancel: %q", got)
	}
	c.send("AUTH PLAIN")
	c.tp.ReadLine()
	c.send("%%%%garbage%%%%")
	c.fail()
	c.doErr("AUTH CRAM-MD5")
	c.doErr("AUTH PLAIN a b c")
	// "=" is an empty initial response, which PLAIN refuses.
	c.doErr("AUTH PLAIN =")
	// The session is still usable.
	c.do("AUTH PLAIN %s", b64("\x00user@example.test\x00secret"))
	c.do("STAT")
}

func TestAuthLogin(t *testing.T) {
	e := newEnv(t)
	e.addUser("user@example.test", "secret")
	c := e.dial()
	c.send("auth login")
	if l, _ := c.tp.ReadLine(); l != "+ "+b64("Username:") {
		t.Fatalf("first challenge %q", l)
	}
	c.send("%s", b64("user@example.test"))
	if l, _ := c.tp.ReadLine(); l != "+ "+b64("Password:") {
		t.Fatalf("second challenge %q", l)
	}
	c.send("%s", b64("secret"))
	c.ok()
	c.do("QUIT")

	// With the user name as initial response.
	c = e.dial()
	c.send("AUTH LOGIN %s", b64("user@example.test"))
	if l, _ := c.tp.ReadLine(); l != "+ "+b64("Password:") {
		t.Fatalf("challenge %q", l)
	}
	c.send("%s", b64("wrong"))
	if got := c.fail(); !strings.HasPrefix(got, "[AUTH]") {
		t.Errorf("bad password: %q", got)
	}
}

func TestAuthListsMechanisms(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	_, mechs := c.multi("AUTH")
	if !slices.Equal(mechs, []string{"PLAIN", "LOGIN"}) {
		t.Errorf("AUTH list %q", mechs)
	}
}

func TestPlaintextRefusedWithoutTLS(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Auth = testAuth(c.Store, false, c.Logger, auth.LimiterOptions{}) })
	e.addUser("user@example.test", "secret")
	c := e.dial()
	_, caps := c.multi("CAPA")
	if slices.Contains(caps, "USER") || slices.Contains(caps, "SASL PLAIN LOGIN") || !slices.Contains(caps, "STLS") {
		t.Errorf("CAPA before STLS: %q", caps)
	}
	for _, cmd := range []string{"USER user@example.test", "AUTH PLAIN " + b64("\x00user@example.test\x00secret"), "AUTH LOGIN"} {
		if got := c.doErr("%s", cmd); !strings.Contains(got, "STLS") || !strings.HasPrefix(got, "[AUTH]") {
			t.Errorf("%s in plaintext: %q", cmd, got)
		}
	}
	// After STLS the same logins work, and CAPA changes (RFC 2595 §4).
	c.do("STLS")
	tc := tls.Client(c.conn, e.clientTLS)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c2 := &client{t: t, conn: tc}
	c2.tp = newTextproto(tc)
	_, caps = c2.multi("CAPA")
	if !slices.Contains(caps, "USER") || slices.Contains(caps, "STLS") {
		t.Errorf("CAPA after STLS: %q", caps)
	}
	c2.doErr("STLS")
	c2.login("user@example.test", "secret")
	c2.do("QUIT")

	// Implicit TLS allows passwords too.
	c3 := e.dialTLS()
	c3.do("AUTH PLAIN %s", b64("\x00user@example.test\x00secret"))
	c3.do("QUIT")
}

func TestSTLSDiscardsPipelinedCommands(t *testing.T) {
	e := newEnv(t)
	e.addUser("user@example.test", "secret")
	c := e.dial()
	// A man in the middle could append commands behind STLS in the clear;
	// RFC 2595 §4 wants them ignored.
	if _, err := c.conn.Write([]byte("STLS\r\nUSER user@example.test\r\nPASS secret\r\n")); err != nil {
		t.Fatal(err)
	}
	c.ok()
	tc := tls.Client(c.conn, e.clientTLS)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c2 := &client{t: t, conn: tc, tp: newTextproto(tc)}
	// Were the injected commands run, this PASS would come after a USER.
	c2.doErr("PASS secret")
	c2.doErr("STAT")
	c2.login("user@example.test", "secret")
}

func TestSTLSWithoutTLSConfig(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.TLS = nil })
	c := e.dial()
	_, caps := c.multi("CAPA")
	if slices.Contains(caps, "STLS") {
		t.Errorf("CAPA offers STLS without TLS: %q", caps)
	}
	c.doErr("STLS")
}

func TestLockoutAfterFailures(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Auth = testAuth(c.Store, true, c.Logger, auth.LimiterOptions{Failures: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})
	})
	e.addUser("user@example.test", "secret")
	c := e.dial()
	for range 3 {
		c.do("USER user@example.test")
		c.doErr("PASS wrong")
	}
	c.do("USER user@example.test")
	if got := c.doErr("PASS secret"); !strings.HasPrefix(got, "[SYS/TEMP]") || !strings.Contains(got, "locked out") {
		t.Errorf("login while locked out: %q", got)
	}
	if got := c.doErr("AUTH PLAIN %s", b64("\x00user@example.test\x00secret")); !strings.Contains(got, "locked out") {
		t.Errorf("AUTH while locked out: %q", got)
	}
}

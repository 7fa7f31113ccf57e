package smtpd

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// TestReadTimeoutMidData: a timeout in the middle of a DATA body ends the
// connection with a temporary reply; the rest of the body is never read as
// commands (go-smtp's deadline covers the whole body).
func TestReadTimeoutMidData(t *testing.T) {
	e := startEnv(t, func(c *Config) { c.ReadTimeout = 300 * time.Millisecond })
	alice := e.addUser(t, "alice@example.test", "pw")
	rc := dialRaw(t, e.mxAddr)
	rc.send("EHLO raw.test\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
	rc.expect("250 ")
	rc.expect("250 ")
	rc.expect("250 ")
	rc.expect("354 ")
	rc.send("Subject: slow\r\n\r\npart one\r\n")
	time.Sleep(600 * time.Millisecond)
	rc.send("RSET\r\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: injected\r\n\r\nx\r\n.\r\n")
	rest, _ := io.ReadAll(rc.r)
	if !bytes.HasPrefix(rest, []byte("421 4.4.2")) {
		t.Fatalf("after a timeout mid-DATA got %q, want a 421 4.4.2 first", rest)
	}
	if bytes.Contains(rest, []byte("250")) {
		t.Fatalf("commands after the timeout were executed: %q", rest)
	}
	if n := len(inbox(t, e.st, alice)); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
}

// TestShutdownClosesIdleAndStopsAccepting: at shutdown a client waiting
// between commands is told 421 4.3.2 before the connection closes (RFC
// 5321 §3.8), on plain connections, after STARTTLS and on implicit TLS.
func TestShutdownClosesIdleAndStopsAccepting(t *testing.T) {
	e := startEnv(t, nil)
	e.addUser(t, "alice@example.test", "pw")
	idle := dialRaw(t, e.mxAddr)
	idle.send("EHLO raw.test\r\n")
	idle.expect("250 ")
	greeted := dialRaw(t, e.mxAddr) // said nothing yet
	mid := dialRaw(t, e.mxAddr)     // in a transaction, before DATA
	mid.send("EHLO raw.test\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\n")
	mid.expect("250 ")
	mid.expect("250 ")
	mid.expect("250 ")
	startTLS := dialRawStartTLS(t, e.subAddr, e.clientTLS)
	implicit := dialRawTLS(t, e.subTLSAddr, e.clientTLS)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.mx.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.sub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("Shutdown waited for an idle connection until its context ended")
	}
	for name, c := range map[string]*rawConn{"idle": idle, "greeted": greeted, "mid-transaction": mid, "STARTTLS": startTLS, "implicit TLS": implicit} {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if r := c.reply(); !strings.HasPrefix(r, "421 4.3.2 ") {
			t.Errorf("%s client got %q at shutdown, want 421 4.3.2", name, r)
		}
		if !c.closed() {
			t.Errorf("%s connection still open after Shutdown", name)
		}
	}
	if c, err := dialNoFail(e.mxAddr); err == nil {
		c.Close()
		t.Fatal("new connection accepted after Shutdown")
	}
}

// FuzzStrictLines compares strictLines with a direct statement of the rule:
// the input is refused exactly when it has a CR not followed by LF or an LF
// not preceded by CR; accepted input passes through unchanged, however the
// reads are split.
func FuzzStrictLines(f *testing.F) {
	for _, s := range []string{"", "a\r\n", "a\n", "a\r", "\r\r\n", "x\r\n.\r\n", "\n.\r\n", "\r\n.\n"} {
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, s string, chunk uint8) {
		bad := false
		for i := 0; i < len(s); i++ {
			if s[i] == '\r' && (i+1 == len(s) || s[i+1] != '\n') || s[i] == '\n' && (i == 0 || s[i-1] != '\r') {
				bad = true
			}
		}
		r := &strictLines{r: &chunkReader{s: s, n: int(chunk%7) + 1}}
		got, err := io.ReadAll(r)
		if bad != (err == errBareNewline) {
			t.Fatalf("%q: err = %v, bare line ending = %v", s, err, bad)
		}
		if !bad && string(got) != s {
			t.Fatalf("%q passed through as %q", s, got)
		}
	})
}

type chunkReader struct {
	s string
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	n := min(c.n, len(p), len(c.s))
	copy(p, c.s[:n])
	c.s = c.s[n:]
	return n, nil
}

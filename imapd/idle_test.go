package imapd

import (
	"strings"
	"testing"
	"time"
)

// An idle session is woken by each change and reads on: a DONE line split
// around the updates is still one DONE, whatever arrived between its
// parts, and the connection keeps working after it.
func TestIdleWakesAndKeepsPartialLine(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\ni IDLE\r\n")
	r.expect("+ ")
	for i := range 3 {
		e.deliver(t, "INBOX", "Subject: one\r\n\r\nx\r\n")
		r.expect("* " + string(rune('1'+i)) + " EXISTS")
	}
	r.send("DO")
	e.deliver(t, "INBOX", "Subject: four\r\n\r\nx\r\n")
	r.expect("* 4 EXISTS")
	r.send("N")
	e.deliver(t, "INBOX", "Subject: five\r\n\r\nx\r\n")
	r.expect("* 5 EXISTS")
	r.send("E\r\n")
	r.expect("i OK")
	r.send("n NOOP\r\n")
	r.expect("n OK")
	// Anything but DONE is refused.
	r.send("j IDLE\r\n")
	r.expect("+ ")
	e.deliver(t, "INBOX", "Subject: six\r\n\r\nx\r\n")
	r.expect("* 6 EXISTS")
	r.send("NOT DONE\r\n")
	r.expect("j BAD")
}

// An idle session that stays silent past the idle timeout is logged out,
// even when changes woke it meanwhile.
func TestIdleTimeoutDespiteWakes(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.IdleTimeout = 2 * time.Second })
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\ni IDLE\r\n")
	r.expect("+ ")
	e.deliver(t, "INBOX", "Subject: one\r\n\r\nx\r\n")
	r.expect("* 1 EXISTS")
	lines := r.expect("* BYE")
	if !strings.Contains(lines[len(lines)-1], "Autologout") || !r.closed() {
		t.Fatalf("after the idle timeout: %q", lines)
	}
}

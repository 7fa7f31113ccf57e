package imapd

import (
	"strings"
	"testing"
)

// RFC 4959 §3: "=" is a zero-length initial response, which the mechanism
// must see as such; it is not the same as sending no initial response, so
// the server must not ask for one with a continuation.
func TestSASLIREmptyInitialResponse(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw(t, false)
	r.send("a AUTHENTICATE PLAIN =\r\n")
	if l := r.line(); !strings.HasPrefix(l, "a NO") {
		t.Fatalf("AUTHENTICATE PLAIN = answered %q, want a tagged NO (an empty PLAIN response is malformed)", l)
	}
	r.send("b AUTHENTICATE LOGIN =\r\n")
	if l := r.line(); !strings.HasPrefix(l, "b NO") {
		t.Fatalf("AUTHENTICATE LOGIN = answered %q, want a tagged NO (empty username)", l)
	}
	// The connection is still in step and can log in.
	r.send("c AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABjb3JyZWN0IGhvcnNlIGJhdHRlcnk=\r\n")
	r.expect("c OK")
}

package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Lockouts are fair, listed and lifted, against a real "postern serve"
// with clients at 127.0.0.2 (guessing) and 127.0.0.1 (the users):
//   - failures from one address to one account lock that address out of
//     that account only: the account works from another address, another
//     account from that address;
//   - failures from one address to many accounts lock the whole address;
//   - "postern auth blocked", another process, lists the locks, and
//     "postern auth unblock" lifts one in the running server.
func TestLockoutAndUnblock(t *testing.T) {
	users := map[string]string{"alice@example.test": "alice's password", "bob@example.test": "bob's password"}
	s := startServed(t, "[auth]\nlockout_failures = 3\nlockout_failures_per_address = 6\n", users)
	login := func(from, user, pass string) string {
		c := s.dial(t, "imap", from)
		return c.do("a LOGIN "+user+` "`+pass+`"`, "a ")
	}
	for range 3 {
		if got := login("127.0.0.2", "alice@example.test", "old password"); !strings.HasPrefix(got, "a NO [AUTHENTICATIONFAILED]") {
			t.Fatalf("bad password: %q", got)
		}
	}
	if got := login("127.0.0.2", "alice@example.test", users["alice@example.test"]); !strings.HasPrefix(got, "a NO [UNAVAILABLE]") ||
		!strings.Contains(got, "alice@example.test from 127.0.0.2") {
		t.Fatalf("locked pair, right password: %q", got)
	}
	if got := login("127.0.0.2", "bob@example.test", users["bob@example.test"]); !strings.HasPrefix(got, "a OK") {
		t.Fatalf("another account from the locked address: %q", got)
	}
	if got := login("127.0.0.1", "alice@example.test", users["alice@example.test"]); !strings.HasPrefix(got, "a OK") {
		t.Fatalf("the locked account from another address: %q", got)
	}
	// POP3 and submission share the lock.
	pop := s.dial(t, "pop3", "127.0.0.2")
	pop.do("USER alice@example.test", "+OK")
	if got := pop.do(`PASS alice's password`, "-ERR", "+OK"); !strings.HasPrefix(got, "-ERR [SYS/TEMP]") {
		t.Fatalf("POP3 from the locked address: %q", got)
	}

	out := s.run(t, "", "auth", "blocked")
	if !strings.Contains(out, "127.0.0.2") || !strings.Contains(out, "alice@example.test") || !strings.Contains(out, "failed logins") ||
		strings.Contains(out, "127.0.0.1") {
		t.Fatalf("auth blocked:\n%s", out)
	}
	if out := s.run(t, "", "auth", "unblock", "127.0.0.2"); !strings.Contains(out, "unblocked 127.0.0.2") {
		t.Fatalf("auth unblock: %s", out)
	}
	// The server asks the store again at most once a second.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := login("127.0.0.2", "alice@example.test", users["alice@example.test"])
		if strings.HasPrefix(got, "a OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refused after unblock: %q", got)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out := s.run(t, "", "auth", "blocked"); !strings.Contains(out, "no address is locked out") {
		t.Fatalf("auth blocked after unblock:\n%s", out)
	}
	cmd := exec.Command(postern(t), "-config", s.cfg, "auth", "unblock", "127.0.0.2")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "no lockout of 127.0.0.2") {
		t.Fatalf("second unblock: %v %s", err, out)
	}

	// Spraying: one failure for each of six names locks the address out
	// of every account, the right password of bob included.
	for _, u := range []string{"a", "b", "c", "d", "e", "f"} {
		login("127.0.0.2", u+"@example.test", "guess")
	}
	if got := login("127.0.0.2", "bob@example.test", users["bob@example.test"]); !strings.HasPrefix(got, "a NO [UNAVAILABLE]") {
		t.Fatalf("sprayed address, bob: %q", got)
	}
	if got := login("127.0.0.1", "bob@example.test", users["bob@example.test"]); !strings.HasPrefix(got, "a OK") {
		t.Fatalf("another address after the spray: %q", got)
	}
	if out := s.run(t, "", "auth", "blocked"); !strings.Contains(out, "(every account)") {
		t.Fatalf("auth blocked after the spray:\n%s", out)
	}
	if !strings.Contains(s.log(t), `msg="auth lockout" remote=127.0.0.2 scope=address`) {
		t.Fatalf("no lockout line:\n%s", s.log(t))
	}
}

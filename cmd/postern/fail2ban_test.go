package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// failLogins makes one failed login of every kind, on every protocol, from
// 127.0.0.2 (guesses) and 127.0.0.1 (mistakes of a real client).
func failLogins(t *testing.T, s *served) {
	im := s.dial(t, "imaps", "127.0.0.2")
	im.do("a LOGIN alice@example.test wrong", "a ")
	im.do("b AUTHENTICATE PLAIN "+b64("\x00nobody@example.test\x00whatever"), "b ")
	im.do(`c LOGIN "x remote=6.6.6.6 reason=\"bad password\"" wrong`, "c ")
	pop := s.dial(t, "pop3s", "127.0.0.2")
	pop.do("USER alice@example.test", "+OK")
	pop.do("PASS wrong", "-ERR")
	pop.do("AUTH PLAIN "+b64("\x00nobody@example.test\x00whatever"), "-ERR")
	sub := s.dial(t, "submissions", "127.0.0.2")
	sub.do("EHLO client.test", "250 ")
	sub.do("AUTH PLAIN "+b64("\x00alice@example.test\x00wrong"), "535")
	// Three failures from this address to alice: it is locked out of her.
	if got := im.do(`d LOGIN alice@example.test "alice's password"`, "d "); !strings.Contains(got, "[UNAVAILABLE]") {
		t.Fatalf("login while locked out: %q", got)
	}
	// A disabled account's right password, and a password without TLS,
	// are no guesses.
	mine := s.dial(t, "imaps", "127.0.0.1")
	if got := mine.do(`a LOGIN dave@example.test "dave's password"`, "a "); !strings.Contains(got, "disabled") {
		t.Fatalf("disabled account: %q", got)
	}
	plain := s.dial(t, "imap", "127.0.0.1")
	plain.do(`a LOGIN alice@example.test "alice's password"`, "a ")
}

// Every failed login on every protocol writes one line in the documented
// format, and contrib/fail2ban's filter, run by the real fail2ban-regex,
// finds the guesses in it, and the guessing address (never one written in
// a user name), in both log formats.
func TestFail2banFilter(t *testing.T) {
	f2b, err := exec.LookPath("fail2ban-regex")
	if err != nil {
		t.Fatalf("fail2ban-regex is not installed (apt-get install fail2ban): %v", err)
	}
	_, file, _, _ := runtime.Caller(0)
	filter := filepath.Join(filepath.Dir(file), "..", "..", "contrib", "fail2ban", "filter.d", "postern.conf")
	if _, err := os.Stat(filter); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			s := startServed(t, "log_format = \""+format+"\"\n[auth]\nplaintext_on_loopback = false\nlockout_failures = 3\n",
				map[string]string{"alice@example.test": "alice's password", "dave@example.test": "dave's password"})
			s.run(t, "", "user", "disable", "dave@example.test")
			failLogins(t, s)

			lines := s.loginFailures(t)
			want := [][2]string{
				{"imap", "bad password"}, {"imap", "unknown account"}, {"imap", "unknown account"},
				{"pop3", "bad password"}, {"pop3", "unknown account"}, {"smtp", "bad password"},
				{"imap", "locked out"}, {"imap", "disabled"}, {"imap", "plaintext refused"},
			}
			if len(lines) != len(want) {
				t.Fatalf("%d failed-login lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
			}
			for i, w := range want {
				proto, reason := `proto=`+w[0]+` `, `reason="`+w[1]+`"`
				if w[1] == "disabled" {
					reason = "reason=disabled"
				}
				if format == "json" {
					proto, reason = `"proto":"`+w[0]+`"`, `"reason":"`+w[1]+`"`
				}
				if !strings.Contains(lines[i], proto) || !strings.Contains(lines[i], reason) {
					t.Errorf("line %d: %s\nwant %s and %s", i, lines[i], proto, reason)
				}
			}

			out, err := exec.Command(f2b, "-v", s.logPath, filter).CombinedOutput()
			if err != nil {
				t.Fatalf("fail2ban-regex: %v\n%s", err, out)
			}
			m := regexp.MustCompile(`Lines: (\d+) lines, \d+ ignored, (\d+) matched`).FindSubmatch(out)
			if m == nil {
				t.Fatalf("fail2ban-regex output:\n%s", out)
			}
			if n, _ := strconv.Atoi(string(m[2])); n != 7 {
				t.Errorf("fail2ban matched %d lines, want the 7 guesses:\n%s", n, out)
			}
			var hosts []string
			for _, h := range regexp.MustCompile(`(?m)^\|\s+(\S+)\s+\w{3} \w{3} +\d+ `).FindAllSubmatch(out, -1) {
				hosts = append(hosts, string(h[1]))
			}
			slices.Sort(hosts)
			if hosts = slices.Compact(hosts); !slices.Equal(hosts, []string{"127.0.0.2"}) {
				t.Errorf("fail2ban found hosts %q, want only 127.0.0.2:\n%s", hosts, out)
			}
		})
	}
}

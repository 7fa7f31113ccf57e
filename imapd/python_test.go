package imapd

import (
	"os/exec"
	"strings"
	"testing"
)

// Python's imaplib parses responses its own way; a whole session with it.
func TestPythonImaplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed for this test: ", err)
	}
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("from python test", "bob@example.test", "hello imaplib"))
	host, port, _ := strings.Cut(e.addr, ":")
	script := `
import imaplib, sys
M = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]))
M.login("alice@example.test", "` + testPassword + `")
typ, data = M.select("INBOX")
assert typ == "OK" and data == [b"1"], (typ, data)
typ, data = M.search(None, "SUBJECT", '"python test"')
assert data == [b"1"], data
typ, data = M.fetch("1", "(RFC822)")
assert b"hello imaplib" in data[0][1], data
typ, data = M.fetch("1", "(FLAGS)")
assert b"\\Seen" in data[0], data
M.create("Py/Sub")
typ, data = M.list()
assert any(b'"Py/Sub"' in l or b" Py/Sub" in l for l in data), data
typ, data = M.append("Py/Sub", "(\\Flagged)", None, b"Subject: appended\r\n\r\nbody\r\n")
assert typ == "OK", (typ, data)
typ, data = M.status("Py/Sub", "(MESSAGES UNSEEN)")
assert b"MESSAGES 1" in data[0], data
typ, data = M.copy("1", "Py/Sub")
assert typ == "OK", data
M.store("1", "+FLAGS", "\\Deleted")
typ, data = M.expunge()
assert data == [b"1"], data
M.close()
M.logout()
print("python session ok")
`
	out, err := exec.Command(py, "-c", script, host, port).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "python session ok") {
		t.Fatalf("imaplib session failed: %v\n%s", err, out)
	}
}

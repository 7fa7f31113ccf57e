package pop3d

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"postern/storage"
)

// poplibScript drives the server with Python's poplib and prints what it
// saw as JSON. It covers plain USER/PASS, STLS and implicit TLS.
const poplibScript = `
import json, os, poplib, ssl

host = "127.0.0.1"
port, tls_port = int(os.environ["POP_PORT"]), int(os.environ["POP_TLS_PORT"])
user, pw = os.environ["POP_USER"], os.environ["POP_PASS"]
ctx = ssl.create_default_context(cafile=os.environ["POP_CA"])
out = {}

p = poplib.POP3(host, port, timeout=20)
out["welcome"] = p.getwelcome().decode()
out["capa"] = sorted(p.capa().keys())
p.user(user)
p.pass_(pw)
out["stat"] = list(p.stat())
out["list"] = [l.decode() for l in p.list()[1]]
out["uidl"] = [l.decode() for l in p.uidl()[1]]
out["uidl1"] = p.uidl(1).decode()
out["retr"] = [b"\r\n".join(p.retr(i)[1]).decode() for i in range(1, out["stat"][0] + 1)]
out["top0"] = [l.decode() for l in p.top(1, 0)[1]]
out["top1"] = [l.decode() for l in p.top(2, 1)[1]]
p.noop()
p.dele(1)
try:
    p.retr(1)
    out["retr_deleted"] = "no error"
except poplib.error_proto as e:
    out["retr_deleted"] = str(e)
p.rset()
out["stat_after_rset"] = list(p.stat())
p.dele(2)
out["quit"] = p.quit().decode()

p = poplib.POP3(host, port, timeout=20)
p.stls(ctx)
out["capa_tls"] = sorted(p.capa().keys())
p.user(user)
p.pass_(pw)
out["stat_tls"] = list(p.stat())
p.quit()

p = poplib.POP3_SSL(host, tls_port, context=ctx, timeout=20)
p.user(user)
p.pass_(pw)
out["stat_ssl"] = list(p.stat())
try:
    p2 = poplib.POP3(host, port, timeout=20)
    p2.user(user)
    p2.pass_(pw)
    out["second"] = "logged in"
except poplib.error_proto as e:
    out["second"] = str(e)
p.quit()
print(json.dumps(out))
`

// runPython runs a Python script and fails (not skips) when python3 is
// missing: these tests are part of what must pass.
func runPython(t *testing.T, script string, env ...string) []byte {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is required for this test: %v", err)
	}
	cmd := exec.Command(py, "-")
	cmd.Stdin = strings.NewReader(script)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	return out
}

func TestPoplib(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LockWait = 100 * time.Millisecond })
	acct := e.addUser("user@example.test", "secret")
	msgs := []string{
		testMessage(1),
		"Subject: dots\r\n\r\n.starts with a dot\r\nplain\r\n..two\r\n",
		testMessage(3),
	}
	for _, m := range msgs {
		e.deliver(acct, m)
	}
	box := e.inbox(acct)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	certDER := e.srv.cfg.TLS.Certificates[0].Certificate[0]
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(e.addr)
	_, tlsPort, _ := net.SplitHostPort(e.tlsAddr)
	raw := runPython(t, poplibScript, "POP_PORT="+port, "POP_TLS_PORT="+tlsPort,
		"POP_USER=user@example.test", "POP_PASS=secret", "POP_CA="+ca)
	var got struct {
		Welcome       string
		Capa          []string
		Stat          []int
		List          []string
		Uidl          []string
		Uidl1         string
		Retr          []string
		Top0          []string
		Top1          []string
		RetrDeleted   string `json:"retr_deleted"`
		StatAfterRset []int  `json:"stat_after_rset"`
		Quit          string
		CapaTLS       []string `json:"capa_tls"`
		StatTLS       []int    `json:"stat_tls"`
		StatSSL       []int    `json:"stat_ssl"`
		Second        string
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	total := len(msgs[0]) + len(msgs[1]) + len(msgs[2])
	check := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("welcome", strings.HasPrefix(got.Welcome, "+OK"), true)
	check("capa", got.Capa, "[AUTH-RESP-CODE EXPIRE IMPLEMENTATION PIPELINING RESP-CODES SASL STLS TOP UIDL USER]")
	check("stat", got.Stat, []int{3, total})
	check("list", got.List, []string{fmt.Sprintf("1 %d", len(msgs[0])), fmt.Sprintf("2 %d", len(msgs[1])), fmt.Sprintf("3 %d", len(msgs[2]))})
	check("uidl", got.Uidl, []string{
		fmt.Sprintf("1 %08x%08x", box.UIDValidity, 1), fmt.Sprintf("2 %08x%08x", box.UIDValidity, 2), fmt.Sprintf("3 %08x%08x", box.UIDValidity, 3)})
	check("uidl 1", got.Uidl1, fmt.Sprintf("+OK 1 %08x%08x", box.UIDValidity, 1))
	for i, m := range msgs {
		// poplib strips the line endings; put them back.
		check(fmt.Sprintf("retr %d", i+1), got.Retr[i]+"\r\n", m)
	}
	check("top 1 0", got.Top0, []string{"From: sender@example.test", "To: user@example.test", "Subject: message 1", ""})
	check("top 2 1", got.Top1, []string{"Subject: dots", "", ".starts with a dot"})
	check("retr deleted", strings.Contains(got.RetrDeleted, "already deleted"), true)
	check("stat after rset", got.StatAfterRset, []int{3, total})
	check("quit", strings.Contains(got.Quit, "1 messages deleted"), true)
	check("capa after stls has STLS", slices.Contains(got.CapaTLS, "STLS"), false)
	check("stat over stls", got.StatTLS, []int{2, len(msgs[0]) + len(msgs[2])})
	check("stat over implicit tls", got.StatSSL, []int{2, len(msgs[0]) + len(msgs[2])})
	check("second session", strings.Contains(got.Second, "[IN-USE]"), true)

	ms := e.inboxState(acct)
	check("INBOX after poplib", len(ms), 2)
	for _, m := range ms {
		check(fmt.Sprintf("UID %d seen", m.UID), m.Flags.Has(storage.FlagSeen), true)
	}
}

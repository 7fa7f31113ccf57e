package smtpd

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"postern/storage"
	"postern/storage/sqlite"
)

// crashServer is a `postern serve` child process.
type crashServer struct {
	bin, cfg string
	cmd      *exec.Cmd
	log      *syncBuffer
}

// buildPostern builds cmd/postern into dir.
func buildPostern(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "postern")
	build := exec.Command("go", "build", "-o", bin, "postern/cmd/postern")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (s *crashServer) run(t *testing.T, stdin string, args ...string) {
	t.Helper()
	cmd := exec.Command(s.bin, append([]string{"-config", s.cfg}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("postern %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// start runs `postern serve` and waits for the MX greeting.
func (s *crashServer) start(t *testing.T, mxAddr string) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "-config", s.cfg, "serve")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := smtp.Dial(mxAddr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.cmd.Process.Kill()
			s.cmd.Wait()
			t.Fatalf("postern serve did not answer on %s: %v\n%s", mxAddr, err, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// foldHex writes b in hex, 76 characters a line, each line ending in CRLF.
func foldHex(b []byte) string {
	h := hex.EncodeToString(b)
	var sb strings.Builder
	for len(h) > 76 {
		sb.WriteString(h[:76] + "\r\n")
		h = h[76:]
	}
	sb.WriteString(h + "\r\n")
	return sb.String()
}

type sentMsg struct {
	token string
	rcpts []string
	body  string
	acked bool
}

// TestCrashDurability kills `postern serve` with SIGKILL while 8 clients
// are sending. After a restart, every message that got a 250 is stored
// exactly once for each of its recipients, and every stored message is
// whole: byte for byte one that a client sent.
func TestCrashDurability(t *testing.T) {
	dir := t.TempDir()
	bin := buildPostern(t, dir)
	mxAddr, subAddr := freePort(t), freePort(t)
	cfgPath := filepath.Join(dir, "config.toml")
	cfg := fmt.Sprintf(`hostname = "localhost"
data_dir = %q
domains = ["example.test"]
[smtp]
listen = %q
[submission]
listen = %q
listen_tls = ""
[imap]
listen = ""
listen_tls = ""
[pop3]
listen = ""
listen_tls = ""
[http]
listen = ""
listen_tls = ""
`, filepath.Join(dir, "data"), mxAddr, subAddr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := &crashServer{bin: bin, cfg: cfgPath, log: &syncBuffer{}}
	srv.run(t, "alice password\n", "user", "add", "alice@example.test")
	srv.run(t, "bob password\n", "user", "add", "bob@example.test")
	srv.run(t, "", "alias", "add", "team@example.test", "alice@example.test", "bob@example.test")
	srv.start(t, mxAddr)

	const clients = 8
	var (
		mu   sync.Mutex
		sent []*sentMsg
		wg   sync.WaitGroup
	)
	acked := make(chan struct{}, 1<<16)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := smtp.Dial(mxAddr)
			if err != nil {
				return
			}
			defer c.Close()
			rcpts := [][]string{{"alice@example.test"}, {"bob@example.test"}, {"team@example.test"}}[i%3]
			for n := 0; ; n++ {
				var tok [8]byte
				rand.Read(tok[:])
				token := hex.EncodeToString(tok[:])
				pad := make([]byte, 500+n%7*1000)
				rand.Read(pad)
				body := fmt.Sprintf("Message-ID: <%s@crash.test>\r\nSubject: crash %d/%d\r\n\r\n%s\r\n%s",
					token, i, n, token, foldHex(pad))
				m := &sentMsg{token: token, rcpts: rcpts, body: body}
				mu.Lock()
				sent = append(sent, m)
				mu.Unlock()
				if _, err := send(c, "sender@remote.test", rcpts, body); err != nil {
					return // the server is gone
				}
				mu.Lock()
				m.acked = true
				mu.Unlock()
				acked <- struct{}{}
			}
		}(i)
	}
	// Let a few hundred messages through, then kill mid-stream.
	for n := 0; n < 300; n++ {
		select {
		case <-acked:
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d messages acknowledged in 30 s\n%s", n, srv.log.String())
		}
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	wg.Wait()

	// Restart on the same data: the store must open and serve again.
	srv.start(t, mxAddr)
	c := dial(t, mxAddr)
	if _, err := send(c, "sender@remote.test", []string{"alice@example.test"}, "Subject: after restart\r\n\r\nok\r\n"); err != nil {
		t.Fatalf("delivery after restart: %v", err)
	}
	c.Quit()
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if err := srv.cmd.Wait(); err != nil {
		t.Errorf("postern serve exited with %v after SIGTERM\n%s", err, srv.log.String())
	}

	st, err := sqlite.Open(filepath.Join(dir, "data"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	byToken := map[string]*sentMsg{}
	nAcked := 0
	for _, m := range sent {
		byToken[m.token] = m
		if m.acked {
			nAcked++
		}
	}
	stored := map[string]map[string]int{} // token -> account -> copies
	for _, addr := range []string{"alice@example.test", "bob@example.test"} {
		acct, err := st.AccountByAddress(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range inbox(t, st, acct) {
			raw := m.Raw
			i := bytes.Index(raw, []byte("Message-ID: <"))
			if i < 0 {
				if !bytes.Contains(raw, []byte("Subject: after restart")) {
					t.Errorf("%s: stored message without a token:\n%q", addr, raw)
				}
				continue
			}
			token := string(raw[i+13 : i+29])
			sm := byToken[token]
			if sm == nil {
				t.Errorf("%s: stored message with unknown token %s", addr, token)
				continue
			}
			if !bytes.HasSuffix(raw, []byte(sm.body)) || !bytes.HasPrefix(raw, []byte("Return-Path: <sender@remote.test>\r\nReceived: ")) {
				t.Errorf("%s: message %s stored damaged (%d bytes, sent %d)", addr, token, len(raw), len(sm.body))
			}
			if stored[token] == nil {
				stored[token] = map[string]int{}
			}
			stored[token][addr]++
		}
	}
	want := func(m *sentMsg) []string {
		if m.rcpts[0] == "team@example.test" {
			return []string{"alice@example.test", "bob@example.test"}
		}
		return m.rcpts
	}
	for _, m := range sent {
		copies := stored[m.token]
		for _, addr := range want(m) {
			switch n := copies[addr]; {
			case n > 1:
				t.Errorf("message %s stored %d times for %s", m.token, n, addr)
			case n == 0 && m.acked:
				t.Errorf("message %s got 250 but is not in %s's INBOX", m.token, addr)
			}
		}
		// One transaction: all recipients have it or none.
		if len(copies) != 0 && len(copies) != len(want(m)) {
			t.Errorf("message %s stored for %v, want all of %v or none", m.token, copies, want(m))
		}
	}
	checkChangeLog(t, st, "alice@example.test", "bob@example.test")
	t.Logf("%d messages sent, %d acknowledged before SIGKILL, %d stored", len(sent), nAcked, len(stored))
}

// checkChangeLog: every message in the accounts' INBOXes was logged as
// appended, and nothing was logged that is not there (no expunge ran): a
// change commits with its log entry or not at all.
func checkChangeLog(t *testing.T, st *sqlite.Store, addrs ...string) {
	t.Helper()
	ctx := context.Background()
	logged := map[int64]map[uint32]bool{}
	for pos := uint64(0); ; {
		ch, err := st.ChangesAfter(ctx, pos, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(ch) == 0 {
			break
		}
		for _, c := range ch {
			pos = c.Seq
			if c.Kind != storage.EventAppend {
				continue
			}
			if logged[c.MailboxID] == nil {
				logged[c.MailboxID] = map[uint32]bool{}
			}
			for _, u := range c.UIDs {
				logged[c.MailboxID][u] = true
			}
		}
	}
	for _, addr := range addrs {
		acct, err := st.AccountByAddress(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		box, err := st.Mailbox(ctx, acct.ID, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := st.MessageUIDs(ctx, box.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if !logged[box.ID][m.UID] {
				t.Errorf("%s: message %d is stored, but its append is not in the change log", addr, m.UID)
			}
		}
		if len(logged[box.ID]) != len(msgs) {
			t.Errorf("%s: the change log has %d appends, the INBOX %d messages", addr, len(logged[box.ID]), len(msgs))
		}
	}
}

// TestSwaksAgainstPosternServe runs swaks against the real binary started
// on the repository's quick-start config.toml (listen ports moved to free
// ones, data in a temp dir): MX delivery, then submission with STARTTLS and
// AUTH.
func TestSwaksAgainstPosternServe(t *testing.T) {
	dir := t.TempDir()
	bin := buildPostern(t, dir)
	quick, err := os.ReadFile("../config.toml")
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]string{}
	cfg := regexp.MustCompile(`"127\.0\.0\.1:\d+"`).ReplaceAllStringFunc(string(quick), func(old string) string {
		p := `"` + freePort(t) + `"`
		ports[old] = p
		return p
	})
	cfg = regexp.MustCompile(`(?m)^data_dir\s*=.*$`).ReplaceAllString(cfg, fmt.Sprintf("data_dir = %q", filepath.Join(dir, "data")))
	mxAddr := strings.Trim(ports[`"127.0.0.1:2525"`], `"`)
	subAddr := strings.Trim(ports[`"127.0.0.1:2587"`], `"`)
	if mxAddr == "" || subAddr == "" {
		t.Fatalf("quick-start config has no MX or submission listener on 2525/2587:\n%s", quick)
	}
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := &crashServer{bin: bin, cfg: cfgPath, log: &syncBuffer{}}
	srv.run(t, "alice password\n", "user", "add", "alice@example.test")
	srv.run(t, "bob password\n", "user", "add", "bob@example.test")
	srv.start(t, mxAddr)
	defer func() {
		srv.cmd.Process.Signal(os.Interrupt)
		srv.cmd.Wait()
	}()

	swaks(t, "--server", mxAddr, "--from", "someone@remote.test", "--to", "alice@example.test",
		"--header", "Subject: swaks to MX")
	swaks(t, "--server", subAddr, "-tls", "--auth", "PLAIN", "--auth-user", "bob@example.test",
		"--auth-password", "bob password", "--from", "bob@example.test", "--to", "alice@example.test",
		"--header", "Subject: swaks via submission")
	srv.cmd.Process.Signal(os.Interrupt)
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("postern serve: %v\n%s", err, srv.log.String())
	}

	st, err := sqlite.Open(filepath.Join(dir, "data"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	alice, err := st.AccountByAddress(t.Context(), "alice@example.test")
	if err != nil {
		t.Fatal(err)
	}
	msgs := inbox(t, st, alice)
	if len(msgs) != 2 {
		t.Fatalf("alice has %d messages, want 2", len(msgs))
	}
	if !strings.Contains(string(msgs[0].Raw), "Subject: swaks to MX") || !strings.Contains(string(msgs[1].Raw), "with ESMTPSA") {
		t.Errorf("stored messages:\n%s\n---\n%s", msgs[0].Raw, msgs[1].Raw)
	}
}

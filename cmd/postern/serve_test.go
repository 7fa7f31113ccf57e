package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// postern builds the real binary once per test run.
func postern(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "postern-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "postern")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// freePorts returns n loopback addresses that were free a moment ago.
func freePorts(t *testing.T, n int) []string {
	var out []string
	var ls []net.Listener
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

func serveConfig(t *testing.T, addrs []string) string {
	return writeConfig(t, fmt.Sprintf(`
[smtp]
listen = %q
[submission]
listen = %q
listen_tls = %q
[imap]
listen = %q
listen_tls = %q
[pop3]
listen = %q
listen_tls = %q
[http]
listen = %q
listen_tls = %q
`, addrs[0], addrs[1], addrs[2], addrs[3], addrs[4], addrs[5], addrs[6], addrs[7], addrs[8]))
}

func TestServeListensAndStopsOnSIGTERM(t *testing.T) {
	bin := postern(t)
	addrs := freePorts(t, 9)
	cfg := serveConfig(t, addrs)

	add := exec.Command(bin, "user", "add", "alice@example.test")
	add.Env = append(os.Environ(), "POSTERN_CONFIG="+cfg)
	add.Stdin = strings.NewReader("correct horse\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	list := exec.Command(bin, "user", "list")
	list.Env = append(os.Environ(), "POSTERN_CONFIG="+cfg)
	if out, err := list.CombinedOutput(); err != nil || !strings.Contains(string(out), "alice@example.test") {
		t.Fatalf("user list: %v\n%s", err, out)
	}

	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", "-config", cfg)
	cmd.Stderr = &logs
	cmd.Stdout = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for _, a := range addrs {
		waitListening(t, a, &logs)
	}
	// The CLI works while the server runs.
	add2 := exec.Command(bin, "-config", cfg, "user", "add", "bob@example.test")
	add2.Stdin = strings.NewReader("another one\n")
	if out, err := add2.CombinedOutput(); err != nil {
		t.Fatalf("user add while serving: %v\n%s", err, out)
	}

	// The health check a container runs.
	if out, err := exec.Command(bin, "-config", cfg, "health").CombinedOutput(); err != nil || string(out) != "ok\n" {
		t.Errorf("health while serving: %v %q", err, out)
	}

	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("serve still running 15s after SIGTERM\n%s", logs.String())
	}
	t.Logf("stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(logs.String(), "stopped") {
		t.Errorf("no shutdown log line:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "no mailbox takes mail for postmaster@example.test") {
		t.Errorf("no warning about the missing postmaster:\n%s", logs.String())
	}
	if out, err := exec.Command(bin, "-config", cfg, "health").CombinedOutput(); err == nil {
		t.Errorf("health with the server stopped: exit 0, %q", out)
	}
}

func waitListening(t *testing.T, addr string, logs *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s\n%s", addr, logs.String())
}

func TestServeRefusesToStart(t *testing.T) {
	bin := postern(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addrs := freePorts(t, 9)
	addrs[3] = taken.Addr().String() // [imap] listen
	cases := map[string]struct{ cfg, want string }{
		"port taken":        {serveConfig(t, addrs), "[imap] listen"},
		"bad config":        {writeConfig(t, "[imap]\nlisten = \"nonsense\"\n"), "[imap] listen"},
		"data dir readonly": {writeConfig(t, "data_dir = \"/proc/postern\"\n"), "data_dir"},
	}
	for name, c := range cases {
		if name == "data dir readonly" {
			// writeConfig already sets data_dir; write this one by hand.
			path := filepath.Join(t.TempDir(), "c.toml")
			os.WriteFile(path, []byte("domains = [\"example.test\"]\ndata_dir = \"/proc/postern\"\n"), 0o600)
			c.cfg = path
		}
		out, err := exec.Command(bin, "serve", "-config", c.cfg).CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), c.want) {
			t.Errorf("%s: err=%v, output:\n%s\nwant exit 1 naming %q", name, err, out, c.want)
		}
	}
}

// A second `postern serve` on the same data_dir refuses to start, naming
// the lock file and the server that holds it; CLI commands work beside
// the running one, and once it stops, a new one starts.
func TestOneServePerDataDir(t *testing.T) {
	bin := postern(t)
	addrs := freePorts(t, 9)
	cfg := serveConfig(t, addrs)
	var logs bytes.Buffer
	first := exec.Command(bin, "serve", "-config", cfg)
	first.Stderr, first.Stdout = &logs, &logs
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Process.Kill()
	waitListening(t, addrs[0], &logs)

	// The same data_dir on other ports.
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	other := string(text)
	addrs2 := freePorts(t, 9)
	for i, a := range addrs2 {
		other = strings.Replace(other, addrs[i], a, 1)
	}
	cfg2 := filepath.Join(t.TempDir(), "second.toml")
	if err := os.WriteFile(cfg2, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "serve", "-config", cfg2).CombinedOutput()
	lock := filepath.Join(filepath.Dir(cfg), "data", "postern.lock")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), lock) ||
		!strings.Contains(string(out), fmt.Sprintf("(pid %d)", first.Process.Pid)) {
		t.Errorf("second serve: %v\n%s\nwant exit 1 naming %s and pid %d", err, out, lock, first.Process.Pid)
	}
	for _, args := range [][]string{{"user", "add", "carol@example.test"}, {"user", "list"}, {"queue", "list"}} {
		c := exec.Command(bin, append([]string{"-config", cfg2}, args...)...)
		c.Stdin = strings.NewReader("a password long enough\n")
		if out, err := c.CombinedOutput(); err != nil {
			t.Errorf("postern %s beside the server: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	first.Process.Signal(syscall.SIGTERM)
	if err := first.Wait(); err != nil {
		t.Fatalf("first serve: %v\n%s", err, logs.String())
	}
	var logs2 bytes.Buffer
	second := exec.Command(bin, "serve", "-config", cfg2)
	second.Stderr, second.Stdout = &logs2, &logs2
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	defer second.Process.Kill()
	waitListening(t, addrs2[0], &logs2)
	second.Process.Signal(syscall.SIGTERM)
	if err := second.Wait(); err != nil {
		t.Errorf("serve after the first stopped: %v\n%s", err, logs2.String())
	}
}

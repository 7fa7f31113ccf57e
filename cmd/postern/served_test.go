package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// served is a running "postern serve" for tests that talk to the real
// binary, its log in a file.
type served struct {
	cfg     string // config file
	logPath string
	addr    map[string]string // by listener: "smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"
	cmd     *exec.Cmd
}

// startServed writes a config with free loopback ports and extra (more
// TOML), creates users (address → password) with the CLI, and starts the
// server; it is killed when the test ends.
func startServed(t *testing.T, extra string, users map[string]string) *served {
	t.Helper()
	bin := postern(t)
	ports := freePorts(t, 7)
	s := &served{addr: map[string]string{}}
	for i, name := range []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"} {
		s.addr[name] = ports[i]
	}
	s.cfg = writeConfig(t, extra+fmt.Sprintf(`
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
listen = ""
listen_tls = ""
`, ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6]))
	for u, pw := range users {
		s.run(t, pw+"\n", "user", "add", u)
	}
	s.logPath = filepath.Join(t.TempDir(), "postern.log")
	logf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, "serve", "-config", s.cfg)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for _, a := range ports {
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("nothing listens on %s:\n%s", a, s.log(t))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return s
}

// run runs the CLI on the server's config and returns its output; it
// fails the test unless the command exits 0.
func (s *served) run(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(postern(t), append([]string{"-config", s.cfg}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("postern %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (s *served) log(t *testing.T) string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// loginFailures returns the failed-login lines of the log.
func (s *served) loginFailures(t *testing.T) []string {
	var out []string
	for _, l := range strings.Split(s.log(t), "\n") {
		if strings.Contains(l, `msg="login failed"`) || strings.Contains(l, `"msg":"login failed"`) {
			out = append(out, l)
		}
	}
	return out
}

// client is one line-protocol connection from a chosen loopback address,
// in plain text or implicit TLS.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (s *served) dial(t *testing.T, listener, from string) *client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	var c net.Conn
	var err error
	if strings.HasSuffix(listener, "s") {
		c, err = tls.DialWithDialer(d, "tcp", s.addr[listener], &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = d.Dial("tcp", s.addr[listener])
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{t: t, c: c, br: bufio.NewReader(c)}
	cl.line() // the greeting
	return cl
}

func (c *client) line() string {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	l, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (after %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// do sends a line and returns the first reply line that starts with one
// of the prefixes.
func (c *client) do(line string, prefixes ...string) string {
	c.t.Helper()
	c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c.c, "%s\r\n", line); err != nil {
		c.t.Fatal(err)
	}
	for {
		l := c.line()
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				return l
			}
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

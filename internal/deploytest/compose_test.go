package deploytest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// compose runs Docker Compose: the "docker compose" plugin if there is one,
// else the standalone docker-compose.
type compose struct {
	argv []string // command and leading arguments
	file string
	env  []string
}

func findCompose(t *testing.T) []string {
	t.Helper()
	if err := exec.Command("docker", "compose", "version").Run(); err == nil {
		return []string{"docker", "compose"}
	}
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	t.Fatal("neither \"docker compose\" nor docker-compose found: install the Debian package docker-compose")
	return nil
}

func (c *compose) cmd(stdin string, args ...string) *exec.Cmd {
	all := append(append(append([]string{}, c.argv[1:]...), "-f", c.file), args...)
	cmd := exec.Command(c.argv[0], all...)
	cmd.Env = append(os.Environ(), c.env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	return cmd
}

func (c *compose) run(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := c.cmd(stdin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// copyTree copies the files under src (relative to the repository) to dst.
func copyTree(t *testing.T, root, dst string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		err := filepath.Walk(filepath.Join(root, p), func(path string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if fi.IsDir() {
				return os.MkdirAll(filepath.Join(dst, rel), 0o755)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dst, rel), data, fi.Mode().Perm())
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// waitGreeting waits until addr answers with a greeting starting with
// prefix. Docker's proxy accepts connections before the server listens, and
// closes them: only a greeting shows the server is up.
func waitGreeting(t *testing.T, addr, prefix string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, prefix) {
				return
			}
			last = line
		} else {
			last = err.Error()
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("no %q greeting from %s within 90 s (last: %q)", prefix, addr, last)
}

// TestCompose runs the repository's docker-compose.yml for real: an image
// from a static binary built here, the mail and HTTP ports published on
// free loopback ports, an account made with "postern user add" inside the
// container, a message sent over SMTP and read over IMAP and POP3 through
// the published ports, kept across "docker compose restart", and
// everything removed with "down -v".
func TestCompose(t *testing.T) {
	start := time.Now()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatal("docker not found: install the Debian package docker.io (and docker-compose)")
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Fatalf("the Docker engine does not answer: %v\n%s", err, out)
	}
	argv := findCompose(t)
	root := repoRoot(t)
	bin := staticBinary(t)

	// The build context: the repository's Docker files and the binary.
	ctx := t.TempDir()
	for _, f := range []string{"Dockerfile", "docker-compose.yml", ".dockerignore"} {
		copyTree(t, root, ctx, f)
	}
	copyTree(t, root, ctx, filepath.Join("contrib", "docker"))
	os.MkdirAll(filepath.Join(ctx, "dist"), 0o755)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ctx, "dist", "postern"), data, 0o755)

	var rnd [4]byte
	rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	image := "postern-test-" + id + ":latest"
	project := "posterntest" + id

	buildStart := time.Now()
	run(t, "docker", "build", "-q", "--target", "host", "-t", image, ctx)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
	size, _ := strconv.ParseInt(run(t, "docker", "image", "inspect", "--format", "{{.Size}}", image), 10, 64)
	t.Logf("image %s: %.1f MB, built in %v", image, float64(size)/1e6, time.Since(buildStart).Round(time.Millisecond))
	if u := run(t, "docker", "image", "inspect", "--format", "{{.Config.User}}", image); u == "" || u == "0" || strings.HasPrefix(u, "root") {
		t.Errorf("the image runs as %q; want an unprivileged user", u)
	}

	names := []string{"SMTP", "SUBMISSION", "SUBMISSIONS", "IMAP", "IMAPS", "POP3", "POP3S", "HTTP", "HTTPS"}
	ports := map[string]string{}
	c := &compose{argv: argv, file: filepath.Join(ctx, "docker-compose.yml"),
		env: []string{"COMPOSE_PROJECT_NAME=" + project, "POSTERN_IMAGE=" + image, "POSTERN_BIND=127.0.0.1:"}}
	for i, p := range freePorts(t, len(names)) {
		ports[names[i]] = "127.0.0.1:" + strconv.Itoa(p)
		c.env = append(c.env, fmt.Sprintf("POSTERN_%s_PORT=%d", names[i], p))
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := c.cmd("", "logs", "--no-color").CombinedOutput()
			t.Logf("container log:\n%s", out)
		}
		if out, err := c.cmd("", "down", "-v", "--remove-orphans").CombinedOutput(); err != nil {
			t.Errorf("compose down -v: %v\n%s", err, out)
		}
		if vols := run(t, "docker", "volume", "ls", "-q", "--filter", "name="+project); vols != "" {
			t.Errorf("volumes left after down -v: %s", vols)
		}
	})
	c.run(t, "", "up", "-d")
	waitGreeting(t, ports["IMAP"], "* OK")

	// The account, made with the CLI inside the container.
	if out := c.run(t, "a long password\n", "exec", "-T", "postern", "postern", "user", "add", "alice@example.com"); !strings.Contains(out, "created alice@example.com") {
		t.Fatalf("user add: %s", out)
	}

	// The self-signed certificate from the volume, to verify TLS against.
	cid := strings.TrimSpace(c.run(t, "", "ps", "-q", "postern"))
	certFile := filepath.Join(t.TempDir(), "cert.pem")
	run(t, "docker", "cp", cid+":/var/lib/postern/tls-cert.pem", certFile)
	pem, _ := os.ReadFile(certFile)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", pem)
	}
	tlsCfg := &tls.Config{RootCAs: pool, ServerName: "mail.example.com"}

	marker := "compose-" + id
	sc, err := smtp.Dial(ports["SMTP"])
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.SendMail("bob@elsewhere.example", []string{"alice@example.com"},
		strings.NewReader("From: bob@elsewhere.example\r\nTo: alice@example.com\r\nSubject: "+marker+"\r\n\r\nhello through the published port\r\n")); err != nil {
		t.Fatalf("SMTP: %v", err)
	}
	sc.Quit()

	readIMAP := func(what string) {
		t.Helper()
		ic, err := imapclient.DialStartTLS(ports["IMAP"], &imapclient.Options{TLSConfig: tlsCfg})
		if err != nil {
			t.Fatalf("%s: IMAP: %v", what, err)
		}
		defer ic.Close()
		if err := ic.Login("alice@example.com", "a long password").Wait(); err != nil {
			t.Fatalf("%s: LOGIN: %v", what, err)
		}
		sel, err := ic.Select("INBOX", nil).Wait()
		if err != nil || sel.NumMessages != 1 {
			t.Fatalf("%s: SELECT: %v, %+v", what, err, sel)
		}
		bs := &imap.FetchItemBodySection{Peek: true}
		msgs, err := ic.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{bs}}).Collect()
		if err != nil || len(msgs) != 1 || !bytes.Contains(msgs[0].FindBodySection(bs), []byte(marker)) {
			t.Fatalf("%s: FETCH: %v %d", what, err, len(msgs))
		}
		ic.Logout().Wait()
	}
	readIMAP("after delivery")
	readPOP3(t, ports["POP3S"], tlsCfg, marker)

	// The image's HEALTHCHECK (the binary asking its own /healthz).
	deadline := time.Now().Add(90 * time.Second)
	for {
		st := run(t, "docker", "inspect", "--format", "{{.State.Health.Status}}", cid)
		if st == "healthy" {
			break
		}
		if st == "unhealthy" || time.Now().After(deadline) {
			t.Fatalf("health status %q", st)
		}
		time.Sleep(time.Second)
	}

	c.run(t, "", "restart")
	waitGreeting(t, ports["IMAP"], "* OK")
	readIMAP("after restart")
	t.Logf("compose test took %v", time.Since(start).Round(time.Second))
}

// readPOP3 reads the one message over POP3 with implicit TLS.
func readPOP3(t *testing.T, addr string, cfg *tls.Config, marker string) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("POP3: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	expect := func(cmd string) string {
		t.Helper()
		if cmd != "" {
			io.WriteString(c, cmd+"\r\n")
		}
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "+OK") {
			t.Fatalf("POP3 %q: %q %v", cmd, line, err)
		}
		return line
	}
	expect("")
	expect("USER alice@example.com")
	expect("PASS a long password")
	if st := expect("STAT"); !strings.HasPrefix(st, "+OK 1 ") {
		t.Fatalf("STAT: %q", st)
	}
	expect("RETR 1")
	var msg strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == ".\r\n" {
			break
		}
		msg.WriteString(line)
	}
	if !strings.Contains(msg.String(), marker) {
		t.Errorf("RETR 1 lacks the message:\n%s", msg.String())
	}
	expect("QUIT")
}

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A relative data_dir is the config file's folder's, wherever the command
// runs: "postern -config /etc/postern/config.toml user list" from /srv must
// not make an empty /srv/data/postern.db.
func TestRelativeDataDir(t *testing.T) {
	bin := postern(t)
	confDir, elsewhere := t.TempDir(), t.TempDir()
	cfg := filepath.Join(confDir, "config.toml")
	if err := os.WriteFile(cfg, []byte("hostname = \"localhost\"\ndata_dir = \"data\"\ndomains = [\"example.test\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	add := exec.Command(bin, "-config", cfg, "user", "add", "alice@example.test")
	add.Dir, add.Stdin = elsewhere, strings.NewReader("alice's password\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	list := exec.Command(bin, "-config", "config.toml", "user", "list")
	list.Dir = confDir
	if out, err := list.CombinedOutput(); err != nil || !strings.Contains(string(out), "alice@example.test") {
		t.Fatalf("user list from the config's folder: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(confDir, "data", "postern.db")); err != nil {
		t.Errorf("no store in the config's folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(elsewhere, "data")); err == nil {
		t.Error("a store was made in the current directory")
	}
}

// "user del" asks on a terminal, and without one wants --yes.
func TestUserDelConfirms(t *testing.T) {
	cfg := writeConfig(t, "")
	for _, u := range []string{"a@example.test", "b@example.test"} {
		if code, _, errs := cli(t, cfg, "a long password\n", "user", "add", u); code != 0 {
			t.Fatal(errs)
		}
	}
	if code, _, errs := cli(t, cfg, "", "user", "del", "a@example.test"); code != 1 || !strings.Contains(errs, "add --yes") {
		t.Errorf("without a terminal and --yes: %d %q", code, errs)
	}
	term := func(stdin string, args ...string) (int, string, string) {
		var out, errb strings.Builder
		env := &cliEnv{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, isTerminal: func() bool { return true }}
		code := run(env, append([]string{"-config", cfg}, args...))
		return code, out.String(), errb.String()
	}
	if code, _, errs := term("n\n", "user", "del", "a@example.test"); code != 1 || !strings.Contains(errs, "Delete a@example.test and all its mail?") ||
		!strings.Contains(errs, "not deleted") {
		t.Errorf("answered n: %d %q", code, errs)
	}
	if code, _, errs := term("\n", "user", "del", "a@example.test"); code != 1 || !strings.Contains(errs, "not deleted") {
		t.Errorf("answered nothing: %d %q", code, errs)
	}
	if _, out, _ := cli(t, cfg, "", "user", "list"); !strings.Contains(out, "a@example.test") {
		t.Fatalf("deleted without a yes: %q", out)
	}
	if code, out, errs := term("yes\n", "user", "del", "a@example.test"); code != 0 || !strings.Contains(out, "deleted a@example.test") {
		t.Errorf("answered yes: %d %q %q", code, out, errs)
	}
	if code, out, _ := cli(t, cfg, "", "user", "del", "--yes", "b@example.test"); code != 0 || !strings.Contains(out, "deleted b@example.test") {
		t.Errorf("--yes: %d %q", code, out)
	}
	if _, out, _ := cli(t, cfg, "", "user", "list"); strings.Contains(out, "@example.test") {
		t.Errorf("still listed: %q", out)
	}
}

// "alias add" refuses a target that is neither an account nor an alias
// here nor a remote address, and an alias that would loop, saying which.
func TestAliasAddChecksTargets(t *testing.T) {
	cfg := writeConfig(t, "")
	cli(t, cfg, "alice's password\n", "user", "add", "alice@example.test")
	ok := func(args ...string) {
		t.Helper()
		if code, _, errs := cli(t, cfg, "", append([]string{"alias", "add"}, args...)...); code != 0 {
			t.Fatalf("alias add %v: %s", args, errs)
		}
	}
	refused := func(want string, args ...string) {
		t.Helper()
		if code, _, errs := cli(t, cfg, "", append([]string{"alias", "add"}, args...)...); code != 1 || !strings.Contains(errs, want) {
			t.Errorf("alias add %v: exit %d, %q; want %q", args, code, errs, want)
		}
	}
	ok("x@example.test", "alice@example.test")
	ok("y@example.test", "x@example.test", "someone@remote.test")
	ok("tagged@example.test", "alice+lists@example.test")
	refused("alias target bob@example.test is neither an account nor an alias here", "z@example.test", "bob@example.test")
	refused("alias target \"not an address\" is not an address", "z@example.test", "not an address")
	refused("x@example.test would loop (x@example.test -> y@example.test -> x@example.test)", "x@example.test", "y@example.test")
	refused("would loop", "self@example.test", "self@example.test")
	if _, out, _ := cli(t, cfg, "", "alias", "list"); strings.Contains(out, "z@example.test") || strings.Contains(out, "x@example.test -> alice@example.test, y") {
		t.Errorf("a refused alias was stored: %q", out)
	}
}

// "postern version" says which revision it was built from, as the build
// info records it. The go command records it in a git checkout; in a
// linked worktree (whose .git is a file) it records none, and the version
// says only what it knows.
func TestVersionFromBuildInfo(t *testing.T) {
	// The machine's GOFLAGS may turn the stamping off; a release build
	// (Dockerfile, go install) has it on.
	bin := filepath.Join(t.TempDir(), "postern")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		b, err := exec.Command("git", args...).Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(b))
	}
	want := "(revision " + git("rev-parse", "HEAD")
	if top := git("rev-parse", "--show-toplevel"); func() bool { fi, err := os.Stat(filepath.Join(top, ".git")); return err == nil && !fi.IsDir() }() {
		want = "postern dev go1."
	}
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), " go1.") {
		t.Errorf("version: %q, want %q and the Go version", out, want)
	}
}

// "postern config check" exits 0 for a good file and 1 with every problem
// of a bad one, each naming its key.
func TestConfigCheck(t *testing.T) {
	good := writeConfig(t, "")
	if code, out, errs := cli(t, good, "", "config", "check"); code != 0 || !strings.Contains(out, ": OK (data_dir ") {
		t.Errorf("good config: %d %q %q", code, out, errs)
	}
	bad := writeConfig(t, "bogus = 1\n[auth]\nlockout_duration = \"5 days\"\n")
	if code, out, _ := cli(t, bad, "", "config", "check"); code != 1 || !strings.Contains(out, "[auth] lockout_duration (line 6): invalid duration") {
		t.Errorf("bad duration: %d %q", code, out)
	}
	bad = writeConfig(t, "bogus = 1\n[auth]\nlockout_failures = 0\nmin_password_length = 0\n[pop3]\ndelete = \"never\"\n")
	code, out, _ := cli(t, bad, "", "config", "check")
	if code != 1 || !strings.Contains(out, "4 problem(s)") {
		t.Errorf("bad config: %d %q", code, out)
	}
	for _, want := range []string{"unknown key bogus", "[auth] lockout_failures: 0", "[auth] min_password_length: 0", "[pop3] delete: \"never\""} {
		if !strings.Contains(out, want) {
			t.Errorf("config check lacks %q:\n%s", want, out)
		}
	}
}

// asNobody runs a command as the unprivileged user nobody, without
// capabilities, in a directory it may read; the files it needs are copied
// there. It fails the test when setpriv (util-linux) is missing.
func asNobody(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("setpriv is not installed (apt-get install util-linux): %v", err)
	}
	if os.Getuid() != 0 {
		// Already unprivileged: run as we are.
		return exec.Command(args[0], args[1:]...)
	}
	cmd := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"}, args...)...)
	cmd.Dir = dir
	return cmd
}

// sharedDir is a fresh directory every user may enter and read, with the
// binary in it.
func sharedDir(t *testing.T) (dir, bin string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "postern-shared-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(postern(t))
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, "postern")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, bin
}

// Binding a port below 1024 without the privilege says how to allow it.
func TestLowPortExplainsPermission(t *testing.T) {
	dir, bin := sharedDir(t)
	data := filepath.Join(dir, "data")
	os.Mkdir(data, 0o777)
	os.Chmod(data, 0o777)
	// A port below 1024 that nothing uses now.
	port := 0
	for p := 1000; p > 900; p-- {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			l.Close()
			port = p
			break
		}
	}
	if port == 0 {
		t.Fatal("no free port below 1024")
	}
	ports := freePorts(t, 8)
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`hostname = "localhost"
data_dir = %q
domains = ["example.test"]
[smtp]
listen = "127.0.0.1:%d"
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
`, data, port, ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6], ports[7])), 0o644)
	cmd := asNobody(t, dir, bin, "serve", "-config", cfg)
	out, err := runWithTimeout(cmd, 30*time.Second)
	if err == nil {
		t.Fatalf("serve bound port %d unprivileged:\n%s", port, out)
	}
	for _, want := range []string{fmt.Sprintf("[smtp] listen = \"127.0.0.1:%d\"", port), "permission denied", "setcap cap_net_bind_service=+ep", "contrib/systemd"} {
		if !strings.Contains(out, want) {
			t.Errorf("error lacks %q:\n%s", want, out)
		}
	}
}

// A database the server may not write is refused at start, naming the
// file and its owner: the usual way there is a CLI command run as root.
func TestUnwritableDatabaseRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("this test makes files as root and runs the server as nobody: run it as root (the CI does)")
	}
	dir, bin := sharedDir(t)
	data := filepath.Join(dir, "data")
	os.Mkdir(data, 0o777)
	os.Chmod(data, 0o777)
	ports := freePorts(t, 9)
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("hostname = \"localhost\"\ndata_dir = %q\ndomains = [\"example.test\"]\n"+
		"[smtp]\nlisten = %q\n[submission]\nlisten = %q\nlisten_tls = %q\n[imap]\nlisten = %q\nlisten_tls = %q\n"+
		"[pop3]\nlisten = %q\nlisten_tls = %q\n[http]\nlisten = %q\nlisten_tls = %q\n",
		data, ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6], ports[7], ports[8])), 0o644)
	// Root makes the store, as "sudo postern user add" would.
	add := exec.Command(bin, "-config", cfg, "user", "add", "alice@example.test")
	add.Stdin = strings.NewReader("alice's password\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	out, err := runWithTimeout(asNobody(t, dir, bin, "serve", "-config", cfg), 30*time.Second)
	if err == nil {
		t.Fatalf("serve started on a database it may not write:\n%s", out)
	}
	for _, want := range []string{filepath.Join(data, "postern.db") + " is not writable by user nobody (uid 65534)", "belongs to user root (uid 0)", "chown -R nobody"} {
		if !strings.Contains(out, want) {
			t.Errorf("error lacks %q:\n%s", want, out)
		}
	}
}

func runWithTimeout(cmd *exec.Cmd, d time.Duration) (string, error) {
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return out.String(), nil // still running: it started
	}
}

// The server says when it makes a self-signed certificate (clients will
// warn about it), and only then; and it warns when the certificate in use
// ends within 14 days.
func TestCertificateWarnings(t *testing.T) {
	s := startServed(t, "", nil)
	waitLog(t, s, "postern started")
	if n := strings.Count(s.log(t), "generated a self-signed TLS certificate: mail clients will warn"); n != 1 {
		t.Fatalf("%d lines about the generated certificate:\n%s", n, s.log(t))
	}

	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certPath, keyPath) // valid for one day
	s = startServed(t, fmt.Sprintf("[tls]\ncert = %q\nkey = %q\n", certPath, keyPath), nil)
	waitLog(t, s, "postern started")
	log := s.log(t)
	if !strings.Contains(log, "the TLS certificate expires in less than a day; renew it and send SIGHUP") {
		t.Errorf("no warning about the certificate's end:\n%s", log)
	}
	if strings.Contains(log, "self-signed") {
		t.Errorf("a certificate from the files called self-signed:\n%s", log)
	}
}

func waitLog(t *testing.T, s *served, text string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(s.log(t), text) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", text, s.log(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

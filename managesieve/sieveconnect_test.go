package managesieve

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sieveConnect runs the real sieve-connect client (Debian package
// sieve-connect) against the server, over STARTTLS with the server's
// certificate as the trust anchor, the password on a pipe.
func (e *env) sieveConnect(user, password string, args ...string) (string, error) {
	e.t.Helper()
	bin, err := exec.LookPath("sieve-connect")
	if err != nil {
		e.t.Fatal("sieve-connect is not installed: install the Debian package sieve-connect")
	}
	host, port, _ := net.SplitHostPort(e.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	all := append([]string{"--server", host, "--port", port, "--user", user, "--passwordfd", "3",
		"--tlscafile", e.certFile, "--tlshostname", "localhost", "--noclearchan", "--authmech", "PLAIN"}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	pr, pw, err := os.Pipe()
	if err != nil {
		e.t.Fatal(err)
	}
	defer pr.Close()
	cmd.ExtraFiles = []*os.File{pr}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		pw.Close()
		e.t.Fatal(err)
	}
	pw.WriteString(password + "\n")
	pw.Close()
	err = cmd.Wait()
	return out.String(), err
}

func TestSieveConnect(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PlaintextOnLoopback = false })
	dir := t.TempDir()
	good := filepath.Join(dir, "vacation.sieve")
	goodScript := "require [\"vacation\", \"fileinto\"];\r\n" +
		"if header :contains \"subject\" \"urgent\" { fileinto \"Urgent\"; }\r\n" +
		"vacation :days 3 :subject \"Away\" \"I am away until Monday.\";\r\n"
	if err := os.WriteFile(good, []byte(goodScript), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.sieve")
	if err := os.WriteFile(bad, []byte("require \"fileinto\";\r\nif header :contains \"subject\" \"x\" {\r\n  fileinto;\r\n}\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const user, pass = "alice@example.test", "secret one"

	if out, err := e.sieveConnect(user, pass, "--upload", "--localsieve", good, "--remotesieve", "away"); err != nil {
		t.Fatalf("upload: %v\n%s", err, out)
	}
	if got, ok := e.store.get(user, "away"); !ok || got != goodScript {
		t.Fatalf("stored %q %v", got, ok)
	}
	if out, err := e.sieveConnect(user, pass, "--activate", "--remotesieve", "away"); err != nil {
		t.Fatalf("activate: %v\n%s", err, out)
	}
	if e.store.activeOf(user) != "away" {
		t.Fatal("not active")
	}
	out, err := e.sieveConnect(user, pass, "--list")
	if err != nil || !strings.Contains(out, "away") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	fetched := filepath.Join(dir, "fetched.sieve")
	if out, err := e.sieveConnect(user, pass, "--download", "--remotesieve", "away", "--localsieve", fetched); err != nil {
		t.Fatalf("download: %v\n%s", err, out)
	}
	if got, err := os.ReadFile(fetched); err != nil || string(got) != goodScript {
		t.Fatalf("downloaded %q %v", got, err)
	}
	// An invalid script is refused with its line, and not stored.
	out, err = e.sieveConnect(user, pass, "--upload", "--localsieve", bad, "--remotesieve", "broken")
	if err == nil || !strings.Contains(out, "line 3") {
		t.Fatalf("invalid upload: %v\n%s", err, out)
	}
	if _, ok := e.store.get(user, "broken"); ok {
		t.Fatal("invalid script stored")
	}
	out, err = e.sieveConnect(user, pass, "--checkscript", "--localsieve", bad)
	if err == nil || !strings.Contains(out, "line 3") {
		t.Fatalf("checkscript: %v\n%s", err, out)
	}
	if out, err := e.sieveConnect(user, pass, "--checkscript", "--localsieve", good); err != nil {
		t.Fatalf("checkscript of a good script: %v\n%s", err, out)
	}
	// The active script cannot be deleted; after deactivating it can.
	if out, err := e.sieveConnect(user, pass, "--delete", "--remotesieve", "away"); err == nil {
		t.Fatalf("deleted the active script:\n%s", out)
	}
	if out, err := e.sieveConnect(user, pass, "--deactivate"); err != nil {
		t.Fatalf("deactivate: %v\n%s", err, out)
	}
	if out, err := e.sieveConnect(user, pass, "--delete", "--remotesieve", "away"); err != nil {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	if _, ok := e.store.get(user, "away"); ok {
		t.Fatal("not deleted")
	}
	// A wrong password fails.
	if out, err := e.sieveConnect(user, "wrong", "--list"); err == nil {
		t.Fatalf("listed with a wrong password:\n%s", out)
	}
}

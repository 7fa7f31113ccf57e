// Package dovecot starts Debian's Dovecot (package dovecot-imapd) for a test:
// its own configuration, on free loopback ports, with Maildir++ storage in a
// temporary directory, so that tests can read a Maildir that the real
// Dovecot wrote and import from a real IMAP server.
package dovecot

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern/tlsutil"
)

// Server is a running Dovecot.
type Server struct {
	// IMAPAddr offers STARTTLS, IMAPSAddr implicit TLS.
	IMAPAddr, IMAPSAddr string
	// TLSConfig trusts the server's certificate.
	TLSConfig *tls.Config
	// User and Password log in; the account's Maildir is Maildir().
	User, Password string

	dir  string
	home string
	cmd  *exec.Cmd
}

// Options adjust the server.
type Options struct {
	// Mailboxes adds lines to the inbox namespace, e.g.
	// `mailbox "Sent Items" { special_use = \Sent }`.
	Mailboxes []string
}

// Start starts Dovecot and stops it when the test ends. It fails the test
// when Dovecot is not installed.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		for _, p := range []string{"/usr/sbin/dovecot", "/usr/local/sbin/dovecot"} {
			if _, err2 := os.Stat(p); err2 == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		t.Fatal("dovecot is not installed (Debian packages dovecot-core and dovecot-imapd; .ci/run installs them)")
	}
	// Dovecot's mail processes must reach the home directory: as root they
	// run as nobody, so the tree is made traversable (t.TempDir is 0700).
	dir, err := os.MkdirTemp("", "dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Server{User: "alice", Password: "dovecot test password", dir: dir, home: filepath.Join(dir, "home")}

	uid, gid, userName, groupName := os.Getuid(), os.Getgid(), "", ""
	if uid == 0 {
		// Dovecot refuses to run mail processes as root.
		uid, gid = 65534, 65534
	} else {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		g, err := user.LookupGroupId(strconv.Itoa(gid))
		if err != nil {
			t.Fatal(err)
		}
		userName, groupName = u.Username, g.Name
	}
	if err := os.MkdirAll(s.home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(s.home, uid, gid); err != nil && os.Getuid() == 0 {
		t.Fatal(err)
	}

	tlsDir := filepath.Join(dir, "tls")
	srvTLS, err := tlsutil.Load("", "", tlsDir, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(srvTLS.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	s.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "localhost"}

	imapPort, imapsPort := freePort(t), freePort(t)
	s.IMAPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(imapPort))
	s.IMAPSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(imapsPort))

	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte(s.User+":{PLAIN}"+s.Password+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var users string
	if userName != "" {
		// Without root, every Dovecot process runs as the test's user.
		users = fmt.Sprintf("default_internal_user = %s\ndefault_login_user = %s\ndefault_internal_group = %s\n", userName, userName, groupName)
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
%[2]sssl = yes
ssl_cert = <%[3]s
ssl_key = <%[4]s
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = %[5]d
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN %[6]s
}
userdb {
  driver = static
  args = uid=%[5]d gid=%[7]d home=%[8]s/%%u
}
namespace inbox {
  inbox = yes
  separator = .
%[9]s
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[10]d
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[11]d
    ssl = yes
  }
}
service anvil {
  chroot =
}
`, dir, users, filepath.Join(tlsDir, tlsutil.GeneratedCertFile), filepath.Join(tlsDir, tlsutil.GeneratedKeyFile),
		uid, passwd, gid, s.home, indent(opts.Mailboxes), imapPort, imapsPort)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, "-F", "-c", confPath)
	out, _ := os.Create(filepath.Join(dir, "stdout.log"))
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// SIGTERM to the master, which stops its own children.
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
		out.Close()
	})
	deadline := time.Now().Add(60 * time.Second)
	for _, addr := range []string{s.IMAPAddr, s.IMAPSAddr} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-done:
				t.Fatalf("dovecot exited: %s", s.logs())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("dovecot does not listen on %s: %s", addr, s.logs())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return s
}

func indent(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

func (s *Server) logs() string {
	a, _ := os.ReadFile(filepath.Join(s.dir, "stdout.log"))
	b, _ := os.ReadFile(filepath.Join(s.dir, "dovecot.log"))
	return string(a) + string(b)
}

// Logs returns what Dovecot logged, for a failing test's message.
func (s *Server) Logs() string { return s.logs() }

// Maildir returns the path of the user's Maildir.
func (s *Server) Maildir() string { return filepath.Join(s.home, s.User, "Maildir") }

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

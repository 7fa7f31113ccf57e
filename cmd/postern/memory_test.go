package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pss reads the proportional set size of a process, in KiB, as the kernel
// counts it (/proc/PID/smaps_rollup).
func pss(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no Pss line in smaps_rollup:\n%s", data)
	return 0
}

// idleSession logs in over IMAP (implicit TLS if tlsConfig is set),
// selects INBOX and enters IDLE; the connection stays open.
func idleSession(addr string, tlsConfig *tls.Config, user, pass string) (net.Conn, error) {
	var c net.Conn
	var err error
	if tlsConfig != nil {
		c, err = tls.Dial("tcp", addr, tlsConfig)
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	br := bufio.NewReader(c)
	expect := func(prefix string) error {
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return fmt.Errorf("waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(l, prefix) {
				return nil
			}
			if l[0] != '*' {
				return fmt.Errorf("waiting for %q: %q", prefix, l)
			}
		}
	}
	if err := expect("* OK"); err != nil {
		c.Close()
		return nil, err
	}
	fmt.Fprintf(c, "a LOGIN %s %q\r\nb SELECT INBOX\r\nc IDLE\r\n", user, pass)
	for _, p := range []string{"a OK", "b OK", "+ "} {
		if err := expect(p); err != nil {
			c.Close()
			return nil, err
		}
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// TestIdleSessionMemory: 1,000 IMAP sessions opened at once, logged in and
// idling, cost a real "postern serve" at most 16 KiB each in PSS (the
// kernel's count, read from outside the process) once the burst is over.
// The burst checks the passwords of 19 accounts (argon2id: 19 MiB each)
// and answers the rest from the cache of verified passwords. Over implicit
// TLS, crypto/tls holds about 10 KiB more per connection (its record
// buffers and cipher state, and the heap fragmentation of its handshake);
// that is bounded at 32 KiB.
func TestIdleSessionMemory(t *testing.T) {
	for _, c := range []struct {
		name   string
		tls    bool
		maxKiB float64
	}{{"plain", false, 16}, {"implicit TLS", true, 32}} {
		t.Run(c.name, func(t *testing.T) {
			if per := idleSessionMemory(t, c.tls); per > c.maxKiB {
				t.Errorf("%.1f KiB per idle session, want at most %.0f", per, c.maxKiB)
			}
		})
	}
}

// idleSessionMemory measures the PSS of 1,000 idle sessions and returns
// the KiB each costs.
func idleSessionMemory(t *testing.T, implicitTLS bool) float64 {
	const (
		sessions = 1000
		accounts = 20
		pass     = "a long enough password"
	)
	bin := postern(t)
	addrs := freePorts(t, 9)
	cfg := writeConfig(t, fmt.Sprintf(`
[auth]
# 1,000 sessions from one address: an office behind one NAT address,
# whose network is trusted (no connection caps).
trusted_networks = ["127.0.0.0/8"]
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
`, addrs[0], addrs[1], addrs[2], addrs[3], addrs[4], addrs[5], addrs[6]))
	users := make([]string, accounts)
	for i := range users {
		users[i] = fmt.Sprintf("user%d@example.test", i)
		add := exec.Command(bin, "-config", cfg, "user", "add", users[i])
		add.Stdin = strings.NewReader(pass + "\n")
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("user add: %v\n%s", err, out)
		}
	}
	logs := &lockedBuffer{}
	cmd := exec.Command(bin, "serve", "-config", cfg)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	addr, tlsConfig := addrs[3], (*tls.Config)(nil)
	if implicitTLS {
		// The generated certificate is for localhost; the test checks the
		// server's memory, not its name.
		addr, tlsConfig = addrs[4], &tls.Config{InsecureSkipVerify: true}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s:\n%s", addr, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// One session first, so that what every server pays once (the first
	// query plans, the first password hash) is in the baseline; the burst
	// then checks the passwords of the other accounts.
	c, err := idleSession(addr, tlsConfig, users[0], pass)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// Its memory goes back a second later (auth's loginMemory).
	time.Sleep(3 * time.Second)
	before := pss(t, cmd.Process.Pid)

	start := time.Now()
	conns := make([]net.Conn, sessions)
	errs := make([]error, sessions)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conns[i], errs[i] = idleSession(addr, tlsConfig, users[i%accounts], pass)
		}()
	}
	wg.Wait()
	setup := time.Since(start)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
	}
	// The memory of the burst goes back a second after it (auth's
	// loginMemory); measure once that has happened.
	var after int
	for range 10 {
		time.Sleep(time.Second)
		after = pss(t, cmd.Process.Pid)
	}
	per := float64(after-before) / sessions
	t.Logf("PSS %d KiB before, %d KiB with %d idle sessions: %.1f KiB per session; set up in %v (%.0f/s)",
		before, after, sessions, per, setup.Round(time.Millisecond), sessions/setup.Seconds())
	return per
}

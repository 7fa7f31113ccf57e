// Package rspamdtest starts a real rspamd (Debian package rspamd) on a free
// loopback port for tests, with a minimal configuration in a temporary
// directory: one normal worker, no Redis, no network lookups of its own,
// and three rules of ours:
//
//   - POSTERN_SPAM (score 20, so the action is "reject") matches a body
//     holding XPOSTERNSPAMX;
//   - POSTERN_JUNK (score 7, "add header") matches XPOSTERNJUNKX;
//   - POSTERN_ENVELOPE (score 0.01) always matches, with the envelope rspamd
//     received as options: "from=...", "rcpt=...", "helo=...", "ip=...",
//     "user=...", "hostname=...", "queueid=...".
package rspamdtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// startTimeout is generous: rspamd loads its Lua library on start, which
// takes seconds of CPU on a busy machine.
const startTimeout = 3 * time.Minute

// Server is a running rspamd.
type Server struct {
	// URL is the normal worker's base URL.
	URL string
}

const config = `options {
  pidfile = "%[1]s/rspamd.pid";
  dbdir = "%[1]s";
  rundir = "%[1]s";
  filters = "";
  disable_hyperscan = true;
  dns { nameserver = ["127.0.0.1:9"]; timeout = 1s; retransmits = 1; }
}
logging { type = "console"; level = "error"; }
actions { reject = 15; add_header = 6; }
worker "normal" { bind_socket = "127.0.0.1:%[2]d"; count = 1; }
lua = "%[1]s/rules.lua";
`

const rules = `
local function body_has(task, word)
  local p = task:get_rawbody()
  return p ~= nil and tostring(p):find(word, 1, true) ~= nil
end
rspamd_config:register_symbol({name = 'POSTERN_SPAM', score = 20.0, group = 'postern',
  callback = function(task) return body_has(task, 'XPOSTERNSPAMX') end})
rspamd_config:register_symbol({name = 'POSTERN_JUNK', score = 7.0, group = 'postern',
  callback = function(task) return body_has(task, 'XPOSTERNJUNKX') end})
rspamd_config:register_symbol({name = 'POSTERN_ENVELOPE', score = 0.01, group = 'postern',
  callback = function(task)
    local opts = {}
    local from = task:get_from('smtp')
    if from and from[1] then table.insert(opts, 'from=' .. (from[1].addr or '')) end
    for _, r in ipairs(task:get_recipients('smtp') or {}) do table.insert(opts, 'rcpt=' .. (r.addr or '')) end
    table.insert(opts, 'helo=' .. (task:get_helo() or ''))
    table.insert(opts, 'ip=' .. tostring(task:get_from_ip()))
    table.insert(opts, 'user=' .. (task:get_user() or ''))
    table.insert(opts, 'hostname=' .. (task:get_hostname() or ''))
    table.insert(opts, 'queueid=' .. (task:get_queue_id() or ''))
    task:insert_result('POSTERN_ENVELOPE', 1.0, opts)
  end})
`

// Start starts rspamd and waits until it answers; it is stopped when the
// test ends. The test fails, naming the Debian package, when rspamd is not
// installed.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("rspamd")
	if err != nil {
		t.Fatalf("rspamd not found (install the Debian package rspamd): %v", err)
	}
	dir := t.TempDir()
	port := freePort(t)
	if err := os.WriteFile(filepath.Join(dir, "rspamd.conf"), []byte(fmt.Sprintf(config, dir, port)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.lua"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-f", "-c", filepath.Join(dir, "rspamd.conf")}
	if os.Geteuid() == 0 {
		// rspamd refuses to run its workers as root unless told who to
		// run them as and that this is meant.
		args = append(args, "-u", "root", "-g", "root", "-i")
	}
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting rspamd: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// SIGTERM to the main process, which stops its workers.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})

	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port)}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			t.Fatalf("rspamd exited: %s", out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/ping", nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("rspamd did not answer within %v: %v\n%s", startTimeout, err, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

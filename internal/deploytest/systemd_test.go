package deploytest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSystemdUnit checks contrib/systemd/postern.service with
// systemd-analyze: it must load without a warning, and its sandboxing must
// rate as well exposed as "OK" or better. The ExecStart binary is pointed
// at a freshly built one, since verify checks that the command exists.
func TestSystemdUnit(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze not found: install the Debian package systemd")
	}
	unit, err := os.ReadFile(filepath.Join(repoRoot(t), "contrib", "systemd", "postern.service"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(unit)
	for _, want := range []string{"User=postern", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "ExecReload=/bin/kill -HUP $MAINPID",
		"ExecStart=/usr/local/bin/postern serve", "NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=postern"} {
		if !strings.Contains(text, want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	bin := staticBinary(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "postern.service")
	text = strings.Replace(text, "ExecStart=/usr/local/bin/postern", "ExecStart="+bin, 1)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	cmd := exec.Command(sa, "verify", "--man=no", path)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || out.Len() > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out.String())
	}

	// A broken setting is reported: the check can fail.
	bad := filepath.Join(t.TempDir(), "postern.service")
	os.WriteFile(bad, []byte(strings.Replace(text, "ProtectSystem=strict", "ProtectSystem=sometimes", 1)), 0o644)
	if out, _ := exec.Command(sa, "verify", "--man=no", bad).CombinedOutput(); len(out) == 0 {
		t.Error("systemd-analyze verify says nothing about a bad ProtectSystem value")
	}

	sec, err := exec.Command(sa, "security", "--offline=yes", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, sec)
	}
	m := regexp.MustCompile(`Overall exposure level for postern\.service: ([0-9.]+)`).FindSubmatch(sec)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", sec)
	}
	level, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: exposure %.1f", level)
	if level > 3.0 {
		t.Errorf("exposure level %.1f; want at most 3.0 (\"OK\"):\n%s", level, sec)
	}
}

package safefile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "msg")
	os.WriteFile(reg, []byte("x"), 0o600)
	f, err := Open(reg)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	link := filepath.Join(dir, "link")
	os.Symlink(reg, link)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{link: "symbolic link", fifo: "not a regular file", dir: "not a regular file", "/dev/null": "not a regular file"} {
		// A FIFO without a writer must not block the open.
		f, err := Open(path)
		if err == nil {
			f.Close()
			t.Fatalf("%s opened", path)
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
	}
}

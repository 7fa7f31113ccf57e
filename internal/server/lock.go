package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile is the file in data_dir that `postern serve` holds locked while
// it runs. Two servers on one data directory would each believe they own
// it: each would delete message bodies the other still streams, and
// deliver the outbound queue twice. CLI commands do not take the lock:
// they work beside the server.
const LockFile = "postern.lock"

// errLocked: another server holds the data directory.
var errLocked = errors.New("data_dir is in use")

// lockDataDir takes the data directory's lock, writing our pid into the
// file for the message another server shows. The lock is the kernel's:
// it goes with the process, also when it is killed.
func lockDataDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data_dir %s: %w", dir, err)
	}
	if err := lockFile(f); err != nil {
		pid := ""
		if b, rerr := os.ReadFile(path); rerr == nil {
			if n, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				pid = fmt.Sprintf(" (pid %d)", n)
			}
		}
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("another postern serve holds %s%s: one server per data_dir; stop it first", path, pid)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		unlockFile(f)
		f.Close()
	}, nil
}

package maildir

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncTree flushes the file system that holds dir: one syncfs(2) instead of
// an fsync per message file.
func syncTree(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

//go:build !linux

package maildir

import "os"

// syncTree flushes the top directory; without syncfs(2) the message files
// are left to the system's own flushing.
func syncTree(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

//go:build unix

package safefile

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

func open(path string) (*os.File, error) {
	// O_NOFOLLOW: a link is refused, even one swapped in after a directory
	// listing said it was a file. O_NONBLOCK: opening a FIFO does not wait
	// for a writer (the Stat check then refuses it).
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s: symbolic link, not followed", path)
	}
	return f, err
}

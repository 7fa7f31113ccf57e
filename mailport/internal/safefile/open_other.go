//go:build !unix

package safefile

import (
	"fmt"
	"os"
)

func open(path string) (*os.File, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s: symbolic link, not followed", path)
	}
	return os.Open(path)
}

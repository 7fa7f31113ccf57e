// Package safefile opens files of a mail tree that may be hostile: it never
// follows a symbolic link and never blocks on a FIFO or device.
package safefile

import (
	"fmt"
	"os"
)

// Open opens the regular file at path for reading. A symbolic link, a FIFO,
// a device or a directory is refused with an error saying which.
func Open(path string) (*os.File, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file (%s), not read", path, fi.Mode().Type())
	}
	return f, nil
}

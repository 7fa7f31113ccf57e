//go:build !linux && !darwin

package sqlite

import "errors"

// freeSpace is unknown here: without the reserve file, new mail is then
// stored as long as the disk takes it.
func freeSpace(string) (uint64, error) {
	return 0, errors.New("free space unknown on this system")
}

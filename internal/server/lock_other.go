//go:build !unix

package server

import "os"

// Without flock(2), the data directory is not locked.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) {}

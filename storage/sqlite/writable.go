package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// checkDatabaseWritable refuses a database this process may not write,
// naming the file and its owner. The usual cause: "postern user add" run
// as root made the files, and the server runs as another user. SQLite
// would open such a file read-only, and every message would then be
// refused with a temporary error.
func checkDatabaseWritable(dir string) error {
	for _, name := range []string{DBFile, DBFile + "-wal", DBFile + "-shm"} {
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			f.Close()
			continue
		}
		if !errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("data_dir: %w", err)
		}
		return fmt.Errorf("data_dir: %s is not writable by %s: it belongs to %s (mode %s); "+
			"make it the server's, e.g. \"chown -R %s %s\" (a postern command run as another user, such as root, may have made it)",
			path, whoami(), owner(path), modeOf(path), username(strconv.Itoa(os.Getuid())), dir)
	}
	return nil
}

func whoami() string {
	uid := strconv.Itoa(os.Getuid())
	return "user " + username(uid) + " (uid " + uid + ")"
}

func modeOf(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "unknown"
	}
	return fi.Mode().Perm().String()
}

func username(uid string) string {
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return uid
}

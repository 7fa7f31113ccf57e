//go:build unix

package sqlite

import (
	"os"
	"strconv"
	"syscall"
)

// owner names the user a file belongs to.
func owner(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "an unknown user"
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "an unknown user"
	}
	uid := strconv.FormatUint(uint64(st.Uid), 10)
	return "user " + username(uid) + " (uid " + uid + ")"
}

//go:build !windows

package state

import (
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// fileOwner returns the name of path's owner, its uid when the name is unknown, or "".
func fileOwner(path string) string {
	fi, err := os.Lstat(path)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	uid := strconv.FormatUint(uint64(st.Uid), 10)
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return "uid " + uid
}

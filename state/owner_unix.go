//go:build !windows

package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// CheckOwner refuses, with an *OwnerError, a run whose effective user does not own the state
// directory dir: root by habit in the service user's directory would leave files there that the
// service can no longer open, and a service user in a directory root made cannot work in it. It
// reads nothing inside dir and changes nothing. A dir that does not exist yet passes: Open
// creates it for the user running now. Only dir itself counts, not its parent: /var/lib and /tmp
// belong to root for every user. A path that is not a directory passes too, for Open and ReadOnly
// to refuse with their own error.
//
// Once the check passed, nothing in this package changes the owner of a file in dir: every file
// it creates or renames into place is created by the owner's own uid.
func CheckOwner(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state: state directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.IsDir() {
		return nil
	}
	euid := os.Geteuid()
	if uint64(st.Uid) == uint64(euid) {
		return nil
	}
	return &OwnerError{
		Dir: dir, UID: int(st.Uid), GID: int(st.Gid), Owner: userName(int(st.Uid)),
		EUID: euid, User: userName(euid),
	}
}

// userName is the name of uid, "" when it has none.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return ""
}

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
	return displayUser(userName(int(st.Uid)), int(st.Uid))
}

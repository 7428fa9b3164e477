//go:build unix && !aix

package state

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// tryLock takes an exclusive flock on f without blocking. flock (unlike
// fcntl locks) belongs to the open file description, so a second Open in the
// same process conflicts too, and the kernel drops it when the process dies.
// It reports false when another holder has it.
func tryLock(f *os.File) (bool, error) {
	conn, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var lockErr error
	if err := conn.Control(func(fd uintptr) {
		for {
			lockErr = unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB)
			if lockErr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return false, err
	}
	switch {
	case lockErr == nil:
		return true, nil
	case errors.Is(lockErr, unix.EWOULDBLOCK):
		return false, nil
	default:
		return false, lockErr
	}
}

// unlock releases the lock taken by tryLock; closing f would too.
func unlock(f *os.File) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var unlockErr error
	if err := conn.Control(func(fd uintptr) {
		unlockErr = unix.Flock(int(fd), unix.LOCK_UN)
	}); err != nil {
		return err
	}
	return unlockErr
}

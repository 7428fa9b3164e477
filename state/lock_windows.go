package state

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// tryLock takes an exclusive lock on the first byte of f without blocking
// (LockFileEx with LOCKFILE_FAIL_IMMEDIATELY). The lock belongs to the handle,
// so a second Open in the same process conflicts too, and Windows releases it
// when the process dies. It reports false when another holder has it.
func tryLock(f *os.File) (bool, error) {
	conn, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var lockErr error
	if err := conn.Control(func(h uintptr) {
		ol := new(windows.Overlapped)
		lockErr = windows.LockFileEx(windows.Handle(h),
			windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	}); err != nil {
		return false, err
	}
	switch {
	case lockErr == nil:
		return true, nil
	case errors.Is(lockErr, windows.ERROR_LOCK_VIOLATION):
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
	if err := conn.Control(func(h uintptr) {
		ol := new(windows.Overlapped)
		unlockErr = windows.UnlockFileEx(windows.Handle(h), 0, 1, 0, ol)
	}); err != nil {
		return err
	}
	return unlockErr
}

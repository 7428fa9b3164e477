//go:build !(unix && !aix) && !windows

package state

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// tryLock refuses: without an OS file lock two runs could interleave and
// lose each other's ownership records, which is worse than not running.
func tryLock(*os.File) (bool, error) {
	return false, fmt.Errorf("no file locking on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func unlock(*os.File) error { return nil }

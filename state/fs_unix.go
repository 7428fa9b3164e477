//go:build !windows

package state

import (
	"fmt"
	"os"
)

// restrictDir makes the state directory private (0700) when it is open to
// group or others, as the tokens and the state in it are secrets.
func restrictDir(dir string, fi os.FileInfo) error {
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("state: state directory %s is open to others (mode %04o) and cannot be restricted to 0700: %w",
				dir, perm, err)
		}
	}
	return nil
}

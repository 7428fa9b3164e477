//go:build !windows

package mapping

import (
	"fmt"
	"io/fs"
)

// checkSecretMode refuses a secret file that group or others may read or
// write: a secret others can read is no longer a secret, and one others can
// write lets them choose our credentials.
func checkSecretMode(file string, fi fs.FileInfo) error {
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("secret file is accessible by group or others (mode %04o); run chmod 600 %s", perm, file)
	}
	return nil
}

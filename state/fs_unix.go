//go:build !windows

package state

import (
	"fmt"
	"os"
	"path/filepath"
)

// replaceFile renames from over to and fsyncs the directory, because on Unix
// a rename is only on disk once its directory is.
func replaceFile(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	return syncDir(filepath.Dir(to))
}

// syncDir makes a rename, creation or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

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

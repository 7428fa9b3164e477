//go:build !windows

package state

import (
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

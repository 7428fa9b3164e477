//go:build !windows

package atomicfile

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
	return SyncDir(filepath.Dir(to))
}

// SyncDir makes a creation, rename or removal in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

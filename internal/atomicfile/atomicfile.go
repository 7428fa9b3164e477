// Package atomicfile replaces files so that a crash at any point leaves either the old or the new
// content, never a mix and never nothing: state.json and its companions, the token caches and the
// metrics file all go through WriteFile, so they share one idea of what "written" means.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// WriteFile replaces path with data: it writes a temporary file in the same directory (a rename is
// only atomic within one file system), fsyncs it and renames it over path, making the rename itself
// durable too (Unix: fsync of the directory; Windows: MOVEFILE_WRITE_THROUGH). On error the
// temporary file is removed and path is left as it was.
//
// perm is applied exactly, regardless of the umask; the temporary file is 0600 until then, so
// secrets are never readable by others even for a moment.
func WriteFile(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, TempPrefix(base))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	// On Windows Chmod only toggles the read-only attribute; the file's ACL
	// comes from the directory, so there is nothing more to do there.
	if perm.Perm() != 0o600 || runtime.GOOS == "windows" {
		if err = f.Chmod(perm.Perm()); err != nil {
			return err
		}
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	// After a failed replaceFile tmp may already be gone (the rename
	// happened but making it durable failed); removing it again is harmless.
	return replaceFile(tmp, path)
}

// TempPrefix is how the names of WriteFile's temporary files for a file named base begin, so that
// the leftovers of a crash can be recognised and removed by whoever owns base.
func TempPrefix(base string) string {
	return "." + base + ".tmp-"
}

package state

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// WriteFileAtomic replaces path with data so that a crash at any point leaves
// either the old or the new content, never a mix: it writes a temporary file
// in the same directory (a rename is only atomic within one file system),
// fsyncs it and renames it over path, making the rename itself durable too
// (Unix: fsync of the directory; Windows: MOVEFILE_WRITE_THROUGH). On error the temporary file is removed.
//
// perm is applied exactly, regardless of the umask; the temporary file is
// 0600 until then, so secrets are never readable by others even for a moment.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, tempPrefix(base))
	if err != nil {
		return fmt.Errorf("state: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("state: write %s: %w", path, err)
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

// tempPrefix names the temporary files of WriteFileAtomic for base, so that
// leftovers of a crash can be recognised and removed.
func tempPrefix(base string) string {
	return "." + base + ".tmp-"
}

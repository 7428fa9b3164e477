package atomicfile

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// replaceFile renames from over to. MOVEFILE_WRITE_THROUGH makes MoveFileEx
// return only once the rename is flushed to disk — the Windows counterpart of
// fsyncing the directory, which Windows does not allow.
func replaceFile(from, to string) error {
	f, err := windows.UTF16PtrFromString(from)
	if err != nil {
		return err
	}
	t, err := windows.UTF16PtrFromString(to)
	if err != nil {
		return err
	}
	if err := windows.MoveFileEx(f, t, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH); err != nil {
		return fmt.Errorf("rename %s to %s: %w", from, to, err)
	}
	return nil
}

// SyncDir does nothing on Windows: a directory handle cannot be flushed
// (FlushFileBuffers on it fails), and the creations and removals it is used
// for are covered by NTFS's metadata journal.
func SyncDir(string) error { return nil }

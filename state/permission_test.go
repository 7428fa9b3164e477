package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// The hint is there for any user, root or not, and leaves other errors alone.
func TestPermissionHint(t *testing.T) {
	dir := t.TempDir()
	lock := filepath.Join(dir, "lock")
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	denied := fmt.Errorf("state: open lock file: %w", &fs.PathError{Op: "open", Path: lock, Err: syscall.EACCES})
	err := permissionHint(dir, lock, denied)
	var pe *PermissionError
	if !errors.As(err, &pe) || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("permissionHint = %#v; want a *PermissionError wrapping the cause", err)
	}
	if !strings.Contains(err.Error(), "as root with: chown -R ") || !strings.Contains(err.Error(), " "+dir) || !strings.HasPrefix(err.Error(), "state: open lock file: ") {
		t.Errorf("hint: %v", err)
	}
	if runtime.GOOS != "windows" {
		me, _ := user.Current()
		if me != nil && !strings.Contains(err.Error(), lock+" belongs to "+me.Username) {
			t.Errorf("hint does not name the owner %s: %v", me.Username, err)
		}
	}
	// A missing lock file: the directory's owner is the one that matters.
	gone := filepath.Join(dir, "missing")
	if err := permissionHint(dir, gone, &fs.PathError{Op: "open", Path: gone, Err: syscall.EACCES}); !strings.Contains(err.Error(), dir+" belongs to") && runtime.GOOS != "windows" {
		t.Errorf("hint for a file that does not exist: %v", err)
	}
	other := errors.New("state: open lock file: disk on fire")
	if got := permissionHint(dir, lock, other); got != other {
		t.Errorf("permissionHint changed an unrelated error: %v", got)
	}
}
